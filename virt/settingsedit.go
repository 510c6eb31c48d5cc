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
	"strings"
	"unicode"
	"unicode/utf8"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Bounds of the identity fields: both live in the domain XML.
const (
	MaxTitleLen       = 256
	MaxDescriptionLen = 4096
)

// settingsPlan is a validated change: the settings to reach and, per
// field, where it takes effect.
type settingsPlan struct {
	next    api.VMSettings
	applied map[string]string
	rename  string
	dimmMiB uint64 // memory to plug live as a DIMM
}

func (p *settingsPlan) changed(f string) bool { _, ok := p.applied[f]; return ok }

// planSettings checks u against the guest and the host. cur is the saved
// configuration's settings, live the running guest's (nil: shut off).
func planSettings(name string, cur api.VMSettings, live *api.VMSettings, persistent bool, u api.VMUpdate, lims api.VMSettingsLimits) (*settingsPlan, error) {
	p := &settingsPlan{next: cur, applied: map[string]string{}}
	n := &p.next
	if live != nil {
		// What a running guest changes live starts from its own values.
		n.VCPUs, n.MemoryMiB = live.VCPUs, live.MemoryMiB
	}
	var det []fault.Detail
	bad := func(field, format string, a ...any) {
		det = append(det, fault.Detail{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	var needOff []string
	// set records a field that differs from now; offline fields of a
	// running guest need it shut off, boot-time ones wait for the boot.
	set := func(field string, differs bool, kind string) {
		if !differs {
			return
		}
		switch {
		case live == nil || kind == api.AppliesNow:
			p.applied[field] = api.AppliesNow
		case kind == "off":
			needOff = append(needOff, field)
		default:
			p.applied[field] = api.AppliesNextBoot
		}
	}

	if u.Name != nil && *u.Name != name {
		if err := ValidateName(*u.Name); err != nil {
			bad("name", "%s", fault.As(err).Message)
		}
		p.rename = *u.Name
		set("name", true, "off")
	}
	if u.Title != nil {
		if msg := checkText(*u.Title, MaxTitleLen, false); msg != "" {
			bad("title", "%s", msg)
		}
		set("title", *u.Title != cur.Title, api.AppliesNow)
		n.Title = *u.Title
	}
	if u.Description != nil {
		if msg := checkText(*u.Description, MaxDescriptionLen, true); msg != "" {
			bad("description", "%s", msg)
		}
		set("description", *u.Description != cur.Description, api.AppliesNow)
		n.Description = *u.Description
	}
	if u.Autostart != nil {
		if !persistent && *u.Autostart {
			bad("autostart", "a transient guest cannot start with the host")
		}
		set("autostart", *u.Autostart != cur.Autostart, api.AppliesNow)
		n.Autostart = *u.Autostart
	}

	// Processor.
	maxCap := min(lims.MaxVCPUs, MaxGuestVCPUs)
	if u.MaxVCPUs != nil {
		if *u.MaxVCPUs < 1 || *u.MaxVCPUs > maxCap {
			bad("max_vcpus", "from 1 to %d (this host's limit)", maxCap)
		}
		set("max_vcpus", *u.MaxVCPUs != cur.MaxVCPUs, "off")
		n.MaxVCPUs = *u.MaxVCPUs
	}
	if u.VCPUs != nil {
		switch {
		case *u.VCPUs < 1:
			bad("vcpus", "at least 1")
		case *u.VCPUs > n.MaxVCPUs:
			bad("vcpus", "%d is more than the maximum of %d vCPUs", *u.VCPUs, n.MaxVCPUs)
		}
		from := cur.VCPUs
		if live != nil {
			from = live.VCPUs
		}
		set("vcpus", *u.VCPUs != from || *u.VCPUs != cur.VCPUs, api.AppliesNow)
		n.VCPUs = *u.VCPUs
	} else if n.VCPUs > n.MaxVCPUs {
		n.VCPUs = n.MaxVCPUs
		set("vcpus", true, api.AppliesNow)
	}
	switch t := u.Topology; {
	case t != nil:
		switch {
		case t.Sockets < 1 || t.Cores < 1 || t.Threads < 1:
			bad("topology", "sockets, cores and threads must each be at least 1")
		case t.Sockets*t.Cores*t.Threads != n.MaxVCPUs:
			bad("topology", "%d sockets × %d cores × %d threads is %d, not the maximum of %d vCPUs",
				t.Sockets, t.Cores, t.Threads, t.Sockets*t.Cores*t.Threads, n.MaxVCPUs)
		}
		tt := *t
		set("topology", !sameTopology(&tt, cur.Topology), "off")
		n.Topology = &tt
	case cur.Topology != nil && n.MaxVCPUs != cur.MaxVCPUs:
		// A topology of sockets alone follows the maximum; any other must be given.
		if ct := cur.Topology; ct.Cores <= 1 && ct.Threads <= 1 {
			n.Topology = &api.Topology{Sockets: n.MaxVCPUs, Cores: 1, Threads: 1}
			set("topology", true, "off")
		} else {
			bad("topology", "the topology %d×%d×%d does not make %d vCPUs; give one that does", ct.Sockets, ct.Cores, ct.Threads, n.MaxVCPUs)
		}
	}
	if u.CPUMode != nil || u.CPUModel != nil {
		mode, model := cur.CPUMode, cur.CPUModel
		if u.CPUMode != nil {
			mode = *u.CPUMode
		}
		if u.CPUModel != nil {
			model = *u.CPUModel
			if u.CPUMode == nil && model != "" {
				mode = api.CPUCustom
			}
		}
		if mode != api.CPUCustom {
			model = ""
		}
		switch {
		case !slices.Contains(lims.CPUModes, mode):
			bad("cpu_mode", "one of %s on this host", strings.Join(lims.CPUModes, ", "))
		case mode == api.CPUCustom && !slices.Contains(lims.CPUModels, model):
			bad("cpu_model", "a CPU model this host can run (see limits.cpu_models)")
		}
		set("cpu_mode", mode != cur.CPUMode || model != cur.CPUModel, "off")
		n.CPUMode, n.CPUModel = mode, model
	}

	// Memory.
	if u.MaxMemoryMiB != nil {
		switch v := *u.MaxMemoryMiB; {
		case v < MinGuestMemMiB:
			bad("max_memory_mib", "at least %d MiB", MinGuestMemMiB)
		case lims.HostMemoryMiB > 0 && v > lims.HostMemoryMiB:
			bad("max_memory_mib", "at most the host's %d MiB", lims.HostMemoryMiB)
		case v > MaxGuestMemMiB:
			bad("max_memory_mib", "at most %d MiB", MaxGuestMemMiB)
		}
		set("max_memory_mib", *u.MaxMemoryMiB != cur.MaxMemoryMiB, "off")
		n.MaxMemoryMiB = *u.MaxMemoryMiB
	}
	if u.MemoryMiB != nil {
		v := *u.MemoryMiB
		from := cur.MemoryMiB
		if live != nil {
			from = live.MemoryMiB
		}
		ceiling := n.MaxMemoryMiB
		plug := live != nil && v > live.MaxMemoryMiB
		if plug {
			// Past a running guest's maximum only memory slots help: up to
			// their bound, or not at all (409 below).
			ceiling = max(cur.HotplugMaxMiB, v)
			if cur.MemorySlots > 0 {
				ceiling = cur.HotplugMaxMiB
			}
		}
		switch {
		case v < MinGuestMemMiB:
			bad("memory_mib", "at least %d MiB", MinGuestMemMiB)
		case lims.HostMemoryMiB > 0 && v > lims.HostMemoryMiB:
			bad("memory_mib", "at most the host's %d MiB", lims.HostMemoryMiB)
		case v > ceiling:
			bad("memory_mib", "%d MiB is more than the maximum of %d MiB", v, ceiling)
		}
		// A balloon short of its target still counts as changed: the
		// saved value and the target are what is asked for again.
		set("memory_mib", v != from || v != cur.MemoryMiB, api.AppliesNow)
		n.MemoryMiB = v
		if plug && v <= ceiling {
			if cur.MemorySlots == 0 {
				needOff = append(needOff, "memory_mib")
			}
			p.dimmMiB = v - live.MaxMemoryMiB
			n.MaxMemoryMiB = v
		}
	} else if n.MemoryMiB > n.MaxMemoryMiB {
		n.MemoryMiB = n.MaxMemoryMiB
		set("memory_mib", true, api.AppliesNow)
	}

	// Boot.
	if u.BootOrder != nil {
		order := *u.BootOrder
		for i, b := range order {
			if !slices.Contains(BootDevices, b) || slices.Index(order, b) != i {
				bad(fmt.Sprintf("boot_order[%d]", i), "each of %s at most once", strings.Join(BootDevices, ", "))
			}
		}
		set("boot_order", !slices.Equal(order, cur.BootOrder), "boot")
		n.BootOrder = slices.Clone(order)
	}
	if u.BootMenu != nil {
		set("boot_menu", *u.BootMenu != cur.BootMenu, "boot")
		n.BootMenu = *u.BootMenu
	}

	if len(det) > 0 {
		return nil, CodeInvalidSettings.New("the settings cannot be changed as asked; nothing was changed").WithDetails(det)
	}
	if len(needOff) > 0 {
		if slices.Contains(needOff, "memory_mib") {
			return nil, CodeNoMemorySlots.New("guest %q is running and has no memory slots: memory above its maximum of %d MiB needs it shut off; nothing was changed", name, live.MaxMemoryMiB)
		}
		return nil, CodeMustBeShutOff.New("guest %q is running; %s can change only while it is shut off; nothing was changed", name, strings.Join(needOff, ", "))
	}
	if !persistent && slices.Contains(slices.Collect(maps.Values(p.applied)), api.AppliesNextBoot) {
		return nil, CodeGuestState.New("guest %q is transient: it has no saved configuration for the next boot", name)
	}
	return p, nil
}

// checkText says what is wrong with a title or description, or "".
func checkText(s string, maxLen int, multiline bool) string {
	if len(s) > maxLen {
		return fmt.Sprintf("at most %d bytes", maxLen)
	}
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for _, r := range s {
		if (r == '\n' || r == '\t') && multiline {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			if multiline {
				return "no control characters other than newlines and tabs"
			}
			return "one line without control characters"
		}
	}
	return ""
}

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
