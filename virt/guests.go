package virt

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// describeState puts a state into words for conflict messages.
func describeState(s string) string {
	switch s {
	case api.StateRunning:
		return "running"
	case api.StateBlocked:
		return "blocked"
	case api.StatePaused:
		return "paused"
	case api.StateShutdown:
		return "shutting down"
	case api.StateShutoff:
		return "shut off"
	case api.StateCrashed:
		return "crashed"
	case api.StateSuspended:
		return "suspended by its guest OS"
	}
	return "in an unknown state"
}

// checkAction says whether action fits the guest's state. active matters
// for "crashed": a guest preserved after a crash still holds its resources
// and must be powered off before it can start again.
func checkAction(name, action, state string, active bool) error {
	running := state == api.StateRunning || state == api.StateBlocked
	off := state == api.StateShutoff || (state == api.StateCrashed && !active)
	is := func(hint string) error {
		msg := fmt.Sprintf("guest %q is %s", name, describeState(state))
		if state == api.StateCrashed && active {
			msg = fmt.Sprintf("guest %q crashed and still holds its resources", name)
		}
		if hint != "" {
			msg += "; " + hint
		}
		return stateCode(state, active).New("%s", msg)
	}
	switch action {
	case "start":
		switch {
		case off:
			return nil
		case running:
			return CodeGuestRunning.New("guest %q is already running", name)
		case state == api.StatePaused:
			return is("use resume")
		}
		return is("power it off first")
	case "shutdown":
		switch {
		case running:
			return nil
		case off:
			return CodeGuestNotRunning.New("guest %q is already shut off", name)
		case state == api.StateShutdown:
			return CodeGuestShuttingDown.New("guest %q is already shutting down", name)
		case state == api.StatePaused:
			return is("resume it first, or power it off")
		}
		return is("power it off instead")
	case "poweroff":
		if off {
			return CodeGuestNotRunning.New("guest %q is already shut off", name)
		}
		if state == api.StateUnknown {
			return is("")
		}
		return nil
	case "reboot":
		if running {
			return nil
		}
		return is("only a running guest can be rebooted")
	case "reset":
		if running || state == api.StatePaused {
			return nil
		}
		return is("only a running or paused guest can be reset")
	case "suspend":
		switch {
		case running:
			return nil
		case state == api.StatePaused:
			return CodeGuestPaused.New("guest %q is already paused", name)
		}
		return is("only a running guest can be suspended")
	case "resume":
		switch {
		case state == api.StatePaused:
			return nil
		case running:
			return CodeGuestNotPaused.New("guest %q is not paused; it is already running", name)
		}
		return is("only a paused guest can be resumed")
	}
	return CodeUnknownAction.New("unknown action %q; use one of %s", action, strings.Join(api.VMActions, ", "))
}

// lookup validates name and finds the guest on a connection the caller
// releases; the caller frees the domain.
func (m *Manager) lookup(ctx context.Context, name string) (*libvirt.Connect, *libvirt.Domain, error) {
	if err := ValidateName(name); err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	c, err := m.acquire()
	if err != nil {
		return nil, nil, err
	}
	dom, err := c.LookupDomainByName(name)
	if err != nil {
		release(c)
		if libvirtCode(err) == libvirt.ERR_NO_DOMAIN {
			// The index may still list it if the event is on its way.
			m.enqueue(name, refreshFull)
		}
		return nil, nil, m.fail("lookup guest", name, err)
	}
	return c, dom, nil
}

// Action runs a power action (one of api.VMActions) and returns the guest
// as it is afterwards.
func (m *Manager) Action(ctx context.Context, name, action string) (api.VM, error) {
	if err := ValidateName(name); err != nil {
		return api.VM{}, err
	}
	if !slices.Contains(api.VMActions, action) {
		return api.VM{}, CodeUnknownAction.New("unknown action %q; use one of %s", action, strings.Join(api.VMActions, ", "))
	}
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return api.VM{}, err
	}
	defer release(c)
	defer dom.Free()

	st, _, err := dom.GetState()
	if err != nil {
		return api.VM{}, m.fail("get state", name, err)
	}
	state := stateName(st)
	active := state != api.StateShutoff
	if state == api.StateCrashed {
		if active, err = dom.IsActive(); err != nil {
			return api.VM{}, m.fail("get state", name, err)
		}
	}
	if cerr := checkAction(name, action, state, active); cerr != nil {
		// The index may disagree with what libvirt just said.
		m.enqueue(name, refreshFull)
		return api.VM{}, cerr
	}
	before, _, _ := m.vm(name)

	switch action {
	case "start":
		err = dom.Create()
	case "shutdown":
		err = dom.ShutdownFlags(libvirt.DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
		if err != nil && isUnsupportedFlags(err) {
			err = dom.Shutdown()
		}
	case "poweroff":
		err = dom.Destroy()
	case "reboot":
		err = dom.Reboot(libvirt.DOMAIN_REBOOT_ACPI_POWER_BTN)
		if err != nil && isUnsupportedFlags(err) {
			err = dom.Reboot(0)
		}
	case "reset":
		err = dom.Reset(0)
	case "suspend":
		err = dom.Suspend()
	case "resume":
		err = dom.Resume()
	}
	if err != nil {
		m.enqueue(name, refreshFull)
		return api.VM{}, m.fail(action, name, err)
	}

	// Synchronously, so the answer and the next List agree with libvirt;
	// the events that follow find nothing new.
	if err := m.refreshDom(dom, name, refreshFull); err != nil {
		m.log.Warn("refresh after action failed", "guest", name, "action", action, "err", err)
	}
	vm, _, ok := m.vm(name)
	if !ok {
		// A transient guest is gone once powered off.
		vm = before
		vm.Name = name
		vm.State = api.StateShutoff
		zeroRates(&vm)
	}
	return vm, nil
}

// deletable refuses a running persistent guest (a transient one is deleted
// by destroying it) and says whether the guest is persistent.
func (m *Manager) deletable(dom *libvirt.Domain, name string) (persistent bool, err error) {
	st, _, err := dom.GetState()
	if err != nil {
		return false, m.fail("get state", name, err)
	}
	active, persistent, err := activity(dom)
	if err != nil {
		return false, m.fail("get state", name, err)
	}
	if active && persistent {
		return false, stateCode(stateName(st), active).New("guest %q is %s; power it off first", name, describeState(stateName(st)))
	}
	return persistent, nil
}

// Delete removes a guest that is not running: undefines it with its
// managed save, snapshot and checkpoint metadata and NVRAM, and with
// volumes also deletes the storage volumes of its disks (not CD-ROMs). A
// running transient guest is destroyed, which is its deletion.
func (m *Manager) Delete(ctx context.Context, name string, volumes bool) error {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return err
	}
	defer release(c)
	defer dom.Free()
	persistent, err := m.deletable(dom, name)
	if err != nil {
		return err
	}

	var vols []diskVolume
	defer func() {
		for _, v := range vols {
			_ = v.vol.Free()
		}
	}()
	if volumes {
		if vols, err = m.guestVolumes(c, dom, name, persistent); err != nil {
			return err
		}
		if err := m.checkVolumesUnshared(name, vols); err != nil {
			return err
		}
	}

	if persistent {
		err = undefineAll(dom)
	} else {
		err = dom.Destroy()
	}
	if err != nil {
		m.enqueue(name, refreshFull)
		return m.fail("delete guest", name, err)
	}
	if err := m.refresh(name, refreshFull); err != nil {
		m.log.Warn("refresh after delete failed", "guest", name, "err", err)
	}

	var failed []string
	for _, v := range vols {
		if err := v.vol.Delete(0); err != nil {
			m.log.Error("volume delete failed", "guest", name, "volume", v.label, "err", err)
			failed = append(failed, fmt.Sprintf("%q", v.label))
		}
	}
	if len(failed) > 0 {
		noun := "volume"
		if len(failed) > 1 {
			noun = "volumes"
		}
		return CodeVolumeDeleteFailed.New("guest %q was deleted, but its %s %s could not be removed", name, noun, strings.Join(failed, ", "))
	}
	return nil
}

// undefineAll undefines with every cleanup flag the driver accepts: drivers
// refuse flags they do not know (the test driver refuses NVRAM and
// checkpoints), and the flags matter where they are known.
func undefineAll(dom *libvirt.Domain) error {
	all := libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE | libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
		libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | libvirt.DOMAIN_UNDEFINE_NVRAM
	var err error
	for _, flags := range []libvirt.DomainUndefineFlagsValues{
		all,
		all &^ libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
		all &^ (libvirt.DOMAIN_UNDEFINE_CHECKPOINTS_METADATA | libvirt.DOMAIN_UNDEFINE_NVRAM),
		libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE,
	} {
		if err = dom.UndefineFlags(flags); err == nil || !isUnsupportedFlags(err) {
			return err
		}
	}
	if err = dom.Undefine(); err != nil {
		return err
	}
	return nil
}

// activity reports whether dom runs and whether it has a persistent definition.
func activity(dom *libvirt.Domain) (active, persistent bool, err error) {
	if active, err = dom.IsActive(); err != nil {
		return false, false, err
	}
	persistent, err = dom.IsPersistent()
	return active, persistent, err
}

// Get returns one guest with its devices: the listed fields from the index
// and one GetXMLDesc for the rest.
func (m *Manager) Get(ctx context.Context, name string) (api.VMDetail, error) {
	if err := ValidateName(name); err != nil {
		return api.VMDetail{}, err
	}
	if !m.Exists(name) {
		if err := m.Ready(); err != nil {
			return api.VMDetail{}, err
		}
		return api.VMDetail{}, GuestNotFound(name)
	}
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return api.VMDetail{}, err
	}
	defer release(c)
	defer dom.Free()
	doc, err := dom.GetXMLDesc(0)
	if err != nil {
		return api.VMDetail{}, m.fail("read guest", name, err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return api.VMDetail{}, m.fail("read guest", name, err)
	}
	vm, maxMem, ok := m.vm(name)
	if !ok {
		// Removed between the check and the read: libvirt just answered,
		// so the index is behind; have it catch up.
		if err := m.refreshDom(dom, name, refreshFull); err != nil {
			return api.VMDetail{}, m.fail("read guest", name, err)
		}
		if vm, maxMem, ok = m.vm(name); !ok {
			return api.VMDetail{}, GuestNotFound(name)
		}
	}
	out := api.VMDetail{VM: vm, Description: d.Description, MaxMemMiB: maxMem, Devices: devicesOf(&d)}
	if d.OS != nil && d.OS.Type != nil {
		out.OSType = d.OS.Type.Type
		out.Machine = d.OS.Type.Machine
	}
	return out, nil
}
