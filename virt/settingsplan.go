// Checking a change of a guest's processor, memory, identity and boot
// settings before anything is touched: the plan says what to reach and,
// per field, whether it applies now or at the next boot.

package virt

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

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
