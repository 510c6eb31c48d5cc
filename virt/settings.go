// A guest's settings as the Processor & memory and Devices tabs show them:
// read from the saved configuration, with the running guest's own vCPUs and
// memory, and the host's limits they are checked against.

package virt

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// The codes of settings changes.
var (
	// CodeInvalidSettings: a field of the change is invalid; the details
	// name each, and nothing was changed.
	CodeInvalidSettings = fault.Define("settings_invalid", fault.Unprocessable)
	// CodeMustBeShutOff: a field given can change only while the guest is
	// shut off; the message names the fields.
	CodeMustBeShutOff = fault.Define("guest_must_be_shut_off", fault.Conflict)
	// CodeNoMemorySlots: memory above the maximum of a running guest
	// without memory slots (nothing to plug a DIMM into).
	CodeNoMemorySlots = fault.Define("no_memory_slots", fault.Conflict)
)

// demoCPUModels are what the test driver offers: it has no domain
// capabilities and accepts any model, as a demo should.
var demoCPUModels = []string{"Haswell-noTSX", "EPYC", "Skylake-Client", "qemu64"}

// settingsLimits caches the host's limits: domain capabilities cost a
// round trip libvirtd answers from its own cache, and every edit needs them.
type settingsLimits struct {
	mu   sync.Mutex
	at   time.Time
	lims api.VMSettingsLimits
}

const limitsTTL = time.Minute

// SettingsLimits returns the host's bounds for guest settings.
func (m *Manager) SettingsLimits(ctx context.Context) (api.VMSettingsLimits, error) {
	m.limits.mu.Lock()
	defer m.limits.mu.Unlock()
	if !m.limits.at.IsZero() && time.Since(m.limits.at) < limitsTTL {
		return cloneLimits(m.limits.lims), nil
	}
	hl, err := m.HostLimits(ctx)
	if err != nil {
		return api.VMSettingsLimits{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.VMSettingsLimits{}, err
	}
	defer release(c)
	l := api.VMSettingsLimits{MaxVCPUs: hl.MaxVCPUs, CPUModes: []string{api.CPUHostPassthrough, api.CPUHostModel}, CPUModels: []string{}}
	if ni, err := c.GetNodeInfo(); err == nil {
		l.HostMemoryMiB = ni.Memory >> 10
	}
	if strings.HasPrefix(m.cfg.URI, "test:") {
		l.CPUModels = slices.Clone(demoCPUModels)
	} else if s, err := c.GetDomainCapabilities("", "x86_64", "", "", 0); err == nil {
		var dc libvirtxml.DomainCaps
		if dc.Unmarshal(s) == nil && dc.CPU != nil {
			l.CPUModes = l.CPUModes[:0]
			for _, mode := range dc.CPU.Modes {
				if mode.Supported != "yes" {
					continue
				}
				switch mode.Name {
				case api.CPUHostPassthrough, api.CPUHostModel:
					l.CPUModes = append(l.CPUModes, mode.Name)
				case api.CPUCustom:
					for _, mo := range mode.Models {
						if mo.Usable == "yes" && !slices.Contains(l.CPUModels, mo.Name) {
							l.CPUModels = append(l.CPUModels, mo.Name)
						}
					}
				}
			}
			slices.Sort(l.CPUModels)
		}
	}
	if len(l.CPUModels) > 0 {
		l.CPUModes = append(l.CPUModes, api.CPUCustom)
	}
	l.LiveChanges = m.ConsoleCapable() == nil
	m.limits.lims, m.limits.at = l, time.Now()
	return cloneLimits(l), nil
}

func cloneLimits(l api.VMSettingsLimits) api.VMSettingsLimits {
	l.CPUModes, l.CPUModels = slices.Clone(l.CPUModes), slices.Clone(l.CPUModels)
	return l
}

// Settings returns the guest's settings.
func (m *Manager) Settings(ctx context.Context, name string) (api.VMSettings, error) {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return api.VMSettings{}, err
	}
	defer release(c)
	defer dom.Free()
	g, err := m.readGuest(dom, name)
	if err != nil {
		return api.VMSettings{}, err
	}
	return m.settingsOf(ctx, name, g)
}

// guestDocs is one guest as an edit sees it: its saved configuration (the
// live one for a transient guest) and, while it runs, its live XML, both
// with secrets (to know whether a password is set; never returned).
type guestDocs struct {
	cfg, live  *libvirtxml.Domain
	state      string
	active     bool
	persistent bool
	autostart  bool
}

func (m *Manager) readGuest(dom *libvirt.Domain, name string) (*guestDocs, error) {
	active, persistent, err := activity(dom)
	if err != nil {
		return nil, m.fail("get state", name, err)
	}
	st, _, err := dom.GetState()
	if err != nil {
		return nil, m.fail("get state", name, err)
	}
	g := &guestDocs{state: stateName(st), active: active, persistent: persistent}
	parse := func(flags libvirt.DomainXMLFlags) (*libvirtxml.Domain, error) { return m.readDomain(dom, name, flags) }
	if active {
		if g.live, err = parse(libvirt.DOMAIN_XML_SECURE); err != nil {
			return nil, err
		}
	}
	g.cfg = g.live
	if persistent {
		if g.cfg, err = parse(libvirt.DOMAIN_XML_SECURE | libvirt.DOMAIN_XML_INACTIVE); err != nil {
			return nil, err
		}
		if g.autostart, err = dom.GetAutostart(); err != nil {
			return nil, m.fail("read guest", name, err)
		}
	}
	return g, nil
}

func (m *Manager) settingsOf(ctx context.Context, name string, g *guestDocs) (api.VMSettings, error) {
	lims, err := m.SettingsLimits(ctx)
	if err != nil {
		return api.VMSettings{}, err
	}
	s := settingsFrom(g.cfg)
	s.Name, s.State, s.Persistent, s.Autostart, s.Limits = name, g.state, g.persistent, g.autostart, lims
	if g.live != nil {
		live := settingsFrom(g.live)
		s.VCPUs, s.MemoryMiB = live.VCPUs, live.MemoryMiB
		s.Pending = pendingFields(s, live)
	}
	return s, nil
}

// settingsFrom reads the settings of one domain document.
func settingsFrom(d *libvirtxml.Domain) api.VMSettings {
	s := api.VMSettings{Title: d.Title, Description: d.Description, BootOrder: []string{}}
	if d.VCPU != nil {
		s.MaxVCPUs = int(d.VCPU.Value)
		s.VCPUs = s.MaxVCPUs
		if d.VCPU.Current > 0 {
			s.VCPUs = int(d.VCPU.Current)
		}
	}
	if cpu := d.CPU; cpu != nil {
		s.CPUMode = cpu.Mode
		if s.CPUMode == "" && cpu.Model != nil && cpu.Model.Value != "" {
			s.CPUMode = api.CPUCustom
		}
		if s.CPUMode == api.CPUCustom && cpu.Model != nil {
			s.CPUModel = cpu.Model.Value
		}
		if t := cpu.Topology; t != nil {
			s.Topology = &api.Topology{Sockets: t.Sockets * max(t.Dies, 1) * max(t.Clusters, 1), Cores: t.Cores, Threads: t.Threads}
		}
	}
	if d.Memory != nil {
		s.MaxMemoryMiB = memMiB(uint64(d.Memory.Value), d.Memory.Unit)
	}
	s.MemoryMiB = s.MaxMemoryMiB
	if d.CurrentMemory != nil {
		s.MemoryMiB = memMiB(uint64(d.CurrentMemory.Value), d.CurrentMemory.Unit)
	}
	if mm := d.MaximumMemory; mm != nil {
		s.MemorySlots, s.HotplugMaxMiB = int(mm.Slots), memMiB(uint64(mm.Value), mm.Unit)
	}
	if d.OS != nil {
		for _, b := range d.OS.BootDevices {
			s.BootOrder = append(s.BootOrder, b.Dev)
		}
		s.BootMenu = d.OS.BootMenu != nil && d.OS.BootMenu.Enable == "yes"
	}
	s.Graphics = graphicsFrom(d)
	s.Serial = hasSerial(d)
	return s
}

// graphicsFrom describes the first VNC or SPICE display, without its password.
func graphicsFrom(d *libvirtxml.Domain) api.VMGraphics {
	out := api.VMGraphics{Type: "none"}
	i := displayIndex(d)
	if i < 0 {
		return out
	}
	g := d.Devices.Graphics[i]
	var listen, keymap, passwd, validTo string
	var listeners []libvirtxml.DomainGraphicListener
	if v := g.VNC; v != nil {
		out.Type, listen, keymap, passwd, validTo, listeners = "vnc", v.Listen, v.Keymap, v.Passwd, v.PasswdValidTo, v.Listeners
	} else {
		v := g.Spice
		out.Type, listen, keymap, passwd, validTo, listeners = "spice", v.Listen, v.Keymap, v.Passwd, v.PasswdValidTo, v.Listeners
	}
	for _, l := range listeners {
		if listen == "" && l.Address != nil {
			listen = l.Address.Address
		}
	}
	out.Listen, out.Keymap, out.PasswordSet = listen, keymap, passwd != ""
	if t, err := time.Parse("2006-01-02T15:04:05", validTo); err == nil && passwd != "" {
		out.PasswordValidTo = &t
	}
	return out
}

// displayIndex is the index of the first VNC or SPICE display, or -1.
func displayIndex(d *libvirtxml.Domain) int {
	if d.Devices == nil {
		return -1
	}
	for i, g := range d.Devices.Graphics {
		if g.VNC != nil || g.Spice != nil {
			return i
		}
	}
	return -1
}

// pendingFields names what the saved configuration changes at next boot.
func pendingFields(cfg, live api.VMSettings) []string {
	var out []string
	add := func(field string, differs bool) {
		if differs {
			out = append(out, field)
		}
	}
	add("max_vcpus", cfg.MaxVCPUs != live.MaxVCPUs)
	add("topology", !sameTopology(cfg.Topology, live.Topology))
	add("cpu_mode", cfg.CPUMode != live.CPUMode || cfg.CPUModel != live.CPUModel)
	add("max_memory_mib", cfg.MaxMemoryMiB != live.MaxMemoryMiB)
	add("boot_order", !slices.Equal(cfg.BootOrder, live.BootOrder))
	add("boot_menu", cfg.BootMenu != live.BootMenu)
	lg, cg := live.Graphics, cfg.Graphics
	add("graphics.type", cg.Type != lg.Type)
	add("graphics.listen", cg.Type == lg.Type && cg.Listen != lg.Listen)
	add("graphics.keymap", cg.Type == lg.Type && cg.Keymap != lg.Keymap)
	add("serial", cfg.Serial != live.Serial)
	return out
}

func sameTopology(a, b *api.Topology) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
