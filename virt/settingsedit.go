// Changing a guest's processor, memory, identity and boot settings: every
// field is checked first (422 naming each bad one, 409 naming what needs
// the guest shut off), then the change is made live and in the saved
// configuration together, or in the configuration alone for what only a
// boot reads.

package virt

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// UpdateSettings changes the guest as u asks and returns its settings
// afterwards with where each change took effect.
func (m *Manager) UpdateSettings(ctx context.Context, name string, u api.VMUpdate) (api.VMUpdateResult, error) {
	if err := ValidateName(name); err != nil {
		return api.VMUpdateResult{}, err
	}
	unlock := m.grantLocks.lock(name)
	defer unlock()
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	defer release(c)
	defer dom.Free()
	g, err := m.readGuest(dom, name)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	lims, err := m.SettingsLimits(ctx)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	cur := settingsFrom(g.cfg)
	cur.Autostart = g.autostart
	var live *api.VMSettings
	if g.live != nil {
		l := settingsFrom(g.live)
		live = &l
	}
	p, err := planSettings(name, cur, live, g.persistent, u, lims)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	if p.rename != "" {
		if other, err := c.LookupDomainByName(p.rename); err == nil {
			_ = other.Free()
			return api.VMUpdateResult{}, CodeGuestExists.New("a guest named %q exists; choose another name", p.rename)
		}
	}
	if err := m.applySettings(dom, name, g, p); err != nil {
		m.enqueue(name, refreshFull)
		return api.VMUpdateResult{}, err
	}
	final := name
	if p.rename != "" {
		if err := dom.Rename(p.rename, 0); err != nil {
			m.enqueue(name, refreshFull)
			return api.VMUpdateResult{}, m.fail("rename guest", name, err)
		}
		final = p.rename
		// The grants travel in the metadata; the index moves them now,
		// so the next request already finds the guest by its new name.
		if err := m.refresh(name, refreshFull); err != nil {
			m.log.Warn("refresh after rename failed", "guest", name, "err", err)
		}
	}
	if err := m.refreshDom(dom, final, refreshFull); err != nil {
		m.log.Warn("refresh after settings change failed", "guest", final, "err", err)
	}
	g, err = m.readGuest(dom, final)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	s, err := m.settingsOf(ctx, final, g)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	return api.VMUpdateResult{Settings: s, Applied: p.applied}, nil
}

// applySettings makes the planned change. On a running guest the live
// changes go first (the hypervisor is what refuses), each to the saved
// configuration too; then the configuration-only fields, read afresh so
// the live calls' configuration half is kept.
func (m *Manager) applySettings(dom *libvirt.Domain, name string, g *guestDocs, p *settingsPlan) error {
	running := g.live != nil
	if running {
		if err := m.applyLive(dom, name, g, p); err != nil {
			return err
		}
	}
	cfgFields := []string{"title", "description", "max_vcpus", "topology", "cpu_mode", "max_memory_mib", "boot_order", "boot_menu"}
	if !running {
		cfgFields = append(cfgFields, "vcpus", "memory_mib")
	}
	if g.persistent && slices.ContainsFunc(cfgFields, p.changed) {
		cfg, cp := g.cfg, *p
		if running {
			// The live calls changed these in both definitions already.
			cp.applied = maps.Clone(p.applied)
			delete(cp.applied, "vcpus")
			delete(cp.applied, "memory_mib")
			doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE | libvirt.DOMAIN_XML_SECURE)
			if err != nil {
				return m.fail("read guest", name, err)
			}
			cfg = &libvirtxml.Domain{}
			if err := cfg.Unmarshal(doc); err != nil {
				return m.fail("read guest", name, err)
			}
		}
		if err := editDomain(cfg, &cp); err != nil {
			return err
		}
		if err := m.define(dom, name, cfg); err != nil {
			return err
		}
	}
	if running {
		for _, md := range []struct {
			field string
			typ   libvirt.DomainMetadataType
			value string
		}{{"title", libvirt.DOMAIN_METADATA_TITLE, p.next.Title}, {"description", libvirt.DOMAIN_METADATA_DESCRIPTION, p.next.Description}} {
			if p.changed(md.field) {
				if err := dom.SetMetadata(md.typ, md.value, "", "", libvirt.DOMAIN_AFFECT_LIVE); err != nil {
					return m.fail("set "+md.field, name, err)
				}
			}
		}
	}
	if p.changed("autostart") {
		if err := dom.SetAutostart(p.next.Autostart); err != nil {
			return m.fail("set autostart", name, err)
		}
	}
	return nil
}

// applyLive changes a running guest's vCPUs and memory, live and saved.
func (m *Manager) applyLive(dom *libvirt.Domain, name string, g *guestDocs, p *settingsPlan) error {
	both := libvirt.DOMAIN_AFFECT_LIVE
	if g.persistent {
		both |= libvirt.DOMAIN_AFFECT_CONFIG
	}
	if p.changed("vcpus") {
		err := liveAndConfig(both, func(f libvirt.DomainModificationImpact) error {
			return dom.SetVcpusFlags(uint(p.next.VCPUs), libvirt.DomainVcpuFlags(f))
		})
		if err != nil {
			return m.liveFail("vcpus", name, err)
		}
	}
	if p.dimmMiB > 0 {
		doc, err := dimmXML(p.dimmMiB)
		if err != nil {
			return m.fail("memory hot-plug", name, err)
		}
		flags := libvirt.DOMAIN_DEVICE_MODIFY_LIVE
		if g.persistent {
			flags |= libvirt.DOMAIN_DEVICE_MODIFY_CONFIG
		}
		if err := dom.AttachDeviceFlags(doc, flags); err != nil {
			return m.liveFail("memory_mib", name, err)
		}
	}
	if p.changed("memory_mib") {
		err := liveAndConfig(both, func(f libvirt.DomainModificationImpact) error {
			return dom.SetMemoryFlags(p.next.MemoryMiB<<10, libvirt.DomainMemoryModFlags(f))
		})
		if err != nil {
			return m.liveFail("memory_mib", name, err)
		}
	}
	return nil
}

// liveAndConfig calls fn with live and config together, and one after the
// other where a driver refuses the pair (libvirt's test driver does).
func liveAndConfig(flags libvirt.DomainModificationImpact, fn func(libvirt.DomainModificationImpact) error) error {
	err := fn(flags)
	if err == nil || !isUnsupportedFlags(err) || flags == libvirt.DOMAIN_AFFECT_LIVE {
		return err
	}
	if err := fn(libvirt.DOMAIN_AFFECT_LIVE); err != nil {
		return err
	}
	return fn(libvirt.DOMAIN_AFFECT_CONFIG)
}

// CodeLiveChangeFailed: the hypervisor refused a live change (a guest
// without a balloon driver, a vCPU the guest would not release).
var CodeLiveChangeFailed = fault.Define("live_change_failed", fault.Conflict)

// liveFail words a refused live change; libvirt's message names no paths.
func (m *Manager) liveFail(field, name string, err error) error {
	switch libvirtCode(err) {
	case libvirt.ERR_OPERATION_INVALID, libvirt.ERR_OPERATION_FAILED, libvirt.ERR_CONFIG_UNSUPPORTED, libvirt.ERR_INVALID_ARG,
		libvirt.ERR_OPERATION_UNSUPPORTED, libvirt.ERR_NO_SUPPORT, libvirt.ERR_OPERATION_TIMEOUT, libvirt.ERR_INTERNAL_ERROR:
		return CodeLiveChangeFailed.Wrap(err, "guest %q did not take the change of %s while running: %s", name, field, libvirtMessage(err))
	}
	return m.fail("change "+field, name, err)
}

// define saves d as the guest's configuration.
func (m *Manager) define(dom *libvirt.Domain, name string, d *libvirtxml.Domain) error {
	doc, err := d.Marshal()
	if err != nil {
		return m.fail("save guest", name, err)
	}
	c, err := m.acquire()
	if err != nil {
		return err
	}
	defer release(c)
	nd, err := c.DomainDefineXMLFlags(doc, libvirt.DOMAIN_DEFINE_VALIDATE)
	if err != nil && isUnsupportedFlags(err) {
		nd, err = c.DomainDefineXML(doc)
	}
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_XML_ERROR || libvirtCode(err) == libvirt.ERR_CONFIG_UNSUPPORTED || libvirtCode(err) == libvirt.ERR_XML_INVALID_SCHEMA {
			return CodeInvalidSettings.Wrap(err, "libvirt refused the new configuration of guest %q: %s", name, libvirtMessage(err))
		}
		return m.fail("save guest", name, err)
	}
	_ = nd.Free()
	return nil
}

// editDomain writes the plan into a configuration document.
func editDomain(d *libvirtxml.Domain, p *settingsPlan) error {
	n := p.next
	if p.changed("title") {
		d.Title = n.Title
	}
	if p.changed("description") {
		d.Description = n.Description
	}
	if p.changed("vcpus") || p.changed("max_vcpus") {
		if d.VCPU == nil {
			d.VCPU = &libvirtxml.DomainVCPU{Placement: "static"}
		}
		d.VCPU.Value, d.VCPU.Current = uint(n.MaxVCPUs), 0
		if n.VCPUs != n.MaxVCPUs {
			d.VCPU.Current = uint(n.VCPUs)
		}
		// The per-vCPU list is libvirt's to rebuild for the new counts.
		d.VCPUs = nil
	}
	if p.changed("topology") {
		if d.CPU == nil {
			d.CPU = &libvirtxml.DomainCPU{}
		}
		t := n.Topology
		d.CPU.Topology = &libvirtxml.DomainCPUTopology{Sockets: t.Sockets, Dies: 1, Cores: t.Cores, Threads: t.Threads}
	}
	if p.changed("cpu_mode") {
		if d.CPU == nil {
			d.CPU = &libvirtxml.DomainCPU{}
		}
		d.CPU.Mode, d.CPU.Match, d.CPU.Check, d.CPU.Model, d.CPU.Features = n.CPUMode, "", "", nil, nil
		if n.CPUMode == api.CPUCustom {
			d.CPU.Match = "exact"
			d.CPU.Model = &libvirtxml.DomainCPUModel{Value: n.CPUModel, Fallback: "forbid"}
		}
		if n.CPUMode == api.CPUHostPassthrough {
			d.CPU.Check = "none"
		}
	}
	if p.changed("max_memory_mib") || p.changed("memory_mib") {
		if d.CPU != nil && d.CPU.Numa != nil && len(d.CPU.Numa.Cell) > 0 && p.changed("max_memory_mib") {
			// With NUMA the total is the cells' plus the DIMMs'.
			if len(d.CPU.Numa.Cell) > 1 {
				return CodeInvalidSettings.New("guest has %d NUMA nodes; change their memory with virsh", len(d.CPU.Numa.Cell)).
					WithDetails([]fault.Detail{{Field: "max_memory_mib", Message: "set per NUMA node"}})
			}
			var dimms uint64
			if d.Devices != nil {
				for _, md := range d.Devices.Memorydevs {
					if md.Target != nil && md.Target.Size != nil {
						dimms += memMiB(uint64(md.Target.Size.Value), md.Target.Size.Unit)
					}
				}
			}
			if n.MaxMemoryMiB <= dimms {
				return CodeInvalidSettings.New("the memory devices alone hold %d MiB", dimms).
					WithDetails([]fault.Detail{{Field: "max_memory_mib", Message: fmt.Sprintf("more than the %d MiB of memory devices", dimms)}})
			}
			cell := &d.CPU.Numa.Cell[0]
			cell.Memory, cell.Unit = uint(n.MaxMemoryMiB-dimms), "MiB"
		}
		d.Memory = &libvirtxml.DomainMemory{Value: uint(n.MaxMemoryMiB), Unit: "MiB"}
		d.CurrentMemory = &libvirtxml.DomainCurrentMemory{Value: uint(n.MemoryMiB), Unit: "MiB"}
	}
	if p.changed("boot_order") || p.changed("boot_menu") {
		if d.OS == nil {
			d.OS = &libvirtxml.DomainOS{}
		}
	}
	if p.changed("boot_order") {
		d.OS.BootDevices = nil
		for _, b := range n.BootOrder {
			d.OS.BootDevices = append(d.OS.BootDevices, libvirtxml.DomainBootDevice{Dev: b})
		}
		// libvirt refuses <os><boot> beside per-device boot orders.
		if len(n.BootOrder) > 0 && d.Devices != nil {
			for i := range d.Devices.Disks {
				d.Devices.Disks[i].Boot = nil
			}
			for i := range d.Devices.Interfaces {
				d.Devices.Interfaces[i].Boot = nil
			}
			for i := range d.Devices.Hostdevs {
				d.Devices.Hostdevs[i].Boot = nil
			}
		}
	}
	if p.changed("boot_menu") {
		d.OS.BootMenu = nil
		if n.BootMenu {
			d.OS.BootMenu = &libvirtxml.DomainBootMenu{Enable: "yes"}
		}
	}
	return nil
}

// dimmXML is a DIMM of size MiB on the guest's first NUMA node.
func dimmXML(sizeMiB uint64) (string, error) {
	node := uint(0)
	md := libvirtxml.DomainMemorydev{Model: "dimm", Target: &libvirtxml.DomainMemorydevTarget{
		Size: &libvirtxml.DomainMemorydevTargetSize{Value: uint(sizeMiB), Unit: "MiB"},
		Node: &libvirtxml.DomainMemorydevTargetNode{Value: node},
	}}
	return md.Marshal()
}
