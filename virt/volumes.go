package virt

import (
	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"
)

// diskVolume is a storage volume backing one of a guest's disks.
type diskVolume struct {
	vol   *libvirt.StorageVol
	label string // pool/volume, safe to show
	path  string
	key   string // as in entry.disks
}

// guestVolumes resolves the guest's disks (device "disk", writable) to
// storage volumes; disks that are plain files outside any pool are left
// alone. Read-only disks are skipped: they are shared content by intent.
func (m *Manager) guestVolumes(c *libvirt.Connect, dom *libvirt.Domain, name string, persistent bool) ([]diskVolume, error) {
	flags := libvirt.DomainXMLFlags(0)
	if persistent {
		flags = libvirt.DOMAIN_XML_INACTIVE
	}
	doc, err := dom.GetXMLDesc(flags)
	if err != nil {
		return nil, m.fail("read guest", name, err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return nil, m.fail("read guest", name, err)
	}
	if d.Devices == nil {
		return nil, nil
	}
	var out []diskVolume
	for _, disk := range d.Devices.Disks {
		if (disk.Device != "" && disk.Device != "disk") || disk.ReadOnly != nil || disk.Source == nil {
			continue
		}
		if diskSourcePath(disk) == "" && (disk.Source.Volume == nil || disk.Source.Volume.Pool == "") {
			continue
		}
		vol, err := lookupDiskVolume(c, disk) // the lookup the Disks tab and the clone pre-check share
		if err != nil {
			if isConnErr(err) {
				return out, m.fail("resolve volume", name, err)
			}
			continue // not a managed volume
		}
		dv := diskVolume{vol: vol, key: diskSourceKey(disk)}
		dv.path, _ = vol.GetPath()
		volName, _ := vol.GetName()
		dv.label = volName
		if pool, perr := vol.LookupPoolByVolume(); perr == nil {
			if pn, err := pool.GetName(); err == nil {
				dv.label = pn + "/" + volName
			}
			_ = pool.Free()
		}
		out = append(out, dv)
	}
	return out, nil
}

// checkVolumesUnshared refuses to delete a volume another guest uses;
// refusing before anything is undefined keeps the delete all-or-nothing.
func (m *Manager) checkVolumesUnshared(name string, vols []diskVolume) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, v := range vols {
		for _, e := range m.sorted {
			if e.vm.Name == name {
				continue
			}
			for _, src := range e.disks {
				if src == v.key || (v.path != "" && src == v.path) || src == "vol:"+v.label {
					return CodeVolumeInUse.New("volume %q is also used by guest %q; delete without volumes or detach it first", v.label, e.vm.Name)
				}
			}
		}
	}
	return nil
}
