// Volume operations beyond create, delete and resize: clone (within or
// across pools), wipe, and filling a volume from a stream.

package virt

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Codes of the volume operations.
var (
	// CodeWipeNotSupported: the host's driver cannot wipe volumes (the
	// test driver, and pool types without a wipe).
	CodeWipeNotSupported = fault.Define("volume_wipe_not_supported", fault.NotImplemented)
	// CodeUploadNotSupported: the host's driver cannot write volume contents.
	CodeUploadNotSupported = fault.Define("volume_upload_not_supported", fault.NotImplemented)
	// CodeCloneAcrossNotSupported: the host's driver clones within a pool
	// only (the test driver).
	CodeCloneAcrossNotSupported = fault.Define("volume_clone_across_not_supported", fault.NotImplemented)
	// CodeVolumeBuilding: libvirt is still filling the volume (a clone).
	CodeVolumeBuilding = fault.Define("volume_building", fault.Conflict)
)

// CloneRequest names a volume to copy and where the copy goes.
type CloneRequest struct {
	Pool, Name string // the source
	TargetPool string // "" : the source's pool
	NewName    string
	Format     string // "" : the source's format
}

// CloneCheck is what a clone will take, found before it starts.
type CloneCheck struct {
	Source api.Volume
	Need   uint64 // bytes the copy will allocate (the source's allocation)
}

// checkVolumeFree refuses a volume that running guests use, naming them.
func (m *Manager) checkVolumeFree(pool, name, path string) error {
	if running := m.runningOf(usersOf(m.diskUsers(), pool, name, path)); len(running) > 0 {
		return CodeVolumeInUse.New("volume %q is used by running guests: %s", name, strings.Join(running, ", ")).
			WithDetails(guestDetails(running))
	}
	return nil
}

// normalise validates a clone request and fills its defaults.
func (r *CloneRequest) normalise() error {
	if r.TargetPool == "" {
		r.TargetPool = r.Pool
	}
	for _, p := range []string{r.Pool, r.TargetPool} {
		if err := ValidatePoolName(p); err != nil {
			return err
		}
	}
	for _, n := range []string{r.Name, r.NewName} {
		if err := ValidateVolumeName(n); err != nil {
			return err
		}
	}
	if r.Format != "" && !slices.Contains(VolumeFormats, r.Format) {
		return CodeUnknownVolFormat.New("volume format must be one of %s", strings.Join(VolumeFormats, ", "))
	}
	return nil
}

// CheckClone answers, without changing anything, whether the clone can
// start: the source exists and no running guest writes to it, the target
// pool runs, the new name is free and the source's allocation fits.
func (m *Manager) CheckClone(ctx context.Context, req CloneRequest) (CloneCheck, error) {
	if err := req.normalise(); err != nil {
		return CloneCheck{}, err
	}
	if err := m.Ready(); err != nil {
		return CloneCheck{}, err
	}
	src, err := m.Volume(ctx, req.Pool, req.Name)
	if err != nil {
		return CloneCheck{}, err
	}
	if err := m.checkVolumeFree(req.Pool, req.Name, src.Path); err != nil {
		return CloneCheck{}, err
	}
	target, err := m.Pool(ctx, req.TargetPool)
	if err != nil {
		return CloneCheck{}, err
	}
	if target.State != api.PoolRunning {
		return CloneCheck{}, CodePoolInactive.New("pool %q is not running; start it to clone into it", req.TargetPool)
	}
	switch _, err := m.Volume(ctx, req.TargetPool, req.NewName); {
	case err == nil:
		return CloneCheck{}, CodeVolumeExists.New("pool %q already has a volume %q", req.TargetPool, req.NewName)
	case !fault.Is(err, CodeVolumeNotFound):
		return CloneCheck{}, err
	}
	if req.TargetPool != req.Pool && m.isTestDriver() {
		return CloneCheck{}, CodeCloneAcrossNotSupported.New("this host's libvirt driver clones within a pool only")
	}
	if src.Allocation > target.Available {
		return CloneCheck{}, CodeInsufficientSpace.New("pool %q has %d bytes free, the copy needs %d", req.TargetPool, target.Available, src.Allocation)
	}
	return CloneCheck{Source: src, Need: src.Allocation}, nil
}

// CloneVolume copies a volume with libvirt's StorageVolCreateXMLFrom (a
// sparse copy, qemu-img convert where formats differ). While libvirt
// copies, progress is called with the target's allocation about every
// quarter second. libvirt's copy cannot be interrupted: a cancelled ctx
// is noticed once it ends (the caller then deletes the copy).
func (m *Manager) CloneVolume(ctx context.Context, req CloneRequest, progress func(done uint64)) (api.Volume, error) {
	defer m.volumesChanged()
	if err := req.normalise(); err != nil {
		return api.Volume{}, err
	}
	if err := ctx.Err(); err != nil {
		return api.Volume{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.Volume{}, err
	}
	defer release(c)
	sp, err := c.LookupStoragePoolByName(req.Pool)
	if err != nil {
		return api.Volume{}, m.storageFail("find pool", req.Pool, "", err)
	}
	defer sp.Free()
	if err := m.activePool(sp, req.Pool); err != nil {
		return api.Volume{}, err
	}
	src, err := sp.LookupStorageVolByName(req.Name)
	if err != nil {
		return api.Volume{}, m.storageFail("find volume", req.Pool, req.Name, err)
	}
	defer src.Free()
	tp, err := c.LookupStoragePoolByName(req.TargetPool)
	if err != nil {
		return api.Volume{}, m.storageFail("find pool", req.TargetPool, "", err)
	}
	defer tp.Free()
	if err := m.activePool(tp, req.TargetPool); err != nil {
		return api.Volume{}, err
	}
	info, err := src.GetInfo()
	if err != nil {
		return api.Volume{}, m.storageFail("read volume", req.Pool, req.Name, err)
	}
	doc, err := src.GetXMLDesc(0)
	if err != nil {
		return api.Volume{}, m.storageFail("read volume", req.Pool, req.Name, err)
	}
	var sx libvirtxml.StorageVolume
	if err := sx.Unmarshal(doc); err != nil {
		return api.Volume{}, m.fail("read volume", "", err)
	}
	format := req.Format
	if format == "" && sx.Target != nil && sx.Target.Format != nil {
		format = sx.Target.Format.Type
	}
	x := libvirtxml.StorageVolume{
		Name:       req.NewName,
		Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: info.Capacity},
		Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: 0},
	}
	if format != "" {
		x.Target = &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: format}}
	}
	out, err := x.Marshal()
	if err != nil {
		return api.Volume{}, m.fail("clone volume", "", err)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	if progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(250 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				if v, err := tp.LookupStorageVolByName(req.NewName); err == nil {
					if vi, err := v.GetInfo(); err == nil {
						progress(vi.Allocation)
					}
					_ = v.Free()
				}
			}
		}()
	}
	nv, err := tp.StorageVolCreateXMLFrom(out, src, 0)
	close(stop)
	wg.Wait()
	if err != nil {
		return api.Volume{}, m.storageFail("clone volume", req.TargetPool, req.NewName, err)
	}
	defer nv.Free()
	return m.describeVolume(nv, req.TargetPool, m.diskUsers())
}

// CheckWipe answers whether the volume may be wiped now: the driver can
// wipe, and no running guest uses it.
func (m *Manager) CheckWipe(ctx context.Context, pool, name string) error {
	if err := m.Ready(); err != nil {
		return err
	}
	return m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		if err := m.wipeSupported(); err != nil {
			return err
		}
		path, _ := v.GetPath()
		return m.checkVolumeFree(pool, name, path)
	})
}

// wipeSupported refuses drivers known to have no wipe, so that the API
// answers at once instead of through a failed task.
func (m *Manager) wipeSupported() error {
	if m.isTestDriver() {
		return CodeWipeNotSupported.New("this host's libvirt driver cannot wipe volumes")
	}
	return nil
}

// isTestDriver reports whether the host is libvirt's test driver, which
// lacks wipe and clones within a pool only (it finds the source in the
// target pool).
func (m *Manager) isTestDriver() bool {
	c, err := m.acquire()
	if err != nil {
		return false
	}
	defer release(c)
	typ, err := c.GetType()
	return err == nil && strings.EqualFold(typ, "test")
}

// WipeVolume overwrites a volume's contents with zeros (libvirt's
// StorageVolWipe). It refuses a volume a running guest uses. libvirt's
// wipe cannot be interrupted.
func (m *Manager) WipeVolume(ctx context.Context, pool, name string) error {
	defer m.volumesChanged()
	if err := m.Ready(); err != nil {
		return err
	}
	return m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		path, _ := v.GetPath()
		if err := m.checkVolumeFree(pool, name, path); err != nil {
			return err
		}
		if err := v.Wipe(0); err != nil {
			if libvirtCode(err) == libvirt.ERR_NO_SUPPORT {
				return CodeWipeNotSupported.New("this host's libvirt driver cannot wipe volumes")
			}
			return m.storageFail("wipe volume", pool, name, err)
		}
		return nil
	})
}

// fillChunk is how much is read from the source between two sends.
const fillChunk = 1 << 20

// FillVolume writes length bytes from r into the volume from its start,
// through libvirt's volume upload stream (so any pool type and a remote
// host work), calling progress with the bytes written so far. A source
// shorter than length fails; ctx cancels between chunks.
func (m *Manager) FillVolume(ctx context.Context, pool, name string, r io.Reader, length uint64, progress func(done uint64)) error {
	defer m.volumesChanged()
	c, err := m.acquire()
	if err != nil {
		return err
	}
	defer release(c)
	return m.withVolume(ctx, pool, name, func(_ *libvirt.StoragePool, v *libvirt.StorageVol) error {
		st, err := c.NewStream(0)
		if err != nil {
			return m.fail("upload volume", "", err)
		}
		defer st.Free()
		if err := v.Upload(st, 0, length, 0); err != nil {
			if libvirtCode(err) == libvirt.ERR_NO_SUPPORT {
				return CodeUploadNotSupported.New("this host's libvirt driver cannot write volume contents")
			}
			return m.storageFail("upload volume", pool, name, err)
		}
		buf := make([]byte, fillChunk)
		var done uint64
		for done < length {
			if err := ctx.Err(); err != nil {
				_ = st.Abort()
				return err
			}
			want := min(uint64(len(buf)), length-done)
			n, rerr := io.ReadFull(r, buf[:want])
			if n > 0 {
				if err := sendAll(st, buf[:n]); err != nil {
					_ = st.Abort()
					return m.storageFail("upload volume", pool, name, err)
				}
				done += uint64(n)
				if progress != nil {
					progress(done)
				}
			}
			if rerr != nil {
				_ = st.Abort()
				if errors.Is(rerr, io.ErrUnexpectedEOF) || errors.Is(rerr, io.EOF) {
					return CodeShortSource.New("the source ended after %d of %d bytes", done, length)
				}
				if cerr := ctx.Err(); cerr != nil {
					return cerr
				}
				return rerr
			}
		}
		if err := st.Finish(); err != nil {
			return m.storageFail("upload volume", pool, name, err)
		}
		return nil
	})
}

// CodeShortSource: a stream ended before the length it declared.
var CodeShortSource = fault.Define("source_short", fault.Unavailable)

func sendAll(st *libvirt.Stream, p []byte) error {
	for len(p) > 0 {
		n, err := st.Send(p)
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// DeleteBuiltVolume removes "pool/volume" whoever uses it, waiting while
// libvirt still fills it (a clone survives the portal's crash and ends
// on its own): the cleaner of copies. A volume already gone is success.
func (m *Manager) DeleteBuiltVolume(ctx context.Context, ident string) error {
	defer m.volumesChanged()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := m.acquire()
		if err != nil {
			return err
		}
		vol, err := lookupVolume(c, ident)
		if err == nil {
			err = vol.Delete(0)
			_ = vol.Free()
		}
		release(c)
		switch code := libvirtCode(err); {
		case err == nil, code == libvirt.ERR_NO_STORAGE_VOL, code == libvirt.ERR_NO_STORAGE_POOL:
			return nil
		case code != libvirt.ERR_OPERATION_INVALID:
			if fault.As(err) != nil {
				return err
			}
			return m.fail("delete volume", "", err)
		}
		// Still being allocated (or briefly in use by libvirt): wait.
		select {
		case <-ctx.Done():
			return CodeVolumeBuilding.Wrap(err, "volume %q is still being filled by libvirt", ident)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
