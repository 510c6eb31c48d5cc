package virt

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

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

// Host summarises the hypervisor host and the index's counts.
func (m *Manager) Host(ctx context.Context) (api.Host, error) {
	if err := ctx.Err(); err != nil {
		return api.Host{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.Host{}, err
	}
	defer release(c)
	h := api.Host{URI: m.cfg.URI, Demo: strings.HasPrefix(m.cfg.URI, "test:")}
	if h.Hostname, err = c.GetHostname(); err != nil {
		return api.Host{}, m.fail("host name", "", err)
	}
	if h.Driver, err = c.GetType(); err != nil {
		return api.Host{}, m.fail("driver type", "", err)
	}
	v, err := c.GetLibVersion()
	if err != nil {
		return api.Host{}, m.fail("libvirt version", "", err)
	}
	h.Version = fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000)
	ni, err := c.GetNodeInfo()
	if err != nil {
		return api.Host{}, m.fail("node info", "", err)
	}
	h.CPUs = int(ni.Cpus)
	h.MemoryMiB = ni.Memory >> 10
	m.mu.RLock()
	h.VMsTotal = len(m.sorted)
	for _, e := range m.sorted {
		if e.vm.State == api.StateRunning || e.vm.State == api.StateBlocked {
			h.VMsRunning++
		}
	}
	m.mu.RUnlock()
	return h, nil
}
