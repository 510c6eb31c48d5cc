package virt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// TestActions runs every action from each of the three states the test
// driver can produce and checks the result or the conflict.
func TestActions(t *testing.T) {
	const running, paused, shutoff = "web01", "ubuntu-desktop", "web06"
	type outcome struct {
		state   string // wanted state afterwards, or
		conflct string // a substring of the 409 message
	}
	table := map[string]map[string]outcome{
		"start": {
			running: {conflct: `guest "web01" is already running`},
			paused:  {conflct: `guest "ubuntu-desktop" is paused; use resume`},
			shutoff: {state: api.StateRunning},
		},
		"shutdown": {
			running: {state: api.StateShutoff}, // the test driver stops at once
			paused:  {conflct: "is paused"},
			shutoff: {conflct: `guest "web06" is already shut off`},
		},
		"poweroff": {
			running: {state: api.StateShutoff},
			paused:  {state: api.StateShutoff},
			shutoff: {conflct: "already shut off"},
		},
		"reboot": {
			running: {state: api.StateRunning},
			paused:  {conflct: "is paused"},
			shutoff: {conflct: "is shut off"},
		},
		"reset": {
			running: {state: api.StateRunning},
			paused:  {state: api.StatePaused},
			shutoff: {conflct: "is shut off"},
		},
		"suspend": {
			running: {state: api.StatePaused},
			paused:  {conflct: "already paused"},
			shutoff: {conflct: "is shut off"},
		},
		"resume": {
			running: {conflct: "already running"},
			paused:  {state: api.StateRunning},
			shutoff: {conflct: "is shut off"},
		},
	}
	if len(table) != len(api.VMActions) {
		t.Fatalf("table covers %d actions, the API has %d", len(table), len(api.VMActions))
	}
	for _, action := range api.VMActions {
		for _, guest := range []string{running, paused, shutoff} {
			want := table[action][guest]
			t.Run(action+"/"+guest, func(t *testing.T) {
				t.Parallel()
				m := startFixture(t, FixtureOptions{})
				ctx := context.Background()
				before := mustVM(t, m, guest)
				vm, err := m.Action(ctx, guest, action)
				if want.conflct != "" {
					code := map[string]fault.Code{running: CodeGuestRunning, paused: CodeGuestPaused, shutoff: CodeGuestNotRunning}[guest]
					if action == "resume" && guest == running {
						code = CodeGuestNotPaused
					}
					ae := wantCode(t, err, code)
					if !strings.Contains(ae.Message, want.conflct) {
						t.Fatalf("message %q lacks %q", ae.Message, want.conflct)
					}
					if after := mustVM(t, m, guest); after.State != before.State {
						t.Fatalf("refused action changed state %s → %s", before.State, after.State)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if vm.State != want.state || vm.Name != guest {
					t.Fatalf("returned %s in state %q, want %q", vm.Name, vm.State, want.state)
				}
				// An immediate List agrees, without waiting for events.
				list, err := m.List(ctx)
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(list, func(v api.VM) bool { return v.Name == guest })
				if list[i].State != want.state {
					t.Fatalf("List says %q right after the action, want %q", list[i].State, want.state)
				}
				// And libvirt agrees.
				dom, err := conn(t, m).LookupDomainByName(guest)
				if err != nil {
					t.Fatal(err)
				}
				defer dom.Free()
				st, _, _ := dom.GetState()
				if stateName(st) != want.state {
					t.Fatalf("libvirt says %q, want %q", stateName(st), want.state)
				}
			})
		}
	}
}

func TestUnknownAndInvalid(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	ctx := context.Background()
	calls := map[string]func(name string) error{
		"Get":       func(n string) error { _, err := m.Get(ctx, n); return err },
		"Action":    func(n string) error { _, err := m.Action(ctx, n, "start"); return err },
		"Delete":    func(n string) error { return m.Delete(ctx, n, true) },
		"SetGrants": func(n string) error { return m.SetGrants(ctx, n, nil) },
	}
	for call, fn := range calls {
		t.Run(call+"/unknown", func(t *testing.T) {
			ae := wantCode(t, fn("nosuchvm"), CodeGuestNotFound)
			if ae.Message != `guest "nosuchvm" not found` {
				t.Fatalf("message %q", ae.Message)
			}
		})
		for _, bad := range []string{"../etc", "a/b", "", "*", strings.Repeat("x", 65), "we\x00b", "web 01"} {
			t.Run(fmt.Sprintf("%s/%q", call, bad), func(t *testing.T) {
				wantCode(t, fn(bad), CodeInvalidName)
			})
		}
	}
	t.Run("unknown action", func(t *testing.T) {
		_, err := m.Action(ctx, "web01", "explode")
		wantCode(t, err, CodeUnknownAction)
	})
	if m.Exists("nosuchvm") {
		t.Fatal("Exists invents guests")
	}
	if _, ok := m.Grants("nosuchvm"); ok {
		t.Fatal("Grants invents guests")
	}
}

// volumeExists looks the path up on the manager's own connection.
func volumeExists(t *testing.T, m *Manager, path string) bool {
	t.Helper()
	vol, err := conn(t, m).LookupStorageVolByPath(path)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_STORAGE_VOL {
			return false
		}
		t.Fatal(err)
	}
	vol.Free()
	return true
}

func diskPath(t *testing.T, m *Manager, name string) string {
	t.Helper()
	d, err := m.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	for _, disk := range d.Devices.Disks {
		if disk.Device == "disk" {
			return disk.Source
		}
	}
	t.Fatalf("%s has no disk", name)
	return ""
}

func TestDelete(t *testing.T) {
	ctx := context.Background()
	t.Run("running refused", func(t *testing.T) {
		t.Parallel()
		m := startFixture(t, FixtureOptions{})
		ae := wantCode(t, m.Delete(ctx, "web01", false), CodeGuestRunning)
		if !strings.Contains(ae.Message, "power it off first") || !strings.Contains(ae.Message, "running") {
			t.Fatalf("message %q", ae.Message)
		}
		wantCode(t, m.Delete(ctx, "ubuntu-desktop", true), CodeGuestPaused)
		if !m.Exists("web01") || !m.Exists("ubuntu-desktop") {
			t.Fatal("refused delete removed the guest")
		}
	})
	for _, withVolumes := range []bool{false, true} {
		t.Run(fmt.Sprintf("shutoff volumes=%v", withVolumes), func(t *testing.T) {
			t.Parallel()
			m := startFixture(t, FixtureOptions{})
			path := diskPath(t, m, "web06")
			if !volumeExists(t, m, path) {
				t.Fatal("fixture volume missing")
			}
			if err := m.Delete(ctx, "web06", withVolumes); err != nil {
				t.Fatal(err)
			}
			if m.Exists("web06") {
				t.Fatal("still in the index")
			}
			if _, err := conn(t, m).LookupDomainByName("web06"); libvirtCode(err) != libvirt.ERR_NO_DOMAIN {
				t.Fatalf("still in libvirt: %v", err)
			}
			if got := volumeExists(t, m, path); got == withVolumes {
				t.Fatalf("volume exists=%v after delete with volumes=%v", got, withVolumes)
			}
			// Other guests' volumes are untouched.
			if !volumeExists(t, m, diskPath(t, m, "backup")) {
				t.Fatal("another guest's volume is gone")
			}
			wantCode(t, m.Delete(ctx, "web06", false), CodeGuestNotFound)
		})
	}
	t.Run("shared volume refused", func(t *testing.T) {
		t.Parallel()
		m := startFixture(t, FixtureOptions{})
		path := diskPath(t, m, "web06")
		// Another guest that uses web06's disk.
		doc, err := (&libvirtxml.Domain{
			Type: "test", Name: "web06-twin",
			Memory: &libvirtxml.DomainMemory{Value: 512, Unit: "MiB"},
			OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
			Devices: &libvirtxml.DomainDeviceList{Disks: []libvirtxml.DomainDisk{{
				Device: "disk",
				Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: path}},
				Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
			}}},
		}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		dom, err := conn(t, m).DomainDefineXML(doc)
		if err != nil {
			t.Fatal(err)
		}
		dom.Free()
		eventually(t, time.Second, "twin indexed", func() bool { return m.Exists("web06-twin") })
		ae := wantCode(t, m.Delete(ctx, "web06", true), CodeVolumeInUse)
		if !strings.Contains(ae.Message, "web06-twin") {
			t.Fatalf("message %q", ae.Message)
		}
		if !m.Exists("web06") || !volumeExists(t, m, path) {
			t.Fatal("refused delete changed something")
		}
	})
	t.Run("transient running guest", func(t *testing.T) {
		t.Parallel()
		m := startFixture(t, FixtureOptions{})
		doc, err := (&libvirtxml.Domain{
			Type: "test", Name: "scratch",
			Memory: &libvirtxml.DomainMemory{Value: 256, Unit: "MiB"},
			OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		dom, err := conn(t, m).DomainCreateXML(doc, 0)
		if err != nil {
			t.Fatal(err)
		}
		dom.Free()
		eventually(t, time.Second, "transient guest indexed", func() bool { return m.Exists("scratch") })
		if vm := mustVM(t, m, "scratch"); vm.Persistent || vm.State != api.StateRunning {
			t.Fatalf("got %+v", vm)
		}
		if err := m.Delete(ctx, "scratch", false); err != nil {
			t.Fatal(err)
		}
		if m.Exists("scratch") {
			t.Fatal("still indexed")
		}
	})
}

func TestGetAndHost(t *testing.T) {
	m := startFixture(t, FixtureOptions{ImagesDir: "/srv/images"})
	ctx := context.Background()
	d, err := m.Get(ctx, "win2022-ad")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "win2022-ad" || d.State != api.StateRunning || d.MaxMemMiB != 8192 || d.OSType != "hvm" || d.Description == "" {
		t.Fatalf("detail %+v", d)
	}
	wantDisks := []api.Disk{
		{Target: "vda", Device: "disk", Bus: "virtio", Source: "/srv/images/default/win2022-ad.qcow2", Format: "qcow2"},
		{Target: "sda", Device: "cdrom", Bus: "sata", Source: "/srv/images/isos/virtio-win-0.1.262.iso", Format: "raw", ReadOnly: true},
	}
	if !slices.Equal(d.Devices.Disks, wantDisks) {
		t.Fatalf("disks %+v", d.Devices.Disks)
	}
	if len(d.Devices.NICs) != 1 || d.Devices.NICs[0].Type != "network" || d.Devices.NICs[0].Source != "default" || d.Devices.NICs[0].Model != "virtio" {
		t.Fatalf("nics %+v", d.Devices.NICs)
	}
	if !slices.Equal(d.Devices.Graphics, []string{"spice"}) || !slices.Equal(d.Devices.Consoles, []string{"spice", "serial"}) {
		t.Fatalf("graphics %v consoles %v", d.Devices.Graphics, d.Devices.Consoles)
	}

	h, err := m.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	list, _ := m.List(ctx)
	running := 0
	for _, vm := range list {
		if vm.State == api.StateRunning {
			running++
		}
	}
	if !h.Demo || h.Driver != "TEST" || h.URI != m.URI() || h.CPUs < 1 || h.MemoryMiB == 0 ||
		h.VMsTotal != len(list) || h.VMsRunning != running || h.Version == "" || h.Hostname == "" {
		t.Fatalf("host %+v", h)
	}
}
