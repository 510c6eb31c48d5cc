// The making of a guest clone: linked overlays, the new domain's XML
// (new name, UUID and MACs, disks on the copies, metadata with grants
// kept) and its removal by UUID.

package virt

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// NewUUID returns a random (version 4) UUID for a new guest.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// CreateOverlay makes destPool/destName a qcow2 overlay whose backing
// file is the volume srcPool/srcName (a linked clone's disk).
func (m *Manager) CreateOverlay(ctx context.Context, srcPool, srcName, destPool, destName string) error {
	defer m.volumesChanged()
	src, err := m.Volume(ctx, srcPool, srcName)
	if err != nil {
		return err
	}
	c, err := m.acquire()
	if err != nil {
		return err
	}
	defer release(c)
	sv, err := lookupVolume(c, srcPool+"/"+srcName)
	if err != nil {
		return m.storageFail("find volume", srcPool, srcName, err)
	}
	srcPath, err := sv.GetPath()
	_ = sv.Free()
	if err != nil {
		return m.storageFail("read volume", srcPool, srcName, err)
	}
	format := src.Format
	if format == "" {
		format = "raw"
	}
	x := libvirtxml.StorageVolume{
		Name:       destName,
		Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: src.Capacity},
		Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: 0},
		Target:     &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}},
		BackingStore: &libvirtxml.StorageVolumeBackingStore{Path: srcPath,
			Format: &libvirtxml.StorageVolumeTargetFormat{Type: format}},
	}
	doc, err := x.Marshal()
	if err != nil {
		return m.fail("create volume", "", err)
	}
	return m.withPool(ctx, destPool, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		if err := m.activePool(p, destPool); err != nil {
			return err
		}
		if v, err := p.LookupStorageVolByName(destName); err == nil {
			_ = v.Free()
			return CodeVolumeExists.New("pool %q already has a volume %q", destPool, destName)
		}
		v, err := p.StorageVolCreateXML(doc, 0)
		if err != nil {
			return m.storageFail("create volume", destPool, destName, err)
		}
		return v.Free()
	})
}

// DefineClone defines plan.Name with uuid: the source's inactive XML
// with a new name and UUID, fresh MACs unused on the host, the copied
// disks pointing at their copies, and no NVRAM file of the source's
// (libvirt makes one from the template). The metadata is kept whole, so
// the grants travel with the clone. The source must still be shut off.
func (m *Manager) DefineClone(ctx context.Context, plan api.ClonePlan, uuid string) error {
	c, dom, err := m.lookup(ctx, plan.Source)
	if err != nil {
		return err
	}
	defer release(c)
	defer dom.Free()
	if err := m.shutOff(dom, plan.Source); err != nil {
		return err
	}
	doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		return m.fail("read guest", plan.Source, err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return m.fail("read guest", plan.Source, err)
	}
	if other, err := c.LookupDomainByName(plan.Name); err == nil {
		_ = other.Free()
		return CodeGuestExists.New("a guest named %q exists; choose another name", plan.Name)
	}
	d.Name, d.UUID, d.ID = plan.Name, uuid, nil
	if d.OS != nil && d.OS.NVRam != nil {
		d.OS.NVRam.NVRam, d.OS.NVRam.Source = "", nil
	}
	if d.Devices != nil {
		if err := m.cloneDisks(c, d.Devices, plan); err != nil {
			return err
		}
		used, err := hostMACs(c)
		if err != nil {
			return m.fail("list guests", "", err)
		}
		for i := range d.Devices.Interfaces {
			d.Devices.Interfaces[i].MAC = &libvirtxml.DomainInterfaceMAC{Address: freshMAC(used)}
			d.Devices.Interfaces[i].Target = nil
		}
	}
	out, err := d.Marshal()
	if err != nil {
		return m.fail("define guest", plan.Name, err)
	}
	nd, err := c.DomainDefineXML(out)
	if err != nil {
		return m.fail("define guest", plan.Name, err)
	}
	defer nd.Free()
	if err := m.refreshDom(nd, plan.Name, refreshFull); err != nil {
		m.log.Warn("refresh after clone failed", "guest", plan.Name, "err", err)
	}
	return nil
}

// cloneDisks points each copied disk at its copy, by the target names of the plan.
func (m *Manager) cloneDisks(c *libvirt.Connect, devs *libvirtxml.DomainDeviceList, plan api.ClonePlan) error {
	byTarget := map[string]api.CloneDisk{}
	for _, cd := range plan.Disks {
		byTarget[cd.Target] = cd
	}
	for i := range devs.Disks {
		disk := &devs.Disks[i]
		if disk.Target == nil {
			continue
		}
		cd, ok := byTarget[disk.Target.Dev]
		if !ok || (cd.Action != api.CloneCopy && cd.Action != api.CloneLink) {
			continue
		}
		v, err := lookupVolume(c, cd.DestPool+"/"+cd.DestVolume)
		if err != nil {
			return m.storageFail("find volume", cd.DestPool, cd.DestVolume, err)
		}
		p, perr := v.GetPath()
		info, ierr := v.GetInfo()
		_ = v.Free()
		if perr != nil || ierr != nil {
			return m.storageFail("read volume", cd.DestPool, cd.DestVolume, firstErr(perr, ierr))
		}
		switch {
		case !strings.HasPrefix(p, "/"): // the test driver's copies have no path
			disk.Source = &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: cd.DestPool, Volume: cd.DestVolume}}
		case info.Type == libvirt.STORAGE_VOL_BLOCK:
			disk.Source = &libvirtxml.DomainDiskSource{Block: &libvirtxml.DomainDiskSourceBlock{Dev: p}}
		default:
			disk.Source = &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: p}}
		}
		disk.BackingStore = nil
		if cd.Format != "" {
			if disk.Driver == nil {
				disk.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu"}
			}
			disk.Driver.Type = cd.Format
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// hostMACs lists the MAC addresses of every guest of the host, lower case.
func hostMACs(c *libvirt.Connect) (map[string]bool, error) {
	doms, err := c.ListAllDomains(0)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, dom := range doms {
		for _, flags := range []libvirt.DomainXMLFlags{0, libvirt.DOMAIN_XML_INACTIVE} {
			doc, err := dom.GetXMLDesc(flags)
			if err != nil {
				continue
			}
			var d libvirtxml.Domain
			if d.Unmarshal(doc) != nil || d.Devices == nil {
				continue
			}
			for _, ifc := range d.Devices.Interfaces {
				if ifc.MAC != nil {
					used[strings.ToLower(ifc.MAC.Address)] = true
				}
			}
		}
		_ = dom.Free()
	}
	return used, nil
}

// freshMAC draws a MAC in QEMU's 52:54:00 range that used lacks, and
// marks it used.
func freshMAC(used map[string]bool) string {
	for {
		var b [3]byte
		_, _ = rand.Read(b[:])
		mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", b[0], b[1], b[2])
		if !used[mac] {
			used[mac] = true
			return mac
		}
	}
}

// UndefineUUID removes the guest with this UUID if it is named name and
// shut off: the cleaner of a clone's definition, which must never remove
// another guest that took the name. A guest already gone is success.
func (m *Manager) UndefineUUID(ctx context.Context, uuid, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := m.acquire()
	if err != nil {
		return err
	}
	defer release(c)
	dom, err := c.LookupDomainByUUIDString(uuid)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_DOMAIN {
			return nil
		}
		return m.fail("lookup guest", name, err)
	}
	n, err := dom.GetName()
	_ = dom.Free()
	if err != nil {
		return m.fail("lookup guest", name, err)
	}
	if n != name {
		return nil // renamed since: not ours to remove any more
	}
	return m.UndefineGuest(ctx, name)
}
