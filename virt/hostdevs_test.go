package virt

import (
	"context"
	"slices"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// The <hostdev> elements: PCI through VFIO when the device has an IOMMU
// group, USB by id or by address.
func TestHostdevGolden(t *testing.T) {
	n := func(v uint) *uint { return &v }
	pci := &libvirtxml.NodeDevice{Name: "pci_0000_03_00_0", Capability: libvirtxml.NodeDeviceCapability{PCI: &libvirtxml.NodeDevicePCICapability{
		Domain: n(0), Bus: n(3), Slot: n(0), Function: n(1), IOMMUGroup: &libvirtxml.NodeDeviceIOMMUGroup{Number: 12}}}}
	usb := &libvirtxml.NodeDevice{Name: "usb_1_4", Capability: libvirtxml.NodeDeviceCapability{USBDevice: &libvirtxml.NodeDeviceUSBDeviceCapability{
		Bus: 1, Device: 4, Vendor: libvirtxml.NodeDeviceIDName{ID: "0x1050"}, Product: libvirtxml.NodeDeviceIDName{ID: "0x0407"}}}}
	var out []string
	for _, tc := range []struct {
		d      *libvirtxml.NodeDevice
		by     string
		wantID string
	}{{pci, "", "pci_0000_03_00_1"}, {usb, "", "usb_1050_0407"}, {usb, "address", "usbaddr_1_4"}} {
		h, err := hostdevFor(tc.d, tc.by)
		if err != nil {
			t.Fatal(err)
		}
		if x, ok := hostdevOf(h); !ok || x.ID != tc.wantID {
			t.Fatalf("id = %+v, want %s", x, tc.wantID)
		}
		doc, err := h.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, doc)
	}
	golden(t, "hostdevs.xml", strings.Join(out, "\n")+"\n")
	pci.Capability.PCI.IOMMUGroup = nil
	_, err := hostdevFor(pci, "")
	wantCode(t, err, CodeIOMMUOff)
}

// On the test driver: the host's PCI and USB devices listed; PCI refused
// (the driver keeps no IOMMU groups, as a host with the IOMMU off); USB
// passed through to a shut-off guest and back, and shown as used.
func TestHostDevicesOnTestDriver(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	l, err := m.HostDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range l.Items {
		names = append(names, d.Kind+":"+d.Name)
	}
	if !slices.Equal(names, []string{"pci:" + FixturePCIGPU, "pci:" + FixturePCINIC, "usb:" + FixtureUSBKey}) || l.IOMMU {
		t.Fatalf("devices = %v (iommu %v)", names, l.IOMMU)
	}
	if l.Items[2].VendorID != "0x1050" || l.Items[2].Address != "bus 001 device 004" || l.Items[1].Product == "" {
		t.Fatalf("devices = %+v", l.Items)
	}
	before := hostdevsXML(t, m, "backup")
	_, err = m.AttachHostDevice(ctx, "backup", api.HostDevAttach{Device: FixturePCINIC})
	if f := wantCode(t, err, CodeIOMMUOff); !strings.Contains(f.Message, "IOMMU") {
		t.Fatal(f.Message)
	}
	for _, bad := range []api.HostDevAttach{{Device: "../x"}, {Device: FixtureUSBKey, USBBy: "serial"}} {
		_, err = m.AttachHostDevice(ctx, "backup", bad)
		wantCode(t, err, CodeInvalidHostDev)
	}
	_, err = m.AttachHostDevice(ctx, "backup", api.HostDevAttach{Device: "pci_0000_09_00_0"})
	wantCode(t, err, CodeHostDevNotFound)
	if got := hostdevsXML(t, m, "backup"); got != before {
		t.Fatalf("a refusal changed the guest: %s", got)
	}
	ch, err := m.AttachHostDevice(ctx, "backup", api.HostDevAttach{Device: FixtureUSBKey})
	if err != nil || ch.Applies != api.AppliesNow || ch.Device.ID != "usb_1050_0407" {
		t.Fatalf("attach = %+v, %v", ch, err)
	}
	_, err = m.AttachHostDevice(ctx, "vpn", api.HostDevAttach{Device: FixtureUSBKey, USBBy: "address"})
	if f := wantCode(t, err, CodeHostDevInUse); !strings.Contains(f.Message, `"backup"`) {
		t.Fatal(f.Message)
	}
	if l, err = m.HostDevices(ctx); err != nil || !slices.Equal(l.Items[2].UsedBy, []string{"backup"}) {
		t.Fatalf("used by = %+v, %v", l.Items[2], err)
	}
	gl, err := m.GuestHostDevices(ctx, "backup")
	if err != nil || len(gl.Items) != 1 || gl.Items[0].Kind != "usb" {
		t.Fatalf("guest's = %+v, %v", gl, err)
	}
	_, err = m.DetachHostDevice(ctx, "backup", "usb_0000_0001")
	wantCode(t, err, CodeGuestHostDevNotOn)
	_, err = m.DetachHostDevice(ctx, "backup", "bad id")
	wantCode(t, err, CodeInvalidHostDev)
	if _, err = m.DetachHostDevice(ctx, "backup", "usb_1050_0407"); err != nil {
		t.Fatal(err)
	}
	if got := hostdevsXML(t, m, "backup"); got != before {
		t.Fatalf("detach left %s", got)
	}
}

func hostdevsXML(t *testing.T, m *Manager, name string) string {
	t.Helper()
	dom, err := conn(t, m).LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range d.Devices.Hostdevs {
		x, _ := h.Marshal()
		out = append(out, x)
	}
	return strings.Join(out, "\n")
}
