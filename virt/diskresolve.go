package virt

import (
	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// resolveDisk finds the storage volume behind a disk's source (a pool
// volume reference, or a file or block path some pool holds) and
// describes it; the clone's pre-check and the Disks tab share it. An
// error means the source is in no pool (or libvirt failed: see isConnErr).
func (m *Manager) resolveDisk(c *libvirt.Connect, disk libvirtxml.DomainDisk) (api.Volume, error) {
	vol, err := lookupDiskVolume(c, disk)
	if err != nil {
		return api.Volume{}, err
	}
	defer vol.Free()
	sp, err := vol.LookupPoolByVolume()
	if err != nil {
		return api.Volume{}, err
	}
	defer sp.Free()
	pool, err := sp.GetName()
	if err != nil {
		return api.Volume{}, err
	}
	return m.describeVolume(vol, pool, nil)
}

// lookupDiskVolume is the volume a disk's source names; the caller frees it.
func lookupDiskVolume(c *libvirt.Connect, disk libvirtxml.DomainDisk) (*libvirt.StorageVol, error) {
	if disk.Source != nil && disk.Source.Volume != nil {
		sp, err := c.LookupStoragePoolByName(disk.Source.Volume.Pool)
		if err != nil {
			return nil, err
		}
		defer sp.Free()
		return sp.LookupStorageVolByName(disk.Source.Volume.Volume)
	}
	p := diskSourcePath(disk)
	if p == "" {
		return nil, libvirt.Error{Code: libvirt.ERR_NO_STORAGE_VOL, Message: "disk has no source path"}
	}
	return c.LookupStorageVolByPath(p)
}
