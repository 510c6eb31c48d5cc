package virt

import (
	"errors"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// CodeDeviceRefused: the hypervisor refused a device change; its message says why.
var CodeDeviceRefused = fault.Define("device_change_refused", fault.Conflict)

// CodeHotplugUnsupported: the running guest's bus takes no hot-plugged device.
var CodeHotplugUnsupported = fault.Define("guest_hotplug_unsupported", fault.Conflict)

// devOp is a device operation of libvirt.
type devOp int

const (
	devAttach devOp = iota
	devDetach
	devUpdate
)

func (op devOp) run(dom *libvirt.Domain, doc string, flags libvirt.DomainDeviceModifyFlags) error {
	switch op {
	case devAttach:
		return dom.AttachDeviceFlags(doc, flags)
	case devDetach:
		return dom.DetachDeviceFlags(doc, flags)
	}
	return dom.UpdateDeviceFlags(doc, flags)
}

// changeDevice applies op to a guest: live and saved together on a
// running persistent guest (liveDoc and cfgDoc: the device as each
// definition has it; "" where it is absent), saved only on a shut-off one.
// Where the driver cannot change a running guest (the test driver) the
// saved definition alone changes and the answer is next_boot. mutate
// applies the same change to a definition, for drivers without the
// device calls.
func (m *Manager) changeDevice(g *guestDoc, op devOp, liveDoc, cfgDoc string, mutate func(*libvirtxml.Domain) error) (string, error) {
	if g.active && liveDoc != "" {
		flags := libvirt.DOMAIN_DEVICE_MODIFY_LIVE
		both := g.persistent && cfgDoc == liveDoc
		if both {
			flags |= libvirt.DOMAIN_DEVICE_MODIFY_CONFIG
		}
		err := op.run(g.dom, liveDoc, flags)
		switch {
		case err == nil:
			if !both && g.persistent && cfgDoc != "" {
				if err := m.configDevice(g, op, cfgDoc, mutate); err != nil {
					return "", err
				}
			}
			m.touched(g)
			if op == devDetach && m.stillLive(g, liveDoc) {
				// The guest was asked to release it and has not yet:
				// it is gone from the saved definition, and at the
				// latest at the next boot.
				return api.AppliesNextBoot, nil
			}
			return api.AppliesNow, nil
		case libvirtCode(err) != libvirt.ERR_NO_SUPPORT || !g.persistent:
			return "", m.deviceFail("change device", g.name, err)
		}
	}
	if cfgDoc != "" {
		if err := m.configDevice(g, op, cfgDoc, mutate); err != nil {
			return "", err
		}
	}
	m.touched(g)
	if g.active {
		return api.AppliesNextBoot, nil
	}
	return api.AppliesNow, nil
}

// configDevice changes the saved definition: the device call, or for a
// driver without it a rewrite of the definition through libvirtxml.
func (m *Manager) configDevice(g *guestDoc, op devOp, doc string, mutate func(*libvirtxml.Domain) error) error {
	err := op.run(g.dom, doc, libvirt.DOMAIN_DEVICE_MODIFY_CONFIG)
	if err == nil {
		return nil
	}
	if libvirtCode(err) != libvirt.ERR_NO_SUPPORT {
		return m.deviceFail("change device", g.name, err)
	}
	d := *g.cfg
	devs := *g.cfg.Devices
	d.Devices = &devs
	if err := mutate(&d); err != nil {
		return err
	}
	out, err := d.Marshal()
	if err != nil {
		return fault.Internalf(err)
	}
	nd, err := g.c.DomainDefineXML(out)
	if err != nil {
		return m.deviceFail("redefine guest", g.name, err)
	}
	_ = nd.Free()
	return nil
}

// deviceFail keeps libvirt's reason for a refused device change, which
// names no host paths for NICs and helps the user (a model QEMU lacks, a
// bus that cannot hot-plug).
func (m *Manager) deviceFail(op, name string, err error) error {
	var le libvirt.Error
	if errors.As(err, &le) && le.Code == libvirt.ERR_INTERNAL_ERROR && le.Domain == libvirt.FROM_QEMU && strings.Contains(le.Message, "hotplug") {
		// QEMU: "Bus 'pci.0' does not support hotplugging" (a guest without ACPI).
		return CodeHotplugUnsupported.Wrap(err, "the guest's bus cannot hot-plug devices (a guest without ACPI cannot); shut the guest off to change it")
	}
	switch libvirtCode(err) {
	case libvirt.ERR_OPERATION_UNSUPPORTED, libvirt.ERR_CONFIG_UNSUPPORTED, libvirt.ERR_OPERATION_FAILED,
		libvirt.ERR_INVALID_ARG, libvirt.ERR_XML_ERROR:
		return CodeDeviceRefused.Wrap(err, "%s", le.Message)
	}
	return m.fail(op, name, err)
}

// stillLive reports whether a detached NIC or host device is still in the
// live guest (its OS has not released it yet).
func (m *Manager) stillLive(g *guestDoc, doc string) bool {
	x, err := g.dom.GetXMLDesc(0)
	if err != nil {
		return false
	}
	var d libvirtxml.Domain
	if d.Unmarshal(x) != nil || d.Devices == nil {
		return false
	}
	var ifc libvirtxml.DomainInterface
	if ifc.Unmarshal(doc) == nil && ifc.MAC != nil {
		return findNIC(&d, ifc.MAC.Address) >= 0
	}
	var h libvirtxml.DomainHostdev
	if h.Unmarshal(doc) != nil {
		return false
	}
	want, ok := hostdevOf(h)
	if !ok {
		return false
	}
	for _, x := range d.Devices.Hostdevs {
		if got, ok := hostdevOf(x); ok && got.ID == want.ID {
			return true
		}
	}
	return false
}

// touched brings the index up to date after an edit (MACs, networks).
func (m *Manager) touched(g *guestDoc) {
	if err := m.refreshDom(g.dom, g.name, refreshFull); err != nil {
		m.log.Warn("refresh after a device change failed", "guest", g.name, "err", err)
	}
}
