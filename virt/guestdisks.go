package virt

import (
	"context"
	"regexp"
	"slices"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Codes of disk edits; they are API.
var (
	CodeDiskNotFound         = fault.Define("disk_not_found", fault.NotFound)
	CodeDiskBusNotHotplug    = fault.Define("disk_bus_not_hotpluggable", fault.Conflict)
	CodeDiskIDEFull          = fault.Define("disk_ide_full", fault.Conflict)
	CodeDiskTargetInUse      = fault.Define("disk_target_in_use", fault.Conflict)
	CodeDiskTargetsFull      = fault.Define("disk_targets_full", fault.Conflict)
	CodeDiskAlreadyAttached  = fault.Define("disk_already_attached", fault.Conflict)
	CodeDiskNotCDROM         = fault.Define("disk_not_cdrom", fault.Conflict)
	CodeDiskDetachPending    = fault.Define("disk_detach_pending", fault.Conflict)
	CodeInvalidDiskBus       = fault.Define("invalid_disk_bus", fault.Unprocessable)
	CodeInvalidDiskDevice    = fault.Define("invalid_disk_device", fault.Unprocessable)
	CodeInvalidDiskTarget    = fault.Define("invalid_disk_target", fault.Unprocessable)
	CodeDiskBusUnsupported   = fault.Define("disk_bus_unsupported", fault.Unprocessable)
	CodeTransientGuestConfig = fault.Define("guest_transient", fault.Conflict)
	CodeCDROMEmptyHotplug    = fault.Define("cdrom_empty_hotplug", fault.Conflict)
	CodeCDROMTrayLocked      = fault.Define("cdrom_tray_locked", fault.Conflict)
)

// maxIDE is how many IDE devices a PC guest has room for (two channels,
// master and slave).
const maxIDE = 4

// diskBuses are the buses a disk may be attached on; cdromBuses those of
// a CD-ROM drive.
var (
	diskBuses  = []string{"virtio", "scsi", "sata", "ide", "usb"}
	cdromBuses = []string{"ide", "sata", "scsi"}
	// hotplugBuses are those QEMU adds devices to while the guest runs;
	// IDE and SATA (AHCI) take none.
	hotplugBuses = []string{"virtio", "scsi", "usb"}
)

// BusHotplug reports whether bus takes devices while the guest runs.
func BusHotplug(bus string) bool { return slices.Contains(hotplugBuses, bus) }

var targetRe = regexp.MustCompile(`^(vd|sd|hd)[a-z]{1,2}$`)

// targetPrefix is the target name prefix of a bus.
func targetPrefix(bus string) string {
	switch bus {
	case "virtio":
		return "vd"
	case "ide":
		return "hd"
	}
	return "sd"
}

// guestXML is one reading of a guest: its live and saved definitions.
type guestXML struct {
	active, persistent bool
	live, config       *libvirtxml.Domain // config nil for a transient guest
	machine            string
}

// current is the definition changes are checked against: the running
// one when the guest runs.
func (g *guestXML) current() *libvirtxml.Domain {
	if g.active || g.config == nil {
		return g.live
	}
	return g.config
}

// openGuestXML finds the named guest and reads both its definitions;
// done releases what it holds.
func (m *Manager) openGuestXML(ctx context.Context, name string) (*libvirt.Connect, *libvirt.Domain, *guestXML, func(), error) {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	done := func() {
		_ = dom.Free()
		release(c)
	}
	g, err := m.readGuestXML(dom, name)
	if err != nil {
		done()
		return nil, nil, nil, nil, err
	}
	return c, dom, g, done, nil
}

func (m *Manager) readGuestXML(dom *libvirt.Domain, name string) (*guestXML, error) {
	active, persistent, err := activity(dom)
	if err != nil {
		return nil, m.fail("read guest", name, err)
	}
	g := &guestXML{active: active, persistent: persistent}
	read := func(flags libvirt.DomainXMLFlags) (*libvirtxml.Domain, error) { return m.readDomain(dom, name, flags) }
	if g.live, err = read(0); err != nil {
		return nil, err
	}
	if persistent {
		if g.config, err = read(libvirt.DOMAIN_XML_INACTIVE); err != nil {
			return nil, err
		}
	}
	if d := g.current(); d.OS != nil && d.OS.Type != nil {
		g.machine = d.OS.Type.Machine
	}
	return g, nil
}

// findDisk is the disk of target in d, or nil.
func findDisk(d *libvirtxml.Domain, target string) *libvirtxml.DomainDisk {
	if d == nil || d.Devices == nil {
		return nil
	}
	for i := range d.Devices.Disks {
		if t := d.Devices.Disks[i].Target; t != nil && t.Dev == target {
			return &d.Devices.Disks[i]
		}
	}
	return nil
}

// GuestDisks lists a guest's disks and CD-ROM drives, the running ones
// and those waiting in the saved configuration, with the pool volume
// behind each resolved. Paths are included; callers hide them.
func (m *Manager) GuestDisks(ctx context.Context, name string) (api.GuestDiskList, error) {
	c, dom, g, done, err := m.openGuestXML(ctx, name)
	if err != nil {
		return api.GuestDiskList{}, err
	}
	defer done()
	out := api.GuestDiskList{Items: []api.GuestDisk{}, Running: g.active, LiveChanges: !m.isTestDriver()}
	out.DiskBus, out.CDROMBus = m.busDefaults(dom, g)
	cur := g.current()
	seen := map[string]bool{}
	add := func(d libvirtxml.DomainDisk, live bool) error {
		gd, err := m.describeDisk(c, d)
		if err != nil {
			return err
		}
		gd.Live = live
		seen[gd.Target] = true
		out.Items = append(out.Items, gd)
		return nil
	}
	for _, d := range cur.Devices.Disks {
		if err := add(d, g.active); err != nil {
			return out, m.fail("resolve volume", name, err)
		}
	}
	// Disks saved for the next boot of a running guest.
	if g.active && g.config != nil {
		for _, d := range g.config.Devices.Disks {
			if d.Target != nil && !seen[d.Target.Dev] {
				if err := add(d, false); err != nil {
					return out, m.fail("resolve volume", name, err)
				}
			}
		}
	}
	return out, nil
}

// describeDisk is one disk as the Disks tab shows it. Only a lost
// connection is an error: a source in no pool is listed by its path.
func (m *Manager) describeDisk(c *libvirt.Connect, d libvirtxml.DomainDisk) (api.GuestDisk, error) {
	gd := api.GuestDisk{Device: d.Device, ReadOnly: d.ReadOnly != nil}
	if gd.Device == "" {
		gd.Device = api.DeviceDisk
	}
	if d.Target != nil {
		gd.Target, gd.Bus = d.Target.Dev, d.Target.Bus
	}
	gd.Hotplug = BusHotplug(gd.Bus)
	if d.Driver != nil {
		gd.Format = d.Driver.Type
	}
	gd.Path = diskSourcePath(d)
	hasSource := d.Source != nil && (gd.Path != "" || d.Source.Volume != nil || d.Source.Network != nil)
	gd.Empty = !hasSource
	if !hasSource {
		return gd, nil
	}
	if d.Source.Volume != nil {
		gd.Pool, gd.Volume = d.Source.Volume.Pool, d.Source.Volume.Volume
	}
	v, err := m.resolveDisk(c, d)
	if err != nil {
		if isConnErr(err) {
			return gd, err
		}
		return gd, nil // a file in no pool, or a volume gone
	}
	gd.Pool, gd.Volume = v.Pool, v.Name
	gd.Capacity, gd.Allocation = v.Capacity, v.Allocation
	if gd.Path == "" {
		gd.Path = v.Path
	}
	if gd.Format == "" {
		gd.Format = v.Format
	}
	return gd, nil
}

// busDefaults are the guest's buses for new disks and CD-ROMs: its
// metadata's <defaults>, else what its first disk and CD-ROM use, else
// virtio and (sata on q35, ide elsewhere).
func (m *Manager) busDefaults(dom *libvirt.Domain, g *guestXML) (disk, cdrom string) {
	if doc, err := getMetadata(dom, MetadataNS, libvirt.DOMAIN_AFFECT_CURRENT); err == nil && doc != "" {
		if gm, err := parseGuestMeta(doc); err == nil && gm.Defaults != nil {
			disk, cdrom = gm.Defaults.DiskBus, gm.Defaults.CDROMBus
		}
	}
	for _, d := range g.current().Devices.Disks {
		if d.Target == nil || d.Target.Bus == "" {
			continue
		}
		switch d.Device {
		case "", api.DeviceDisk:
			if disk == "" {
				disk = d.Target.Bus
			}
		case api.DeviceCDROM:
			if cdrom == "" {
				cdrom = d.Target.Bus
			}
		}
	}
	if disk == "" {
		disk = "virtio"
	}
	if cdrom == "" {
		cdrom = "ide"
		if isQ35(g.machine) {
			cdrom = "sata"
		}
	}
	return disk, cdrom
}

func isQ35(machine string) bool { return strings.Contains(machine, "q35") }
