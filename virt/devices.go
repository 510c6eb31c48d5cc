package virt

import (
	"path"
	"slices"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// HideHostPaths strips where the host keeps a guest's disks, for callers
// who may not read the host: pool volumes keep their pool and volume
// names, other disks their file name only.
func HideHostPaths(vm *api.VMDetail) {
	for i := range vm.Devices.Disks {
		d := &vm.Devices.Disks[i]
		if d.Volume != "" {
			d.Source = ""
		} else {
			d.Source = path.Base(d.Source)
		}
	}
}

// devicesOf summarises the devices a user cares about.
func devicesOf(d *libvirtxml.Domain) api.Devices {
	out := api.Devices{Disks: []api.Disk{}, NICs: []api.NIC{}, Graphics: []string{}, Consoles: []string{}}
	if d.Devices == nil {
		return out
	}
	for _, disk := range d.Devices.Disks {
		x := api.Disk{Device: disk.Device, ReadOnly: disk.ReadOnly != nil}
		if x.Device == "" {
			x.Device = "disk"
		}
		if disk.Target != nil {
			x.Target, x.Bus = disk.Target.Dev, disk.Target.Bus
		}
		if disk.Driver != nil {
			x.Format = disk.Driver.Type
		}
		if s := disk.Source; s != nil {
			switch {
			case s.File != nil:
				x.Source = s.File.File
			case s.Block != nil:
				x.Source = s.Block.Dev
			case s.Volume != nil:
				x.Pool, x.Volume = s.Volume.Pool, s.Volume.Volume
			case s.Network != nil:
				x.Source = s.Network.Protocol + ":" + s.Network.Name
			}
		}
		out.Disks = append(out.Disks, x)
	}
	for _, nic := range d.Devices.Interfaces {
		x := api.NIC{}
		if nic.MAC != nil {
			x.MAC = nic.MAC.Address
		}
		if nic.Model != nil {
			x.Model = nic.Model.Type
		}
		if nic.Link != nil {
			x.Link = nic.Link.State
		}
		if s := nic.Source; s != nil {
			switch {
			case s.Network != nil:
				x.Type, x.Source = "network", s.Network.Network
			case s.Bridge != nil:
				x.Type, x.Source = "bridge", s.Bridge.Bridge
			case s.Direct != nil:
				x.Type, x.Source = "direct", s.Direct.Dev
			case s.User != nil:
				x.Type = "user"
			case s.Ethernet != nil:
				x.Type = "ethernet"
			case s.VHostUser != nil:
				x.Type = "vhostuser"
			case s.Hostdev != nil:
				x.Type = "hostdev"
			default:
				x.Type = "other"
			}
		}
		out.NICs = append(out.NICs, x)
	}
	for _, g := range d.Devices.Graphics {
		if k := graphicsKind(g); k != "" {
			out.Graphics = append(out.Graphics, k)
		}
	}
	// Consoles are the kinds the console endpoint can open for this guest.
	for _, k := range out.Graphics {
		if (k == "vnc" || k == "spice") && !slices.Contains(out.Consoles, k) {
			out.Consoles = append(out.Consoles, k)
		}
	}
	if hasSerial(d) {
		out.Consoles = append(out.Consoles, ConsoleSerial)
	}
	return out
}
