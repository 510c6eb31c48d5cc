package virt

import (
	"fmt"

	"libvirt.org/go/libvirtxml"
)

// Names of the fixture's host devices.
const (
	FixturePCINIC = "pci_0000_03_00_0" // an Ethernet card in IOMMU group 12
	FixturePCIGPU = "pci_0000_01_00_0" // a display controller with no IOMMU group
	FixtureUSBKey = "usb_1_4"          // a USB security key
)

// fixtureHostDevs are the host's PCI and USB devices on the test driver.
func fixtureHostDevs() ([]fixtureElem, error) {
	n := func(v uint) *uint { return &v }
	devs := []*libvirtxml.NodeDevice{
		{Name: FixturePCIGPU, Parent: "computer", Driver: &libvirtxml.NodeDeviceDriver{Name: "nouveau"},
			Capability: libvirtxml.NodeDeviceCapability{PCI: &libvirtxml.NodeDevicePCICapability{
				Class: "0x030000", Domain: n(0), Bus: n(1), Slot: n(0), Function: n(0),
				Vendor:  libvirtxml.NodeDeviceIDName{ID: "0x10de", Name: "NVIDIA Corporation"},
				Product: libvirtxml.NodeDeviceIDName{ID: "0x1c82", Name: "GP107 [GeForce GTX 1050 Ti]"}}}},
		{Name: FixturePCINIC, Parent: "computer", Driver: &libvirtxml.NodeDeviceDriver{Name: "igb"},
			Capability: libvirtxml.NodeDeviceCapability{PCI: &libvirtxml.NodeDevicePCICapability{
				Class: "0x020000", Domain: n(0), Bus: n(3), Slot: n(0), Function: n(0),
				Vendor:     libvirtxml.NodeDeviceIDName{ID: "0x8086", Name: "Intel Corporation"},
				Product:    libvirtxml.NodeDeviceIDName{ID: "0x1533", Name: "I210 Gigabit Network Connection"},
				IOMMUGroup: &libvirtxml.NodeDeviceIOMMUGroup{Number: 12}}}},
		{Name: FixtureUSBKey, Parent: "computer", Driver: &libvirtxml.NodeDeviceDriver{Name: "usb"},
			Capability: libvirtxml.NodeDeviceCapability{USBDevice: &libvirtxml.NodeDeviceUSBDeviceCapability{
				Bus: 1, Device: 4,
				Vendor:  libvirtxml.NodeDeviceIDName{ID: "0x1050", Name: "Yubico.com"},
				Product: libvirtxml.NodeDeviceIDName{ID: "0x0407", Name: "Yubikey 4/5 OTP+U2F+CCID"}}}},
	}
	var out []fixtureElem
	for _, d := range devs {
		doc, err := d.Marshal()
		if err != nil {
			return nil, fmt.Errorf("fixture: device %s: %w", d.Name, err)
		}
		e, err := splitDoc(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
