package virt

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// The error codes of host device passthrough.
var (
	CodeIOMMUOff          = fault.Define("iommu_off", fault.Conflict)
	CodeHostDevNotFound   = fault.Define("hostdev_not_found", fault.NotFound)
	CodeHostDevInUse      = fault.Define("hostdev_in_use", fault.Conflict)
	CodeHostDevKind       = fault.Define("hostdev_unsupported_kind", fault.Invalid)
	CodeInvalidHostDev    = fault.Define("invalid_hostdev", fault.Invalid)
	CodeGuestHostDevNotOn = fault.Define("guest_hostdev_not_found", fault.NotFound)
)

// nodeDevNameRE is a node device name as libvirt makes them.
var nodeDevNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$`)

// hostDevIDRE is an id of a guest's host device (see api.GuestHostDev).
var hostDevIDRE = regexp.MustCompile(`^(pci_[0-9a-f]{4}_[0-9a-f]{2}_[0-9a-f]{2}_[0-7]|usb_[0-9a-f]{4}_[0-9a-f]{4}|usbaddr_[0-9]{1,3}_[0-9]{1,3})$`)

func pciID(dom, bus, slot, fn uint) string {
	return fmt.Sprintf("pci_%04x_%02x_%02x_%x", dom, bus, slot, fn)
}

func pciAddr(dom, bus, slot, fn uint) string {
	return fmt.Sprintf("%04x:%02x:%02x.%x", dom, bus, slot, fn)
}

// hexID reads "0x046d" (or "046d") as a 16-bit id.
func hexID(s string) (uint64, bool) {
	v, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(s), "0x"), 16, 16)
	return v, err == nil
}

func u(p *uint) uint {
	if p == nil {
		return 0
	}
	return *p
}

// hostdevOf describes a guest's <hostdev>, or ok false for kinds the
// portal does not pass through (SCSI, mediated devices).
func hostdevOf(h libvirtxml.DomainHostdev) (api.GuestHostDev, bool) {
	switch {
	case h.SubsysPCI != nil && h.SubsysPCI.Source != nil && h.SubsysPCI.Source.Address != nil:
		a := h.SubsysPCI.Source.Address
		return api.GuestHostDev{ID: pciID(u(a.Domain), u(a.Bus), u(a.Slot), u(a.Function)), Kind: "pci",
			Label: "PCI " + pciAddr(u(a.Domain), u(a.Bus), u(a.Slot), u(a.Function))}, true
	case h.SubsysUSB != nil && h.SubsysUSB.Source != nil:
		s := h.SubsysUSB.Source
		if s.Vendor != nil && s.Product != nil {
			v, ok1 := hexID(s.Vendor.ID)
			p, ok2 := hexID(s.Product.ID)
			if ok1 && ok2 {
				return api.GuestHostDev{ID: fmt.Sprintf("usb_%04x_%04x", v, p), Kind: "usb", Label: fmt.Sprintf("USB %04x:%04x", v, p)}, true
			}
		}
		if s.Address != nil {
			return api.GuestHostDev{ID: fmt.Sprintf("usbaddr_%d_%d", u(s.Address.Bus), u(s.Address.Device)), Kind: "usb",
				Label: fmt.Sprintf("USB bus %d device %d", u(s.Address.Bus), u(s.Address.Device))}, true
		}
	}
	return api.GuestHostDev{}, false
}

// hostDevice summarises a PCI or USB node device; ok false for others.
func hostDevice(d *libvirtxml.NodeDevice) (api.HostDevice, []string, bool) {
	out := api.HostDevice{Name: d.Name, UsedBy: []string{}}
	if d.Driver != nil {
		out.Driver = d.Driver.Name
	}
	switch {
	case d.Capability.PCI != nil:
		p := d.Capability.PCI
		out.Kind, out.Class = "pci", p.Class
		out.Address = pciAddr(u(p.Domain), u(p.Bus), u(p.Slot), u(p.Function))
		out.VendorID, out.Vendor, out.ProductID, out.Product = p.Vendor.ID, p.Vendor.Name, p.Product.ID, p.Product.Name
		if p.IOMMUGroup != nil {
			n := p.IOMMUGroup.Number
			out.IOMMUGroup = &n
		}
		return out, []string{pciID(u(p.Domain), u(p.Bus), u(p.Slot), u(p.Function))}, true
	case d.Capability.USBDevice != nil:
		p := d.Capability.USBDevice
		out.Kind = "usb"
		out.Address = fmt.Sprintf("bus %03d device %03d", p.Bus, p.Device)
		out.VendorID, out.Vendor, out.ProductID, out.Product = p.Vendor.ID, p.Vendor.Name, p.Product.ID, p.Product.Name
		ids := []string{fmt.Sprintf("usbaddr_%d_%d", p.Bus, p.Device)}
		v, ok1 := hexID(p.Vendor.ID)
		pr, ok2 := hexID(p.Product.ID)
		if ok1 && ok2 {
			ids = append(ids, fmt.Sprintf("usb_%04x_%04x", v, pr))
		}
		return out, ids, true
	}
	return out, nil, false
}

// hostdevUsers maps host device ids to the guests passing them through,
// from every guest's live and saved definitions (one bulk read).
func (m *Manager) hostdevUsers(c *libvirt.Connect) (map[string][]string, error) {
	doms, err := c.ListAllDomains(0)
	if err != nil {
		return nil, m.fail("list guests", "", err)
	}
	users := map[string][]string{}
	for _, dom := range doms {
		name, _ := dom.GetName()
		for _, flags := range []libvirt.DomainXMLFlags{0, libvirt.DOMAIN_XML_INACTIVE} {
			doc, err := dom.GetXMLDesc(flags)
			if err != nil {
				continue
			}
			var d libvirtxml.Domain
			if d.Unmarshal(doc) != nil || d.Devices == nil {
				continue
			}
			for _, h := range d.Devices.Hostdevs {
				if x, ok := hostdevOf(h); ok && !slices.Contains(users[x.ID], name) {
					users[x.ID] = append(users[x.ID], name)
				}
			}
		}
		_ = dom.Free()
	}
	return users, nil
}

// HostDevices lists the host's PCI and USB devices with the guests using each.
func (m *Manager) HostDevices(ctx context.Context) (api.HostDeviceList, error) {
	if err := ctx.Err(); err != nil {
		return api.HostDeviceList{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.HostDeviceList{}, err
	}
	defer release(c)
	devs, err := c.ListAllNodeDevices(0)
	if err != nil {
		return api.HostDeviceList{}, m.fail("list host devices", "", err)
	}
	users, err := m.hostdevUsers(c)
	if err != nil {
		for _, d := range devs {
			_ = d.Free()
		}
		return api.HostDeviceList{}, err
	}
	out := api.HostDeviceList{Items: []api.HostDevice{}}
	for _, d := range devs {
		doc, err := d.GetXMLDesc(0)
		_ = d.Free()
		if err != nil {
			continue // unplugged meanwhile
		}
		var x libvirtxml.NodeDevice
		if x.Unmarshal(doc) != nil {
			continue
		}
		h, ids, ok := hostDevice(&x)
		if !ok {
			continue
		}
		for _, id := range ids {
			for _, g := range users[id] {
				if !slices.Contains(h.UsedBy, g) {
					h.UsedBy = append(h.UsedBy, g)
				}
			}
		}
		if h.IOMMUGroup != nil {
			out.IOMMU = true
		}
		out.Items = append(out.Items, h)
	}
	slices.SortFunc(out.Items, func(a, b api.HostDevice) int {
		if a.Kind != b.Kind {
			return strings.Compare(a.Kind, b.Kind)
		}
		return strings.Compare(a.Address, b.Address)
	})
	return out, nil
}

// GuestHostDevices lists the host devices passed through to a guest.
func (m *Manager) GuestHostDevices(ctx context.Context, name string) (api.GuestHostDevList, error) {
	g, err := m.openGuest(ctx, name)
	if err != nil {
		return api.GuestHostDevList{}, err
	}
	defer g.close()
	out := api.GuestHostDevList{Items: []api.GuestHostDev{}, Running: g.active, Live: !m.isTestDriver()}
	seen := map[string]bool{}
	for _, d := range []*libvirtxml.Domain{g.cfg, g.live} {
		for _, h := range d.Devices.Hostdevs {
			if x, ok := hostdevOf(h); ok && !seen[x.ID] {
				seen[x.ID] = true
				out.Items = append(out.Items, x)
			}
		}
	}
	return out, nil
}

// AttachHostDevice passes a host PCI (through VFIO; the IOMMU must be on)
// or USB device through to a guest, live and saved.
func (m *Manager) AttachHostDevice(ctx context.Context, name string, req api.HostDevAttach) (api.HostDevChange, error) {
	if !nodeDevNameRE.MatchString(req.Device) {
		return api.HostDevChange{}, CodeInvalidHostDev.New("name a device from the host's device list")
	}
	if req.USBBy != "" && req.USBBy != "id" && req.USBBy != "address" {
		return api.HostDevChange{}, CodeInvalidHostDev.New("usb_by is id or address")
	}
	g, err := m.editGuest(ctx, name)
	if err != nil {
		return api.HostDevChange{}, err
	}
	defer g.close()
	nd, err := g.c.LookupDeviceByName(req.Device)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_NODE_DEVICE {
			return api.HostDevChange{}, CodeHostDevNotFound.New("the host has no device %q", req.Device)
		}
		return api.HostDevChange{}, m.fail("look up host device", name, err)
	}
	doc, err := nd.GetXMLDesc(0)
	_ = nd.Free()
	if err != nil {
		return api.HostDevChange{}, m.fail("read host device", name, err)
	}
	var x libvirtxml.NodeDevice
	if err := x.Unmarshal(doc); err != nil {
		return api.HostDevChange{}, m.fail("read host device", name, err)
	}
	h, err := hostdevFor(&x, req.USBBy)
	if err != nil {
		return api.HostDevChange{}, err
	}
	_, ids, _ := hostDevice(&x)
	users, err := m.hostdevUsers(g.c)
	if err != nil {
		return api.HostDevChange{}, err
	}
	for _, id := range ids {
		if len(users[id]) > 0 {
			return api.HostDevChange{}, CodeHostDevInUse.New("device %s is already passed through to guest %q", req.Device, users[id][0])
		}
	}
	hd, _ := hostdevOf(h)
	devDoc, err := h.Marshal()
	if err != nil {
		return api.HostDevChange{}, fault.Internalf(err)
	}
	applies, err := m.changeDevice(g, devAttach, devDoc, devDoc, func(d *libvirtxml.Domain) error {
		d.Devices.Hostdevs = append(d.Devices.Hostdevs, h)
		return nil
	})
	if err != nil {
		return api.HostDevChange{}, err
	}
	return api.HostDevChange{Device: hd, Applies: applies}, nil
}

// DetachHostDevice gives a passed-through device back to the host.
func (m *Manager) DetachHostDevice(ctx context.Context, name, id string) (api.HostDevChange, error) {
	if !hostDevIDRE.MatchString(id) {
		return api.HostDevChange{}, CodeInvalidHostDev.New("a guest's host device is pci_DDDD_BB_SS_F, usb_VVVV_PPPP or usbaddr_B_D")
	}
	g, err := m.editGuest(ctx, name)
	if err != nil {
		return api.HostDevChange{}, err
	}
	defer g.close()
	find := func(d *libvirtxml.Domain) (int, string, error) {
		for i, h := range d.Devices.Hostdevs {
			if x, ok := hostdevOf(h); ok && x.ID == id {
				doc, err := h.Marshal()
				return i, doc, err
			}
		}
		return -1, "", nil
	}
	li, liveDoc, err := find(g.live)
	if err != nil {
		return api.HostDevChange{}, fault.Internalf(err)
	}
	ci, cfgDoc, err := find(g.cfg)
	if err != nil {
		return api.HostDevChange{}, fault.Internalf(err)
	}
	if li < 0 && ci < 0 {
		return api.HostDevChange{}, CodeGuestHostDevNotOn.New("guest %q has no host device %s", name, id)
	}
	var hd api.GuestHostDev
	if ci >= 0 {
		hd, _ = hostdevOf(g.cfg.Devices.Hostdevs[ci])
	} else {
		hd, _ = hostdevOf(g.live.Devices.Hostdevs[li])
	}
	applies, err := m.changeDevice(g, devDetach, liveDoc, cfgDoc, func(d *libvirtxml.Domain) error {
		d.Devices.Hostdevs = slices.DeleteFunc(slices.Clone(d.Devices.Hostdevs), func(h libvirtxml.DomainHostdev) bool {
			x, ok := hostdevOf(h)
			return ok && x.ID == id
		})
		return nil
	})
	if err != nil {
		return api.HostDevChange{}, err
	}
	return api.HostDevChange{Device: hd, Applies: applies}, nil
}

// hostdevFor is the <hostdev> passing node device x through: PCI through
// VFIO (refused while the IOMMU is off), USB by vendor and product or, with
// usbBy "address", by bus and device.
func hostdevFor(x *libvirtxml.NodeDevice, usbBy string) (libvirtxml.DomainHostdev, error) {
	var h libvirtxml.DomainHostdev
	switch {
	case x.Capability.PCI != nil:
		p := x.Capability.PCI
		if p.IOMMUGroup == nil {
			return libvirtxml.DomainHostdev{}, CodeIOMMUOff.New("the host's IOMMU is off (PCI %s is in no IOMMU group): PCI passthrough through VFIO needs VT-d or AMD-Vi enabled (intel_iommu=on or amd_iommu=on)",
				pciAddr(u(p.Domain), u(p.Bus), u(p.Slot), u(p.Function)))
		}
		h = libvirtxml.DomainHostdev{Managed: "yes", SubsysPCI: &libvirtxml.DomainHostdevSubsysPCI{
			Driver: &libvirtxml.DomainHostdevSubsysPCIDriver{Name: "vfio"},
			Source: &libvirtxml.DomainHostdevSubsysPCISource{Address: &libvirtxml.DomainAddressPCI{Domain: p.Domain, Bus: p.Bus, Slot: p.Slot, Function: p.Function}}}}
	case x.Capability.USBDevice != nil:
		p := x.Capability.USBDevice
		src := &libvirtxml.DomainHostdevSubsysUSBSource{}
		v, ok1 := hexID(p.Vendor.ID)
		pr, ok2 := hexID(p.Product.ID)
		if usbBy == "address" || !ok1 || !ok2 {
			bus, dev := uint(p.Bus), uint(p.Device)
			src.Address = &libvirtxml.DomainAddressUSB{Bus: &bus, Device: &dev}
		} else {
			src.Vendor = &libvirtxml.DomainHostDevProductVendorID{ID: fmt.Sprintf("0x%04x", v)}
			src.Product = &libvirtxml.DomainHostDevProductVendorID{ID: fmt.Sprintf("0x%04x", pr)}
		}
		h = libvirtxml.DomainHostdev{SubsysUSB: &libvirtxml.DomainHostdevSubsysUSB{Source: src}}
	default:
		return libvirtxml.DomainHostdev{}, CodeHostDevKind.New("only PCI and USB devices are passed through; %q is neither", x.Name)
	}
	return h, nil
}
