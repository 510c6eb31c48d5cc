package virt

import (
	"context"
	"strings"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/fault"
)

// The steps of Delete one by one, for a task that records what it is
// about to remove and can finish the work after a crash. Each removal is
// idempotent: what is already gone is success.

// DeletePlan is what deleting a guest removes.
type DeletePlan struct {
	Name       string
	Persistent bool
	// Volumes are "pool/volume", or an absolute path for a volume whose
	// pool could not be named.
	Volumes []string
}

// PlanDelete checks that the guest may be deleted as Delete does (powered
// off unless transient; with volumes, no volume shared with another
// guest) and lists what would go. Nothing changes.
func (m *Manager) PlanDelete(ctx context.Context, name string, volumes bool) (DeletePlan, error) {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return DeletePlan{}, err
	}
	defer release(c)
	defer dom.Free()
	persistent, err := m.deletable(dom, name)
	if err != nil {
		return DeletePlan{}, err
	}
	plan := DeletePlan{Name: name, Persistent: persistent}
	if !volumes {
		return plan, nil
	}
	vols, err := m.guestVolumes(c, dom, name, persistent)
	defer func() {
		for _, v := range vols {
			_ = v.vol.Free()
		}
	}()
	if err != nil {
		return DeletePlan{}, err
	}
	if err := m.checkVolumesUnshared(name, vols); err != nil {
		return DeletePlan{}, err
	}
	for _, v := range vols {
		id := v.label
		if !strings.Contains(id, "/") || strings.HasPrefix(id, "/") {
			id = v.path
		}
		if id != "" {
			plan.Volumes = append(plan.Volumes, id)
		}
	}
	return plan, nil
}

// UndefineGuest removes a powered-off guest's definition with its managed
// save, snapshot and checkpoint metadata and NVRAM; a transient guest is
// destroyed. A guest that no longer exists is success.
func (m *Manager) UndefineGuest(ctx context.Context, name string) error {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		if fault.IsKind(err, fault.NotFound) {
			return nil
		}
		return err
	}
	defer release(c)
	defer dom.Free()
	persistent, err := m.deletable(dom, name)
	if err != nil {
		return err
	}
	switch {
	case persistent:
		err = undefineAll(dom)
	default:
		err = dom.Destroy()
	}
	if err != nil && libvirtCode(err) != libvirt.ERR_NO_DOMAIN {
		m.enqueue(name, refreshFull)
		return m.fail("delete guest", name, err)
	}
	if err := m.refresh(name, refreshFull); err != nil {
		m.log.Warn("refresh after delete failed", "guest", name, "err", err)
	}
	return nil
}

// lookupVolume finds the volume named "pool/volume", or by its absolute path.
func lookupVolume(c *libvirt.Connect, ident string) (*libvirt.StorageVol, error) {
	if strings.HasPrefix(ident, "/") {
		return c.LookupStorageVolByPath(ident)
	}
	poolName, volName, ok := strings.Cut(ident, "/")
	if !ok || poolName == "" || volName == "" {
		return nil, fault.CodeBadRequest.New("volume %q is not pool/volume or an absolute path", ident)
	}
	pool, err := c.LookupStoragePoolByName(poolName)
	if err != nil {
		return nil, err
	}
	defer pool.Free()
	return pool.LookupStorageVolByName(volName)
}

// VolumeExists reports whether the volume "pool/volume" (or at an
// absolute path) exists.
func (m *Manager) VolumeExists(ctx context.Context, ident string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	c, err := m.acquire()
	if err != nil {
		return false, err
	}
	defer release(c)
	vol, err := lookupVolume(c, ident)
	switch libvirtCode(err) {
	case -1:
		if err != nil {
			return false, m.fail("find volume", "", err)
		}
		_ = vol.Free()
		return true, nil
	case libvirt.ERR_NO_STORAGE_VOL, libvirt.ERR_NO_STORAGE_POOL:
		return false, nil
	}
	return false, m.fail("find volume", "", err)
}

// DeleteVolume deletes the volume named "pool/volume", or by its absolute
// path. A volume (or pool) that no longer exists is success.
func (m *Manager) DeleteVolume(ctx context.Context, ident string) error {
	defer m.volumesChanged()
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := m.acquire()
	if err != nil {
		return err
	}
	defer release(c)
	vol, err := lookupVolume(c, ident)
	if err == nil {
		err = vol.Delete(0)
		_ = vol.Free()
	}
	switch libvirtCode(err) {
	case -1:
		if err != nil {
			return m.fail("delete volume", "", err)
		}
		return nil
	case libvirt.ERR_NO_STORAGE_VOL, libvirt.ERR_NO_STORAGE_POOL:
		return nil
	}
	return m.fail("delete volume", "", err)
}
