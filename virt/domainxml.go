package virt

import (
	"fmt"
	"hash/maphash"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// stateName maps libvirt's state to the API's words.
func stateName(s libvirt.DomainState) string {
	switch s {
	case libvirt.DOMAIN_RUNNING:
		return api.StateRunning
	case libvirt.DOMAIN_BLOCKED:
		return api.StateBlocked
	case libvirt.DOMAIN_PAUSED:
		return api.StatePaused
	case libvirt.DOMAIN_SHUTDOWN:
		return api.StateShutdown
	case libvirt.DOMAIN_SHUTOFF:
		return api.StateShutoff
	case libvirt.DOMAIN_CRASHED:
		return api.StateCrashed
	case libvirt.DOMAIN_PMSUSPENDED:
		return api.StateSuspended
	}
	return api.StateUnknown
}

// memMiB converts a libvirt memory size to MiB.
func memMiB(value uint64, unit string) uint64 {
	var b uint64
	switch strings.ToLower(unit) {
	case "b", "bytes":
		b = value
	case "kb":
		b = value * 1000
	case "", "k", "kib":
		b = value << 10
	case "mb":
		b = value * 1000 * 1000
	case "m", "mib":
		b = value << 20
	case "gb":
		b = value * 1000 * 1000 * 1000
	case "g", "gib":
		b = value << 30
	case "tb":
		b = value * 1000 * 1000 * 1000 * 1000
	case "t", "tib":
		b = value << 40
	default:
		b = value << 10
	}
	return b >> 20
}

// parseDomain reads a domain XML into an entry (state, persistence and
// autostart come from elsewhere). A metadata problem is logged and yields
// no grants rather than hiding the guest.
func (m *Manager) parseDomain(doc string) (*entry, *libvirtxml.Domain, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return nil, nil, fmt.Errorf("parse domain XML: %w", err)
	}
	e := &entry{xmlHash: maphash.String(xmlSeed, doc)}
	e.vm.Name = d.Name
	e.vm.Host = m.cfg.Host
	e.vm.UUID = d.UUID
	if d.VCPU != nil {
		e.vm.VCPUs = int(d.VCPU.Value)
		if d.VCPU.Current > 0 {
			e.vm.VCPUs = int(d.VCPU.Current)
		}
	}
	if d.Memory != nil {
		e.maxMemMiB = memMiB(uint64(d.Memory.Value), d.Memory.Unit)
	}
	e.vm.MemoryMiB = e.maxMemMiB
	if d.CurrentMemory != nil {
		e.vm.MemoryMiB = memMiB(uint64(d.CurrentMemory.Value), d.CurrentMemory.Unit)
	}
	if d.Devices != nil {
		for _, g := range d.Devices.Graphics {
			if k := graphicsKind(g); k == "vnc" || k == "spice" {
				e.vm.Graphics = k
				break
			}
		}
		for _, disk := range d.Devices.Disks {
			if src := diskSourceKey(disk); src != "" {
				e.disks = append(e.disks, src)
				if (disk.Device == "" || disk.Device == "disk") && disk.ReadOnly == nil && disk.Shareable == nil {
					e.writable = append(e.writable, src)
				}
			}
		}
		e.nics = domainNICs(d.Devices.Interfaces)
	}
	var metaErr error
	if d.Metadata != nil {
		ours, kimchi, err := splitMetadata(d.Metadata.XML)
		if err != nil {
			metaErr = err
		} else {
			e.meta, metaErr = infoFromMeta(ours, kimchi)
		}
	}
	if metaErr != nil {
		m.log.Warn("unreadable guest metadata; no grants taken from it", "guest", d.Name, "err", metaErr)
	}
	e.vm.OS = e.meta.os
	return e, &d, nil
}

func graphicsKind(g libvirtxml.DomainGraphic) string {
	switch {
	case g.VNC != nil:
		return "vnc"
	case g.Spice != nil:
		return "spice"
	case g.RDP != nil:
		return "rdp"
	case g.SDL != nil:
		return "sdl"
	case g.Desktop != nil:
		return "desktop"
	case g.EGLHeadless != nil:
		return "egl-headless"
	case g.DBus != nil:
		return "dbus"
	}
	return ""
}

// diskSourceKey names where a disk's data lives, for volume-sharing checks.
func diskSourceKey(d libvirtxml.DomainDisk) string {
	if d.Source == nil {
		return ""
	}
	switch {
	case d.Source.File != nil && d.Source.File.File != "":
		return d.Source.File.File
	case d.Source.Block != nil && d.Source.Block.Dev != "":
		return d.Source.Block.Dev
	case d.Source.Volume != nil && d.Source.Volume.Pool != "" && d.Source.Volume.Volume != "":
		return "vol:" + d.Source.Volume.Pool + "/" + d.Source.Volume.Volume
	}
	return ""
}

// readEntry reads one guest completely: its XML, state, persistence and
// autostart (four calls; used for single refreshes, not for rebuilds).
func (m *Manager) readEntry(dom *libvirt.Domain) (*entry, error) {
	doc, err := dom.GetXMLDesc(0)
	if err != nil {
		return nil, err
	}
	st, _, err := dom.GetState()
	if err != nil {
		return nil, err
	}
	persistent, err := dom.IsPersistent()
	if err != nil {
		return nil, err
	}
	autostart := false
	if persistent {
		if autostart, err = dom.GetAutostart(); err != nil {
			return nil, err
		}
	}
	e, _, err := m.parseDomain(doc)
	if err != nil {
		return nil, err
	}
	e.vm.State = stateName(st)
	e.vm.Persistent = persistent
	e.vm.Autostart = autostart
	return e, nil
}

// readMeta re-reads only the metadata (ours, else Kimchi's), the same copy
// GetXMLDesc(0) shows: live for a running guest, persistent otherwise.
func readMeta(dom *libvirt.Domain) (guestInfo, error) {
	ours, err := getMetadata(dom, MetadataNS, libvirt.DOMAIN_AFFECT_CURRENT)
	if err != nil {
		return guestInfo{}, err
	}
	var g *guestMeta
	if ours != "" {
		if g, err = parseGuestMeta(ours); err != nil {
			return guestInfo{}, err // unreadable grants of ours grant nothing
		}
		// Kimchi's grants count only when ours have no <access>.
		if g.Access != nil {
			return infoFromGuest(g, "")
		}
	}
	kimchi, err := getMetadata(dom, KimchiNS, libvirt.DOMAIN_AFFECT_CURRENT)
	if err != nil {
		return guestInfo{}, err
	}
	return infoFromGuest(g, kimchi)
}

// getMetadata returns the element under ns, or "" when there is none.
func getMetadata(dom *libvirt.Domain, ns string, flags libvirt.DomainModificationImpact) (string, error) {
	doc, err := dom.GetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, ns, flags)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_DOMAIN_METADATA {
			return "", nil
		}
		return "", err
	}
	return doc, nil
}

// readDomain reads a guest's definition (flags: live, INACTIVE for the
// saved one, SECURE to keep passwords in a document written back), with
// a device list to edit even when the guest has none.
func (m *Manager) readDomain(dom *libvirt.Domain, name string, flags libvirt.DomainXMLFlags) (*libvirtxml.Domain, error) {
	doc, err := dom.GetXMLDesc(flags)
	if err != nil {
		return nil, m.fail("read guest", name, err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return nil, m.fail("read guest", name, err)
	}
	if d.Devices == nil {
		d.Devices = &libvirtxml.DomainDeviceList{}
	}
	return &d, nil
}
