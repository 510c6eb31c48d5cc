//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// settingsName is a fresh guest name with this suite's prefix.
func settingsName() string { return "vpe1-set-" + randomHex() }

// settingsGuest defines and starts a diskless guest with 4 vCPUs of which
// 1 runs, 128 MiB, a virtio balloon and VNC; with slots it also has a NUMA
// node and <maxMemory> with two memory slots up to 512 MiB.
func settingsGuest(t *testing.T, conn *libvirt.Connect, slots bool) string {
	t.Helper()
	name := settingsName()
	dom := tinyDomain(name)
	dom.Memory = &libvirtxml.DomainMemory{Value: 128, Unit: "MiB"}
	dom.VCPU = &libvirtxml.DomainVCPU{Placement: "static", Value: 4, Current: 1}
	dom.Devices.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "virtio"}
	// ACPI: QEMU plugs memory only into a guest that has it.
	dom.Features = &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}}
	if slots {
		id := uint(0)
		dom.MaximumMemory = &libvirtxml.DomainMaxMemory{Value: 512, Unit: "MiB", Slots: 2}
		dom.CPU = &libvirtxml.DomainCPU{Numa: &libvirtxml.DomainNuma{Cell: []libvirtxml.DomainCell{{ID: &id, CPUs: "0-3", Memory: 128, Unit: "MiB"}}}}
	}
	doc, err := dom.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := conn.DomainDefineXML(doc)
	if err != nil {
		t.Fatal("define:", err)
	}
	t.Cleanup(func() {
		for _, n := range []string{name, name + "-renamed"} {
			if d, err := conn.LookupDomainByName(n); err == nil {
				_ = d.Destroy()
				_ = d.Undefine()
				_ = d.Free()
			}
		}
	})
	if err := d.Create(); err != nil {
		t.Fatal("start:", err)
	}
	_ = d.Free()
	return name
}

// domXML reads the guest's live (or, inactive, saved) XML.
func domXML(t *testing.T, conn *libvirt.Connect, name string, inactive bool) *libvirtxml.Domain {
	t.Helper()
	d, err := conn.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	var flags libvirt.DomainXMLFlags
	if inactive {
		flags = libvirt.DOMAIN_XML_INACTIVE
	}
	doc, err := d.GetXMLDesc(flags)
	if err != nil {
		t.Fatal(err)
	}
	var x libvirtxml.Domain
	if err := x.Unmarshal(doc); err != nil {
		t.Fatal(err)
	}
	return &x
}

func vcpusOf(d *libvirtxml.Domain) uint {
	if d.VCPU.Current > 0 {
		return d.VCPU.Current
	}
	return d.VCPU.Value
}

// TestVMSettingsOnKVM: vCPU hot-plug, the balloon, memory hot-plug, a live
// VNC password the console proxy still gets past, refusals of what needs a
// shut-off guest, and a rename whose grants follow.
func TestVMSettingsOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	srv := startServer(t, uri)
	admin := srv.login(t)
	user := srv.loginAs(t, plainUser)
	name := settingsGuest(t, conn, false)
	waitRunning(t, admin, name)
	setRole(t, admin, name, "manager")

	t.Run("raise vCPUs live", func(t *testing.T) {
		var res api.VMUpdateResult
		if st := user.call("PUT", "/api/v1/vms/"+name, api.VMUpdate{VCPUs: ptr(3)}, &res); st != 200 {
			t.Fatalf("PUT vcpus: %d", st)
		}
		if res.Applied["vcpus"] != api.AppliesNow || res.Settings.VCPUs != 3 {
			t.Fatalf("answer %+v", res)
		}
		if n := vcpusOf(domXML(t, conn, name, false)); n != 3 {
			t.Fatalf("live XML has %d vCPUs, want 3", n)
		}
		if n := vcpusOf(domXML(t, conn, name, true)); n != 3 {
			t.Fatalf("saved XML has %d vCPUs, want 3", n)
		}
	})
	t.Run("balloon down and up", func(t *testing.T) {
		for _, mib := range []uint64{96, 128} {
			var res api.VMUpdateResult
			if st := user.call("PUT", "/api/v1/vms/"+name, api.VMUpdate{MemoryMiB: ptr(mib)}, &res); st != 200 {
				t.Fatalf("PUT memory %d: %d", mib, st)
			}
			saved := domXML(t, conn, name, true)
			if got := saved.CurrentMemory.Value >> 10; uint64(got) != mib {
				t.Fatalf("saved currentMemory %d MiB, want %d", got, mib)
			}
			d, _ := conn.LookupDomainByName(name)
			info, err := d.GetInfo()
			_ = d.Free()
			if err != nil {
				t.Fatal(err)
			}
			// QEMU's balloon target; a guest without a balloon driver (this
			// one has no OS) never reaches it, so only the target is checked.
			t.Logf("balloon %d MiB: target set, guest reports %d KiB", mib, info.Memory)
		}
	})
	t.Run("refused while running", func(t *testing.T) {
		user.refused("PUT", "/api/v1/vms/"+name, api.VMUpdate{MaxVCPUs: ptr(8)}, 409, "guest_must_be_shut_off")
		user.refused("PUT", "/api/v1/vms/"+name, api.VMUpdate{MaxMemoryMiB: ptr(uint64(256))}, 409, "guest_must_be_shut_off")
		user.refused("PUT", "/api/v1/vms/"+name, api.VMUpdate{MemoryMiB: ptr(uint64(256))}, 409, "no_memory_slots")
		user.refused("PUT", "/api/v1/vms/"+name, api.VMUpdate{Name: ptr(name + "-renamed")}, 409, "guest_must_be_shut_off")
		if n := vcpusOf(domXML(t, conn, name, true)); n != 3 {
			t.Fatalf("a refused change altered the guest: %d vCPUs", n)
		}
	})
	t.Run("VNC password; the console still opens", func(t *testing.T) {
		var res api.VMUpdateResult
		// QEMU started the display without a password: it takes one at the next boot.
		if st := user.call("PUT", "/api/v1/vms/"+name+"/graphics", api.VMGraphicsUpdate{Password: ptr("vnc-pw1")}, &res); st != 200 {
			t.Fatalf("PUT password: %d", st)
		}
		if res.Applied["graphics.password"] != api.AppliesNextBoot || !res.Settings.Graphics.PasswordSet {
			t.Fatalf("answer %+v", res)
		}
		for _, a := range []string{"poweroff", "start"} {
			if st := admin.call("POST", "/api/v1/vms/"+name+"/"+a, nil, nil); st != 200 {
				t.Fatalf("%s: %d", a, st)
			}
		}
		waitRunning(t, admin, name)
		// Started with a password, the display takes a new one live.
		until := time.Now().Add(time.Hour)
		if st := user.call("PUT", "/api/v1/vms/"+name+"/graphics", api.VMGraphicsUpdate{Password: ptr("vnc-pw2"), PasswordValidTo: &until}, &res); st != 200 {
			t.Fatalf("PUT password: %d", st)
		}
		if res.Applied["graphics.password"] != api.AppliesNow {
			t.Fatalf("answer %+v", res)
		}
		live := domXML(t, conn, name, false)
		if g := live.Devices.Graphics[0].VNC; g == nil || g.PasswdValidTo == "" {
			t.Fatalf("live display %+v", live.Devices.Graphics[0])
		}
		// The portal hands the display over with SKIPAUTH: the browser
		// never needs the password and is offered None.
		ws := user.open(t, name, "vnc")
		if w, h, _ := rfbHandshake(t, ws); w == 0 || h == 0 {
			t.Fatalf("framebuffer %dx%d", w, h)
		}
		ws.CloseNow()
	})
	t.Run("rename a shut-off guest: the grants follow", func(t *testing.T) {
		if st := admin.call("POST", "/api/v1/vms/"+name+"/poweroff", nil, nil); st != 200 {
			t.Fatalf("poweroff: %d", st)
		}
		var res api.VMUpdateResult
		if st := user.call("PUT", "/api/v1/vms/"+name, api.VMUpdate{Name: ptr(name + "-renamed"), MaxVCPUs: ptr(2), VCPUs: ptr(2)}, &res); st != 200 {
			t.Fatalf("rename: %d", st)
		}
		var vm api.VMDetail
		if st := user.call("GET", "/api/v1/vms/"+name+"-renamed", nil, &vm); st != 200 || vm.MyRole != api.RoleManager {
			t.Fatalf("renamed guest as its manager: %d %q", st, vm.MyRole)
		}
		if st := user.call("GET", "/api/v1/vms/"+name, nil, nil); st != 404 {
			t.Fatalf("old name: %d, want 404", st)
		}
		saved := domXML(t, conn, name+"-renamed", true)
		if !strings.Contains(saved.Metadata.XML, plainUser) {
			t.Fatal("the grants did not travel in the metadata")
		}
	})
	t.Run("a named CPU model from the domain capabilities", func(t *testing.T) {
		var s api.VMSettings
		if st := user.call("GET", "/api/v1/vms/"+name+"-renamed/settings", nil, &s); st != 200 {
			t.Fatalf("GET settings: %d", st)
		}
		if len(s.Limits.CPUModels) == 0 || s.Limits.MaxVCPUs < 2 || s.Limits.HostMemoryMiB == 0 {
			t.Fatalf("limits %+v", s.Limits)
		}
		model := s.Limits.CPUModels[0]
		var res api.VMUpdateResult
		if st := user.call("PUT", "/api/v1/vms/"+name+"-renamed", api.VMUpdate{CPUMode: ptr(api.CPUCustom), CPUModel: ptr(model),
			Topology: &api.Topology{Sockets: 1, Cores: 1, Threads: 2}}, &res); st != 200 {
			t.Fatalf("PUT cpu model: %d", st)
		}
		saved := domXML(t, conn, name+"-renamed", true)
		if saved.CPU == nil || saved.CPU.Model == nil || saved.CPU.Model.Value != model || saved.CPU.Topology.Threads != 2 {
			t.Fatalf("saved CPU %+v", saved.CPU)
		}
		if st, b := user.raw("PUT", "/api/v1/vms/"+name+"-renamed", api.VMUpdate{CPUModel: ptr("No-Such-CPU")}); st != 422 || !strings.Contains(string(b), `"field":"cpu_model"`) {
			t.Fatalf("unknown model: %d %s", st, b)
		}
	})
}

// TestMemoryHotplugOnKVM plugs a DIMM into a running guest with memory slots.
func TestMemoryHotplugOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	srv := startServer(t, uri)
	admin := srv.login(t)
	name := settingsGuest(t, conn, true)
	waitRunning(t, admin, name)
	var res api.VMUpdateResult
	if st := admin.call("PUT", "/api/v1/vms/"+name, api.VMUpdate{MemoryMiB: ptr(uint64(256))}, &res); st != 200 {
		t.Fatalf("PUT memory 256: %d", st)
	}
	live := domXML(t, conn, name, false)
	if len(live.Devices.Memorydevs) != 1 || live.Memory.Value>>10 != 256 {
		t.Fatalf("live: %d memory devices, %d KiB", len(live.Devices.Memorydevs), live.Memory.Value)
	}
	if saved := domXML(t, conn, name, true); len(saved.Devices.Memorydevs) != 1 {
		t.Fatalf("saved: %d memory devices", len(saved.Devices.Memorydevs))
	}
	if res.Settings.MaxMemoryMiB != 256 || res.Settings.MemorySlots != 2 {
		t.Fatalf("answer %+v", res.Settings)
	}
	_ = time.Second
}

func ptr[T any](v T) *T { return &v }
