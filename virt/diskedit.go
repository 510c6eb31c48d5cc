package virt

import (
	"context"
	"slices"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// DiskSpec is a disk to attach, its source already allowed by the caller:
// a pool volume (Pool, Volume), a host path (Path), or none (an empty
// CD-ROM drive).
type DiskSpec struct {
	Device, Bus, Target string
	Pool, Volume        string
	Path                string
	Format              string // of Path: qcow2 or raw
	ReadOnly            bool
}

// diskOp is a change of a disk or CD-ROM drive.
type diskOp int

const (
	opAttach diskOp = iota
	opDetach
	opUpdate
)

func (o diskOp) String() string {
	return [...]string{"attach disk", "detach disk", "change media"}[o]
}

// applyDevice changes a device live and in the saved configuration
// together (only live for a transient guest). Where the driver cannot
// change devices (the test driver), the saved configuration is edited
// and redefined instead, which a running guest sees at its next boot.
func (m *Manager) applyDevice(c *libvirt.Connect, dom *libvirt.Domain, name string, g *guestXML, op diskOp, dev libvirtxml.DomainDisk, edit func(d *libvirtxml.Domain)) (string, error) {
	doc, err := dev.Marshal()
	if err != nil {
		return "", m.fail(op.String(), name, err)
	}
	var flags libvirt.DomainDeviceModifyFlags
	if g.persistent {
		flags |= libvirt.DOMAIN_DEVICE_MODIFY_CONFIG
	}
	if g.active {
		flags |= libvirt.DOMAIN_DEVICE_MODIFY_LIVE
	}
	switch op {
	case opAttach:
		err = dom.AttachDeviceFlags(doc, flags)
	case opDetach:
		err = dom.DetachDeviceFlags(doc, flags)
	case opUpdate:
		err = dom.UpdateDeviceFlags(doc, flags|libvirt.DOMAIN_DEVICE_MODIFY_FORCE)
	}
	applies := api.AppliesNow
	if err != nil && libvirtCode(err) == libvirt.ERR_NO_SUPPORT && g.config != nil {
		// The test driver: edit the saved definition.
		cfg := g.config
		edit(cfg)
		var x string
		if x, err = cfg.Marshal(); err == nil {
			var nd *libvirt.Domain
			if nd, err = c.DomainDefineXML(x); err == nil {
				_ = nd.Free()
			}
		}
		if g.active {
			applies = api.AppliesNextBoot
		}
	}
	if err != nil {
		if e, ok := err.(libvirt.Error); ok && strings.Contains(strings.ToLower(e.Message), "hotplug") {
			// QEMU's own refusal, e.g. a PC guest without ACPI: "Bus
			// 'pci.0' does not support hotplugging".
			return "", CodeDiskBusNotHotplug.New("the running guest refused the change (%s): shut it off first", e.Message)
		}
		if e, ok := err.(libvirt.Error); ok && op == opUpdate && strings.Contains(e.Message, "Tray of device") {
			// QEMU could not open the drive's tray (seen on a SCSI drive
			// hot-plugged into the running guest).
			return "", CodeCDROMTrayLocked.New("the drive's tray did not open (%s): change the medium after the guest's next boot", e.Message)
		}
		return "", m.fail(op.String(), name, err)
	}
	if rerr := m.refresh(name, refreshFull); rerr != nil {
		m.log.Warn("refresh after a disk change", "guest", name, "err", rerr)
	}
	return applies, nil
}

// AttachDisk attaches a disk or CD-ROM drive: live and in the saved
// configuration on a running guest (buses that take hot-plug only).
func (m *Manager) AttachDisk(ctx context.Context, name string, spec DiskSpec) (api.DiskChange, error) {
	c, dom, g, done, err := m.openGuestXML(ctx, name)
	if err != nil {
		return api.DiskChange{}, err
	}
	defer done()
	diskBus, cdromBus := m.busDefaults(dom, g)
	if err := checkDiskSpec(&spec, g, diskBus, cdromBus); err != nil {
		return api.DiskChange{}, err
	}
	disk := libvirtxml.DomainDisk{
		Device: spec.Device,
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
		Target: &libvirtxml.DomainDiskTarget{Dev: spec.Target, Bus: spec.Bus},
	}
	if spec.ReadOnly || spec.Device == api.DeviceCDROM {
		disk.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
	}
	if spec.Pool != "" || spec.Path != "" {
		src, format, err := m.diskSource(c, name, spec)
		if err != nil {
			return api.DiskChange{}, err
		}
		disk.Source = src
		if format != "" {
			disk.Driver.Type = format
		}
	}
	applies, err := m.applyDevice(c, dom, name, g, opAttach, disk, func(d *libvirtxml.Domain) {
		d.Devices.Disks = append(d.Devices.Disks, disk)
	})
	if err != nil {
		return api.DiskChange{}, err
	}
	gd, err := m.describeDisk(c, disk)
	if err != nil {
		return api.DiskChange{}, m.fail("resolve volume", name, err)
	}
	gd.Live = g.active && applies == api.AppliesNow
	return api.DiskChange{Disk: gd, Applies: applies}, nil
}

// CheckDisk answers whether the guest would take a disk of spec (its
// bus, target and the guest's state), without attaching anything.
func (m *Manager) CheckDisk(ctx context.Context, name string, spec DiskSpec) error {
	_, dom, g, done, err := m.openGuestXML(ctx, name)
	if err != nil {
		return err
	}
	defer done()
	diskBus, cdromBus := m.busDefaults(dom, g)
	return checkDiskSpec(&spec, g, diskBus, cdromBus)
}

// checkDiskSpec fills the defaults (bus, target) and refuses what the
// guest cannot take.
func checkDiskSpec(spec *DiskSpec, g *guestXML, diskBus, cdromBus string) error {
	if spec.Device == "" {
		spec.Device = api.DeviceDisk
	}
	buses := diskBuses
	switch spec.Device {
	case api.DeviceDisk:
		if spec.Bus == "" {
			spec.Bus = diskBus
		}
	case api.DeviceCDROM:
		buses = cdromBuses
		if spec.Bus == "" {
			spec.Bus = cdromBus
		}
	default:
		return CodeInvalidDiskDevice.New("device %q: use disk or cdrom", spec.Device)
	}
	if !slices.Contains(buses, spec.Bus) {
		return CodeInvalidDiskBus.New("a %s cannot be on bus %q; use one of %s", spec.Device, spec.Bus, strings.Join(buses, ", "))
	}
	if spec.Bus == "ide" && isQ35(g.machine) {
		return CodeDiskBusUnsupported.New("this guest's machine (%s) has no IDE controller; use sata", g.machine)
	}
	if g.active && !BusHotplug(spec.Bus) {
		return CodeDiskBusNotHotplug.New("a %s cannot be added on bus %s while the guest runs (QEMU hot-plugs virtio, SCSI and USB only): shut the guest off first, or choose another bus", spec.Device, spec.Bus)
	}
	if g.active && spec.Device == api.DeviceCDROM && spec.Pool == "" && spec.Path == "" {
		// libvirt (9.0 here) fails to hot-plug a drive without a medium.
		return CodeCDROMEmptyHotplug.New("a CD-ROM drive is added to a running guest with an ISO in it: choose one, or add the empty drive while the guest is shut off")
	}
	used := map[string]bool{}
	ide := 0
	for _, d := range []*libvirtxml.Domain{g.live, g.config} {
		if d == nil {
			continue
		}
		n := 0
		for _, x := range d.Devices.Disks {
			if x.Target == nil {
				continue
			}
			used[x.Target.Dev] = true
			if x.Target.Bus == "ide" {
				n++
			}
		}
		ide = max(ide, n)
	}
	if spec.Bus == "ide" && ide >= maxIDE {
		return CodeDiskIDEFull.New("the guest has %d IDE devices already, the most a PC's two IDE channels take: use %s", ide, map[bool]string{true: "sata or virtio", false: "scsi or virtio"}[isQ35(g.machine)])
	}
	prefix := targetPrefix(spec.Bus)
	if spec.Target != "" {
		if !targetRe.MatchString(spec.Target) || !strings.HasPrefix(spec.Target, prefix) {
			return CodeInvalidDiskTarget.New("target %q: a %s disk's target is %s followed by letters, e.g. %sb", spec.Target, spec.Bus, prefix, prefix)
		}
		if spec.Bus == "ide" && len(spec.Target) == 3 && spec.Target[2] > 'd' {
			return CodeInvalidDiskTarget.New("target %q: IDE targets are hda to hdd", spec.Target)
		}
		if used[spec.Target] {
			return CodeDiskTargetInUse.New("the guest already has a disk %s", spec.Target)
		}
		return nil
	}
	last := byte('z')
	if spec.Bus == "ide" {
		last = 'd'
	}
	for l := byte('a'); l <= last; l++ {
		if t := prefix + string(l); !used[t] {
			spec.Target = t
			return nil
		}
	}
	return CodeDiskTargetsFull.New("every %s target name is taken", prefix)
}

// diskSource resolves a pool volume or host path into a disk source and
// its format, refusing a writable volume another guest uses.
func (m *Manager) diskSource(c *libvirt.Connect, name string, spec DiskSpec) (*libvirtxml.DomainDiskSource, string, error) {
	var vol *libvirt.StorageVol
	var err error
	if spec.Pool != "" {
		vol, err = lookupDiskVolume(c, libvirtxml.DomainDisk{Source: &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: spec.Pool, Volume: spec.Volume}}})
		if err != nil {
			if isConnErr(err) {
				return nil, "", m.fail("find volume", name, err)
			}
			return nil, "", CodeVolumeNotFound.New("pool %q has no volume %q (or the pool is not running)", spec.Pool, spec.Volume)
		}
	} else if vol, err = c.LookupStorageVolByPath(spec.Path); err != nil {
		// A host path in no pool: a file, raw unless it says otherwise.
		if isConnErr(err) {
			return nil, "", m.fail("find volume", name, err)
		}
		format := spec.Format
		if format != "qcow2" {
			format = "raw"
		}
		return &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: spec.Path}}, format, nil
	}
	defer vol.Free()
	info, err := vol.GetInfo()
	if err != nil {
		return nil, "", m.fail("read volume", name, err)
	}
	sp, err := vol.LookupPoolByVolume()
	if err != nil {
		return nil, "", m.fail("read volume", name, err)
	}
	pool, _ := sp.GetName()
	_ = sp.Free()
	v, err := m.describeVolume(vol, pool, m.diskUsers())
	if err != nil {
		return nil, "", err
	}
	if spec.Device == api.DeviceDisk && !spec.ReadOnly {
		// Read-only content (an ISO in two drives) may repeat; a disk written twice may not.
		if slices.Contains(v.UsedBy, name) {
			return nil, "", CodeDiskAlreadyAttached.New("volume %s/%s is already a disk of this guest", v.Pool, v.Name)
		}
		if other := m.writers(v, name); other != "" {
			return nil, "", CodeVolumeInUse.New("volume %s/%s is a writable disk of guest %q; two guests writing one disk corrupt it (attach it read-only, or detach it there first)", v.Pool, v.Name, other)
		}
	}
	src := &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: v.Path}}
	if info.Type == libvirt.STORAGE_VOL_BLOCK {
		src = &libvirtxml.DomainDiskSource{Block: &libvirtxml.DomainDiskSourceBlock{Dev: v.Path}}
	}
	format := v.Format
	switch format {
	case "qcow2", "raw":
	case "iso", "":
		format = "raw"
	default:
		if info.Type == libvirt.STORAGE_VOL_BLOCK {
			format = "raw" // a logical or disk pool's "format" is the partition's
		}
	}
	return src, format, nil
}

// writers names another guest using volume v as a writable disk, or "".
func (m *Manager) writers(v api.Volume, self string) string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	keys := []string{"vol:" + v.Pool + "/" + v.Name, v.Path}
	for _, guest := range v.UsedBy {
		e, ok := m.byName[guest]
		if !ok || guest == self {
			continue
		}
		for _, k := range e.writable {
			if k != "" && slices.Contains(keys, k) {
				return guest
			}
		}
	}
	return ""
}

// DetachDisk removes a disk or CD-ROM drive, live and in the saved
// configuration; with deleteVolume, then deletes the volume behind it
// (refused while another guest uses it).
func (m *Manager) DetachDisk(ctx context.Context, name, target string, deleteVolume bool) (api.DiskChange, error) {
	c, dom, g, done, err := m.openGuestXML(ctx, name)
	if err != nil {
		return api.DiskChange{}, err
	}
	defer done()
	disk := findDisk(g.current(), target)
	if disk == nil && g.config != nil {
		disk = findDisk(g.config, target)
	}
	if disk == nil {
		return api.DiskChange{}, CodeDiskNotFound.New("guest %q has no disk %q", name, target)
	}
	inLive := g.active && findDisk(g.live, target) != nil
	if inLive && !BusHotplug(disk.Target.Bus) {
		return api.DiskChange{}, CodeDiskBusNotHotplug.New("a %s device cannot be removed while the guest runs: shut the guest off first", disk.Target.Bus)
	}
	gd, err := m.describeDisk(c, *disk)
	if err != nil {
		return api.DiskChange{}, m.fail("resolve volume", name, err)
	}
	var dv []diskVolume
	if deleteVolume && gd.Volume != "" {
		if vol, err := lookupDiskVolume(c, *disk); err == nil {
			p, _ := vol.GetPath()
			dv = []diskVolume{{vol: vol, label: gd.Pool + "/" + gd.Volume, path: p, key: diskSourceKey(*disk)}}
			defer vol.Free()
			if err := m.checkVolumesUnshared(name, dv); err != nil {
				return api.DiskChange{}, err
			}
		}
	}
	// Only where it is: a disk saved for the next boot is not in the
	// running guest, one hot-plugged without config not in the saved one.
	gx := *g
	gx.active = inLive
	gx.persistent = g.config != nil && findDisk(g.config, target) != nil
	if !gx.active && !gx.persistent {
		return api.DiskChange{}, CodeDiskNotFound.New("guest %q has no disk %q", name, target)
	}
	applies, err := m.applyDevice(c, dom, name, &gx, opDetach, *disk, func(d *libvirtxml.Domain) {
		d.Devices.Disks = slices.DeleteFunc(d.Devices.Disks, func(x libvirtxml.DomainDisk) bool { return x.Target != nil && x.Target.Dev == target })
	})
	if err != nil {
		return api.DiskChange{}, err
	}
	out := api.DiskChange{Disk: gd, Applies: applies}
	if inLive && applies == api.AppliesNow {
		// The guest may not have let go yet (hot-unplug asks the guest).
		if live, err := m.readGuestXML(dom, name); err != nil || findDisk(live.live, target) != nil {
			out.Pending = true
		}
	}
	if len(dv) == 0 {
		return out, nil
	}
	if out.Pending {
		return out, CodeDiskDetachPending.New("disk %s is removed from the saved configuration, but the running guest has not released it yet: the volume %s was kept; delete it once the guest lets go", target, dv[0].label)
	}
	if applies == api.AppliesNextBoot {
		return out, CodeDiskDetachPending.New("disk %s leaves the guest at its next boot: the volume %s was kept", target, dv[0].label)
	}
	if err := dv[0].vol.Delete(0); err != nil {
		return out, CodeVolumeDeleteFailed.Wrap(err, "disk %s is detached, but deleting volume %s failed", target, dv[0].label)
	}
	m.volumesChanged()
	out.VolumeDeleted = true
	return out, nil
}

// ChangeMedia inserts the ISO volume pool/volume into a CD-ROM drive, or
// ejects it when pool is "", live and in the saved configuration.
func (m *Manager) ChangeMedia(ctx context.Context, name, target, pool, volume string) (api.DiskChange, error) {
	c, dom, g, done, err := m.openGuestXML(ctx, name)
	if err != nil {
		return api.DiskChange{}, err
	}
	defer done()
	cur := findDisk(g.current(), target)
	if cur == nil {
		return api.DiskChange{}, CodeDiskNotFound.New("guest %q has no CD-ROM drive %q", name, target)
	}
	if cur.Device != api.DeviceCDROM {
		return api.DiskChange{}, CodeDiskNotCDROM.New("%s is a %s, not a CD-ROM drive", target, cur.Device)
	}
	disk := *cur
	disk.Source = nil
	disk.Driver = &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"}
	if pool != "" {
		src, _, err := m.diskSource(c, name, DiskSpec{Device: api.DeviceCDROM, Pool: pool, Volume: volume})
		if err != nil {
			return api.DiskChange{}, err
		}
		disk.Source = src
	}
	gx := *g
	gx.persistent = g.config != nil && findDisk(g.config, target) != nil
	applies, err := m.applyDevice(c, dom, name, &gx, opUpdate, disk, func(d *libvirtxml.Domain) {
		if x := findDisk(d, target); x != nil {
			x.Source, x.Driver = disk.Source, disk.Driver
		}
	})
	if err != nil {
		return api.DiskChange{}, err
	}
	gd, err := m.describeDisk(c, disk)
	if err != nil {
		return api.DiskChange{}, m.fail("resolve volume", name, err)
	}
	gd.Live = g.active && applies == api.AppliesNow
	return api.DiskChange{Disk: gd, Applies: applies}, nil
}
