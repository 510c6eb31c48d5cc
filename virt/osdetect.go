package virt

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/virt/iso9660"
	"github.com/virtportal/virtportal/virt/osinfo"
)

// CodeVolumeReadNotSupported: the host's driver cannot read a volume's
// contents (the test driver has none), so no OS can be detected there.
var CodeVolumeReadNotSupported = fault.Define(api.OSReasonNotSupported, fault.NotImplemented)

// maxOSCache bounds the detection cache; past it the cache starts over
// (a library of thousands of ISOs is read again, 2 KiB each).
const maxOSCache = 4096

// osKey names one content of a volume: the same key, size and
// modification time read the same descriptor. Where the pool reports no
// modification time (block pools), the allocation stands in for it.
type osKey struct {
	key                  string
	capacity, allocation uint64
	mtime                string
}

// osRead is a cached read: the descriptor, or why there is none.
type osRead struct {
	pvd    *iso9660.PVD
	reason string
}

type osCache struct {
	mu sync.Mutex
	m  map[osKey]osRead
}

func (c *osCache) get(k osKey) (osRead, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.m[k]
	return r, ok
}

func (c *osCache) put(k osKey, r osRead) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxOSCache {
		c.m = map[osKey]osRead{}
	}
	c.m[k] = r
}

// volumeKey reads what the cache is keyed by.
func volumeKey(v *libvirt.StorageVol) (osKey, error) {
	var k osKey
	var err error
	if k.key, err = v.GetKey(); err != nil {
		return k, err
	}
	info, err := v.GetInfo()
	if err != nil {
		return k, err
	}
	k.capacity, k.allocation = info.Capacity, info.Allocation
	if doc, err := v.GetXMLDesc(0); err == nil {
		var x libvirtxml.StorageVolume
		if x.Unmarshal(doc) == nil && x.Target != nil && x.Target.Timestamps != nil {
			k.mtime = x.Target.Timestamps.Mtime
		}
	}
	return k, nil
}

// readDescriptor reads the 2 KiB at 32 KiB through libvirt's volume
// download stream, so block pools and remote hosts read the same.
func (m *Manager) readDescriptor(ctx context.Context, c *libvirt.Connect, v *libvirt.StorageVol, k osKey) (osRead, error) {
	if k.capacity < iso9660.Offset+iso9660.SectorSize {
		return osRead{reason: api.OSReasonNotISO}, nil
	}
	st, err := c.NewStream(0)
	if err != nil {
		return osRead{}, err
	}
	defer func() { _ = st.Free() }()
	if err := v.Download(st, iso9660.Offset, iso9660.SectorSize, 0); err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_SUPPORT {
			return osRead{}, CodeVolumeReadNotSupported.New("this host's libvirt driver cannot read volume contents, so the OS of an ISO cannot be detected here")
		}
		return osRead{}, err
	}
	buf := make([]byte, 0, iso9660.SectorSize)
	chunk := make([]byte, iso9660.SectorSize)
	for {
		if err := ctx.Err(); err != nil {
			_ = st.Abort()
			return osRead{}, err
		}
		n, rerr := st.Recv(chunk)
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			_ = st.Abort()
			return osRead{}, rerr
		}
		if n > 0 {
			if len(buf)+n > iso9660.SectorSize {
				_ = st.Abort()
				return osRead{}, errors.New("the volume download sent more than asked")
			}
			buf = append(buf, chunk[:n]...)
		}
	}
	if err := st.Finish(); err != nil {
		return osRead{}, err
	}
	p, err := iso9660.Parse(buf)
	if err != nil {
		return osRead{reason: api.OSReasonNotISO}, nil
	}
	return osRead{pvd: &p}, nil
}

// detect reads (or finds in the cache) a volume's descriptor. A driver
// that cannot read volumes is an error; a read that fails otherwise is
// "unreadable" (logged, not cached).
func (m *Manager) detect(ctx context.Context, c *libvirt.Connect, v *libvirt.StorageVol, pool, name string) (osRead, error) {
	k, err := volumeKey(v)
	if err != nil {
		return osRead{}, m.storageFail("read volume", pool, name, err)
	}
	if r, ok := m.osCache.get(k); ok {
		return r, nil
	}
	r, err := m.readDescriptor(ctx, c, v, k)
	switch {
	case fault.Is(err, CodeVolumeReadNotSupported):
		return osRead{}, err
	case ctx.Err() != nil:
		return osRead{}, ctx.Err()
	case err != nil:
		if isConnErr(err) {
			m.signalLost()
			return osRead{}, errUnavailable()
		}
		m.log.Warn("reading a volume's ISO descriptor failed", "pool", pool, "volume", name, "err", err)
		return osRead{reason: api.OSReasonUnreadable}, nil
	}
	m.osCache.put(k, r)
	return r, nil
}

// answer matches a read against the database.
func (m *Manager) answer(r osRead) (status string, os *api.OSRef, reason string) {
	switch {
	case r.pvd == nil:
		return api.OSUnknown, nil, r.reason
	case m.cfg.OSInfo == nil:
		return api.OSUnknown, nil, api.OSReasonNoDatabase
	}
	o, ok := m.cfg.OSInfo.Match(osinfo.Media{VolumeID: r.pvd.VolumeID, SystemID: r.pvd.SystemID,
		PublisherID: r.pvd.PublisherID, ApplicationID: r.pvd.ApplicationID})
	if !ok {
		return api.OSUnknown, nil, api.OSReasonUnrecognised
	}
	return api.OSDetected, &api.OSRef{ID: o.ID, ShortID: o.ShortID, Name: o.Name, Vendor: o.Vendor,
		Family: o.Family, Distro: o.Distro, Version: o.Version, Source: o.Source}, ""
}

// VolumeOS detects the operating system a volume's ISO 9660 descriptor
// names. Anything that is not an ISO, or a corrupt one, is unknown.
func (m *Manager) VolumeOS(ctx context.Context, pool, name string) (api.VolumeOS, error) {
	if err := ValidateVolumeName(name); err != nil {
		return api.VolumeOS{}, err
	}
	out := api.VolumeOS{Pool: pool, Volume: name}
	err := m.withPool(ctx, pool, func(c *libvirt.Connect, p *libvirt.StoragePool) error {
		if err := m.activePool(p, pool); err != nil {
			return err
		}
		v, err := p.LookupStorageVolByName(name)
		if err != nil {
			return m.storageFail("find volume", pool, name, err)
		}
		defer v.Free()
		r, err := m.detect(ctx, c, v, pool, name)
		if err != nil {
			return err
		}
		out.Status, out.OS, out.Reason = m.answer(r)
		if r.pvd != nil {
			out.Descriptor = &api.ISODescriptor{VolumeID: r.pvd.VolumeID, SystemID: r.pvd.SystemID,
				PublisherID: r.pvd.PublisherID, ApplicationID: r.pvd.ApplicationID, VolumeSize: r.pvd.VolumeSize}
		}
		return nil
	})
	return out, err
}

// IsISOName reports whether a volume's name marks it as an ISO image.
func IsISOName(name string) bool { return strings.HasSuffix(strings.ToLower(name), ".iso") }

// ListISOs lists every .iso volume of every running pool with the OS it
// holds, sorted by pool and name. Where the driver cannot read volumes,
// every ISO is "unavailable" and the list says so once.
func (m *Manager) ListISOs(ctx context.Context) (api.ISOList, error) {
	out := api.ISOList{Items: []api.ISO{}}
	if err := ctx.Err(); err != nil {
		return out, err
	}
	c, err := m.acquire()
	if err != nil {
		return out, err
	}
	defer release(c)
	pools, err := c.ListAllStoragePools(libvirt.CONNECT_LIST_STORAGE_POOLS_ACTIVE)
	if err != nil {
		return out, m.storageFail("list pools", "", "", err)
	}
	defer func() {
		for i := range pools {
			_ = pools[i].Free()
		}
	}()
	for i := range pools {
		pool, err := pools[i].GetName()
		if err != nil {
			continue // undefined meanwhile
		}
		vols, err := pools[i].ListAllStorageVolumes(0)
		if err != nil {
			if libvirtCode(err) == libvirt.ERR_NO_STORAGE_POOL || libvirtCode(err) == libvirt.ERR_OPERATION_INVALID {
				continue // gone or stopped meanwhile
			}
			return out, m.storageFail("list volumes", pool, "", err)
		}
		err = m.isosOf(ctx, c, pool, vols, &out)
		for j := range vols {
			_ = vols[j].Free()
		}
		if err != nil {
			return out, err
		}
	}
	slices.SortFunc(out.Items, func(a, b api.ISO) int {
		if n := strings.Compare(a.Pool, b.Pool); n != 0 {
			return n
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// isosOf adds the ISOs among one pool's volumes to out.
func (m *Manager) isosOf(ctx context.Context, c *libvirt.Connect, pool string, vols []libvirt.StorageVol, out *api.ISOList) error {
	for j := range vols {
		v := &vols[j]
		name, err := v.GetName()
		if err != nil || !IsISOName(name) {
			continue
		}
		info, err := v.GetInfo()
		if err != nil {
			continue // deleted meanwhile
		}
		iso := api.ISO{Name: name, Pool: pool, Capacity: info.Capacity, Allocation: info.Allocation}
		iso.Path, _ = v.GetPath()
		if out.Unavailable != "" {
			iso.Status, iso.Reason = api.OSUnavailable, out.Unavailable
			out.Items = append(out.Items, iso)
			continue
		}
		r, err := m.detect(ctx, c, v, pool, name)
		switch {
		case fault.Is(err, CodeVolumeReadNotSupported):
			out.Unavailable = api.OSReasonNotSupported
			iso.Status, iso.Reason = api.OSUnavailable, out.Unavailable
		case isGone(err):
			continue
		case err != nil:
			return err
		default:
			iso.Status, iso.OS, iso.Reason = m.answer(r)
			if r.pvd != nil {
				iso.VolumeID = r.pvd.VolumeID
			}
		}
		out.Items = append(out.Items, iso)
	}
	return nil
}

// OSInfo is the osinfo database detection matches against; nil when it is
// not installed (templates read OS entries from it too).
func (m *Manager) OSInfo() *osinfo.DB { return m.cfg.OSInfo }
