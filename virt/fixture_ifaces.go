package virt

import (
	"fmt"

	"libvirt.org/go/libvirtxml"
)

// Fixed names of the fixture's host interfaces.
const (
	FixtureIfaceBridge = "br0"
	FixtureIfaceEth    = "eth0"
)

// fixtureIfaces are the host interfaces the fixture declares, for the
// bridge and direct networks to choose from.
func fixtureIfaces(seed int64) ([]fixtureElem, error) {
	var out []fixtureElem
	for _, x := range []*libvirtxml.Interface{
		{
			Name:  FixtureIfaceEth,
			Start: &libvirtxml.InterfaceStart{Mode: "onboot"},
			MAC:   &libvirtxml.InterfaceMAC{Address: fixtureMAC(seed, "interface", FixtureIfaceEth)},
		},
		{
			Name:   FixtureIfaceBridge,
			Start:  &libvirtxml.InterfaceStart{Mode: "onboot"},
			MAC:    &libvirtxml.InterfaceMAC{Address: fixtureMAC(seed, "interface", FixtureIfaceBridge)},
			Bridge: &libvirtxml.InterfaceBridge{STP: "off"},
		},
	} {
		doc, err := x.Marshal()
		if err != nil {
			return nil, fmt.Errorf("fixture: interface %s: %w", x.Name, err)
		}
		e, err := splitDoc(doc)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}
