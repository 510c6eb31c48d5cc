package virt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Volume formats a volume may be created with; the first is the default.
var VolumeFormats = []string{"qcow2", "raw"}

// MaxVolumeCapacity bounds a new volume's size (1 PiB): a typo's guard.
const MaxVolumeCapacity = 1 << 50

// CheckVolumeRequest validates a volume request and fills the default
// format, before anything reaches libvirt.
func CheckVolumeRequest(req *api.VolumeRequest) error {
	if err := ValidateVolumeName(req.Name); err != nil {
		return err
	}
	if req.Format == "" {
		req.Format = VolumeFormats[0]
	}
	if !slices.Contains(VolumeFormats, req.Format) {
		return CodeUnknownVolFormat.New("volume format must be one of %s", strings.Join(VolumeFormats, ", "))
	}
	if req.Capacity == 0 || req.Capacity > MaxVolumeCapacity {
		return CodeInvalidCapacity.New("capacity must be between 1 byte and %d bytes", uint64(MaxVolumeCapacity))
	}
	return nil
}

// diskUsers maps each disk source of the index ("/path" or
// "vol:pool/volume") to the guests using it, sorted by name.
func (m *Manager) diskUsers() map[string][]string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string][]string{}
	for _, e := range m.sorted {
		for _, d := range e.disks {
			if us := out[d]; len(us) == 0 || us[len(us)-1] != e.vm.Name {
				out[d] = append(us, e.vm.Name)
			}
		}
	}
	return out
}

// usersOf names the guests using the volume, by path or by reference.
func usersOf(users map[string][]string, pool, name, path string) []string {
	out := slices.Clone(users["vol:"+pool+"/"+name])
	if path != "" {
		for _, g := range users[path] {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// describeVolume reads one volume of pool from its XML alone (one call,
// which on a remote host is one round trip): libvirt writes the current
// capacity, allocation and path there in bytes. Sizes in another unit
// are asked for with GetInfo.
func (m *Manager) describeVolume(v *libvirt.StorageVol, pool string, users map[string][]string) (api.Volume, error) {
	out := api.Volume{Pool: pool}
	doc, err := v.GetXMLDesc(0)
	if err != nil {
		name, _ := v.GetName()
		return out, m.storageFail("read volume", pool, name, err)
	}
	var x libvirtxml.StorageVolume
	if err := x.Unmarshal(doc); err != nil {
		return out, m.fail("read volume", "", fmt.Errorf("volume of pool %s: %w", pool, err))
	}
	out.Name = x.Name
	if x.Target != nil {
		out.Path = x.Target.Path
		if x.Target.Format != nil {
			out.Format = x.Target.Format.Type
		}
	}
	inBytes := func(s *libvirtxml.StorageVolumeSize) bool { return s != nil && (s.Unit == "" || s.Unit == "bytes") }
	if inBytes(x.Capacity) && inBytes(x.Allocation) {
		out.Capacity, out.Allocation = x.Capacity.Value, x.Allocation.Value
	} else {
		info, err := v.GetInfo()
		if err != nil {
			return out, m.storageFail("read volume", pool, out.Name, err)
		}
		out.Capacity, out.Allocation = info.Capacity, info.Allocation
	}
	out.UsedBy = usersOf(users, pool, out.Name, out.Path)
	return out, nil
}

// activePool finds a running pool: volumes of an inactive one cannot be
// listed.
func (m *Manager) activePool(p *libvirt.StoragePool, name string) error {
	active, err := p.IsActive()
	if err != nil {
		return m.storageFail("read pool", name, "", err)
	}
	if !active {
		return CodePoolInactive.New("pool %q is not running; start it to see its volumes", name)
	}
	return nil
}

// ListVolumes returns the volumes of a running pool, sorted by name, each
// with the guests using it (from the index).
func (m *Manager) ListVolumes(ctx context.Context, pool string) ([]api.Volume, error) {
	if err := ValidatePoolName(pool); err != nil {
		return nil, err
	}
	if out, _, ok := m.vols.get(pool); ok {
		users := m.diskUsers()
		for i := range out {
			out[i].UsedBy = usersOf(users, pool, out[i].Name, out[i].Path)
		}
		return out, nil
	}
	var out []api.Volume
	_, gen, _ := m.vols.get(pool)
	at := time.Now()
	err := m.withPool(ctx, pool, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		if err := m.activePool(p, pool); err != nil {
			return err
		}
		vols, err := p.ListAllStorageVolumes(0)
		if err != nil {
			return m.storageFail("list volumes", pool, "", err)
		}
		users := m.diskUsers()
		out, err = describeVolumes(vols, func(v *libvirt.StorageVol) (api.Volume, error) { return m.describeVolume(v, pool, users) })
		return err
	})
	if err == nil {
		m.vols.put(pool, gen, at, out)
	}
	return out, err
}

func isGone(err error) bool {
	return fault.Is(err, CodeVolumeNotFound) || fault.Is(err, CodePoolNotFound)
}

// withVolume runs fn on the named volume of a running pool.
func (m *Manager) withVolume(ctx context.Context, pool, name string, fn func(p *libvirt.StoragePool, v *libvirt.StorageVol) error) error {
	if err := ValidateVolumeName(name); err != nil {
		return err
	}
	return m.withPool(ctx, pool, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		if err := m.activePool(p, pool); err != nil {
			return err
		}
		v, err := p.LookupStorageVolByName(name)
		if err != nil {
			return m.storageFail("find volume", pool, name, err)
		}
		defer v.Free()
		return fn(p, v)
	})
}

// Volume returns one volume with the guests using it.
func (m *Manager) Volume(ctx context.Context, pool, name string) (api.Volume, error) {
	var out api.Volume
	err := m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		var err error
		out, err = m.describeVolume(v, pool, m.diskUsers())
		return err
	})
	return out, err
}

// CreateVolume creates a volume in a running pool: thin (allocated on
// use) unless req.Thick, when its whole capacity must fit the pool's free
// space. An existing name is refused, never overwritten.
func (m *Manager) CreateVolume(ctx context.Context, pool string, req api.VolumeRequest) (api.Volume, error) {
	defer m.volumesChanged()
	if err := CheckVolumeRequest(&req); err != nil {
		return api.Volume{}, err
	}
	var out api.Volume
	err := m.withPool(ctx, pool, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		if err := m.activePool(p, pool); err != nil {
			return err
		}
		if v, err := p.LookupStorageVolByName(req.Name); err == nil {
			_ = v.Free()
			return CodeVolumeExists.New("pool %q already has a volume %q", pool, req.Name)
		} else if libvirtCode(err) != libvirt.ERR_NO_STORAGE_VOL {
			return m.storageFail("find volume", pool, req.Name, err)
		}
		alloc := uint64(0)
		if req.Thick {
			info, err := p.GetInfo()
			if err != nil {
				return m.storageFail("read pool", pool, "", err)
			}
			if req.Capacity > info.Available {
				return CodeInsufficientSpace.New("pool %q has %d bytes free, the volume needs %d", pool, info.Available, req.Capacity)
			}
			alloc = req.Capacity
		}
		x := libvirtxml.StorageVolume{
			Name:       req.Name,
			Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: req.Capacity},
			Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: alloc},
			Target:     &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: req.Format}},
		}
		doc, err := x.Marshal()
		if err != nil {
			return m.fail("create volume", "", err)
		}
		v, err := p.StorageVolCreateXML(doc, 0)
		if err != nil {
			return m.storageFail("create volume", pool, req.Name, err)
		}
		defer v.Free()
		out, err = m.describeVolume(v, pool, m.diskUsers())
		return err
	})
	return out, err
}

// DeletePoolVolume deletes a volume no guest uses; a used one is refused,
// naming the guests.
func (m *Manager) DeletePoolVolume(ctx context.Context, pool, name string) error {
	defer m.volumesChanged()
	if err := m.Ready(); err != nil {
		return err // without the index, users cannot be named
	}
	return m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		path, _ := v.GetPath()
		if users := usersOf(m.diskUsers(), pool, name, path); len(users) > 0 {
			return CodeVolumeInUse.New("volume %q is used by guests: %s", name, strings.Join(users, ", ")).
				WithDetails(guestDetails(users))
		}
		if err := v.Delete(0); err != nil {
			return m.storageFail("delete volume", pool, name, err)
		}
		return nil
	})
}

// ResizeVolume grows a volume to capacity bytes. Shrinking is refused (it
// loses data), and so is resizing under a running guest (the guest must
// be told, which is a disk resize of the guest, not of the volume).
func (m *Manager) ResizeVolume(ctx context.Context, pool, name string, capacity uint64) (api.Volume, error) {
	defer m.volumesChanged()
	if capacity == 0 || capacity > MaxVolumeCapacity {
		return api.Volume{}, CodeInvalidCapacity.New("capacity must be between 1 byte and %d bytes", uint64(MaxVolumeCapacity))
	}
	if err := m.Ready(); err != nil {
		return api.Volume{}, err
	}
	var out api.Volume
	err := m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		info, err := v.GetInfo()
		if err != nil {
			return m.storageFail("read volume", pool, name, err)
		}
		if capacity < info.Capacity {
			return CodeVolumeShrink.New("volume %q has %d bytes; shrinking it would lose data", name, info.Capacity)
		}
		path, _ := v.GetPath()
		users := m.diskUsers()
		if running := m.runningOf(usersOf(users, pool, name, path)); len(running) > 0 {
			return CodeVolumeInUse.New("volume %q is used by running guests: %s", name, strings.Join(running, ", ")).
				WithDetails(guestDetails(running))
		}
		if capacity != info.Capacity {
			if err := v.Resize(capacity, 0); err != nil {
				return m.storageFail("resize volume", pool, name, err)
			}
		}
		out, err = m.describeVolume(v, pool, users)
		return err
	})
	return out, err
}

// runningOf keeps the guests of names that are active.
func (m *Manager) runningOf(names []string) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []string
	for _, n := range names {
		if e, ok := m.byName[n]; ok && isActiveState(e.vm.State) {
			out = append(out, n)
		}
	}
	return out
}
