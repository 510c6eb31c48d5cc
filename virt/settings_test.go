package virt

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

func ptr[T any](v T) *T { return &v }

// savedXML is the guest's saved configuration as libvirt writes it.
func savedXML(t *testing.T, m *Manager, name string) string {
	t.Helper()
	dom, err := conn(t, m).LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE | libvirt.DOMAIN_XML_SECURE)
	if err != nil {
		t.Fatal(err)
	}
	return doc + "\n"
}

// TestSettingsGolden edits demo guests on the test driver and compares
// each saved configuration with its golden file.
func TestSettingsGolden(t *testing.T) {
	expiry := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, guest string
		settings    *api.VMUpdate
		graphics    *api.VMGraphicsUpdate
		applied     map[string]string
	}{
		{name: "processor-shutoff", guest: "web06", settings: &api.VMUpdate{VCPUs: ptr(3), MaxVCPUs: ptr(4),
			Topology: &api.Topology{Sockets: 1, Cores: 2, Threads: 2}, CPUMode: ptr(api.CPUCustom), CPUModel: ptr("EPYC"),
			MemoryMiB: ptr(uint64(1024)), MaxMemoryMiB: ptr(uint64(3000))},
			applied: map[string]string{"vcpus": "now", "max_vcpus": "now", "topology": "now", "cpu_mode": "now", "memory_mib": "now", "max_memory_mib": "now"}},
		{name: "passthrough-shutoff", guest: "web06", settings: &api.VMUpdate{CPUMode: ptr(api.CPUHostPassthrough)},
			applied: map[string]string{"cpu_mode": "now"}},
		{name: "identity-boot-shutoff", guest: "backup", settings: &api.VMUpdate{Title: ptr("Backups"), Description: ptr("Restic\nrepository"),
			Autostart: ptr(true), BootOrder: &[]string{"cdrom", "hd"}, BootMenu: ptr(true)},
			applied: map[string]string{"title": "now", "description": "now", "autostart": "now", "boot_order": "now", "boot_menu": "now"}},
		{name: "running-live-and-boot", guest: "web01", settings: &api.VMUpdate{VCPUs: ptr(1), MemoryMiB: ptr(uint64(1024)), BootOrder: &[]string{"network", "hd"}, Title: ptr("Web 1")},
			applied: map[string]string{"vcpus": "now", "memory_mib": "now", "boot_order": "next_boot", "title": "now"}},
		{name: "vnc-to-spice-shutoff", guest: "web06", graphics: &api.VMGraphicsUpdate{Type: ptr("spice"), Keymap: ptr("de"),
			Password: ptr("s3cret-spice"), PasswordValidTo: &expiry, Serial: ptr(false)},
			applied: map[string]string{"graphics.type": "now", "graphics.keymap": "now", "graphics.password": "now", "serial": "now"}},
		{name: "add-vnc-shutoff", guest: "backup", graphics: &api.VMGraphicsUpdate{Type: ptr("vnc"), Password: ptr("8chars!!")},
			applied: map[string]string{"graphics.type": "now", "graphics.password": "now"}},
		{name: "password-running", guest: "web01", graphics: &api.VMGraphicsUpdate{Password: ptr("abc"), Listen: ptr("0.0.0.0")},
			// The test driver cannot set a password live: the next boot takes it.
			applied: map[string]string{"graphics.password": "next_boot", "graphics.listen": "next_boot"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := startFixture(t, FixtureOptions{ImagesDir: "/golden/images"})
			var res api.VMUpdateResult
			var err error
			if tc.settings != nil {
				res, err = m.UpdateSettings(context.Background(), tc.guest, *tc.settings)
			} else {
				res, err = m.UpdateGraphics(context.Background(), tc.guest, *tc.graphics, true)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Applied) != len(tc.applied) {
				t.Errorf("applied = %v, want %v", res.Applied, tc.applied)
			}
			for k, v := range tc.applied {
				if res.Applied[k] != v {
					t.Errorf("applied[%s] = %q, want %q (all: %v)", k, res.Applied[k], v, res.Applied)
				}
			}
			golden(t, "settings/"+tc.name+".xml", savedXML(t, m, tc.guest))
			// What the answer says is what a fresh read says.
			again, err := m.Settings(context.Background(), tc.guest)
			if err != nil {
				t.Fatal(err)
			}
			if again.VCPUs != res.Settings.VCPUs || again.MemoryMiB != res.Settings.MemoryMiB || again.Graphics.Type != res.Settings.Graphics.Type {
				t.Errorf("answer %+v, then read %+v", res.Settings, again)
			}
		})
	}
}

func TestSettingsReadNoSecrets(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	if _, err := m.UpdateGraphics(context.Background(), "web06", api.VMGraphicsUpdate{Password: ptr("hunter2")}, false); err != nil {
		t.Fatal(err)
	}
	s, err := m.Settings(context.Background(), "web06")
	if err != nil {
		t.Fatal(err)
	}
	if !s.Graphics.PasswordSet || s.Graphics.PasswordValidTo != nil {
		t.Fatalf("graphics = %+v, want a password without expiry", s.Graphics)
	}
	// The index's XML is read without secrets, so nothing downstream has it.
	d, err := m.Get(context.Background(), "web06")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(d.Description+d.Machine, "hunter2") {
		t.Fatal("password leaked")
	}
}

func TestSettingsRefused(t *testing.T) {
	tests := []struct {
		name, guest string
		u           api.VMUpdate
		code        fault.Code
		fields      []string
	}{
		{"every bad field named", "web06", api.VMUpdate{VCPUs: ptr(0), MaxVCPUs: ptr(100000), MemoryMiB: ptr(uint64(1)),
			BootOrder: &[]string{"hd", "hd", "floppy"}, Title: ptr("two\nlines"), CPUMode: ptr("bogus"), Name: ptr("bad*name")},
			CodeInvalidSettings, []string{"vcpus", "max_vcpus", "memory_mib", "boot_order[1]", "boot_order[2]", "title", "cpu_mode", "name"}},
		{"topology short of the maximum", "web06", api.VMUpdate{MaxVCPUs: ptr(8), Topology: &api.Topology{Sockets: 1, Cores: 2, Threads: 2}}, CodeInvalidSettings, []string{"topology"}},
		{"named model the host lacks", "web06", api.VMUpdate{CPUModel: ptr("Pentium-Pro-9000")}, CodeInvalidSettings, []string{"cpu_model"}},
		{"vCPUs above the maximum", "web06", api.VMUpdate{VCPUs: ptr(3)}, CodeInvalidSettings, []string{"vcpus"}},
		{"memory beyond the host", "web06", api.VMUpdate{MaxMemoryMiB: ptr(uint64(1 << 30))}, CodeInvalidSettings, []string{"max_memory_mib"}},
		{"max vCPUs of a running guest", "web01", api.VMUpdate{MaxVCPUs: ptr(4), VCPUs: ptr(1)}, CodeMustBeShutOff, nil},
		{"topology of a running guest", "web01", api.VMUpdate{Topology: &api.Topology{Sockets: 1, Cores: 1, Threads: 2}}, CodeMustBeShutOff, nil},
		{"CPU mode of a running guest", "web01", api.VMUpdate{CPUMode: ptr(api.CPUHostModel)}, CodeMustBeShutOff, nil},
		{"max memory of a running guest", "web01", api.VMUpdate{MaxMemoryMiB: ptr(uint64(1024))}, CodeMustBeShutOff, nil},
		{"memory past the maximum without slots", "web01", api.VMUpdate{MemoryMiB: ptr(uint64(2049))}, CodeNoMemorySlots, nil},
		{"rename a running guest", "web01", api.VMUpdate{Name: ptr("web01-new")}, CodeMustBeShutOff, nil},
		{"rename onto another guest", "web06", api.VMUpdate{Name: ptr("backup")}, CodeGuestExists, nil},
	}
	m := startFixture(t, FixtureOptions{ImagesDir: "/golden/images"})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := savedXML(t, m, tc.guest)
			_, err := m.UpdateSettings(context.Background(), tc.guest, tc.u)
			f := wantCode(t, err, tc.code)
			var got []string
			for _, d := range f.Details {
				got = append(got, d.Field)
			}
			for _, want := range tc.fields {
				if !slices.Contains(got, want) {
					t.Errorf("details %v do not name %s", got, want)
				}
			}
			if after := savedXML(t, m, tc.guest); after != before {
				t.Errorf("refused change altered the guest:\n%s", after)
			}
		})
	}
}

func TestGraphicsRefused(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	tests := []struct {
		name   string
		u      api.VMGraphicsUpdate
		admin  bool
		fields []string
	}{
		{"listen beyond loopback, not admin", api.VMGraphicsUpdate{Listen: ptr("0.0.0.0")}, false, []string{"graphics.listen"}},
		{"listen not an address", api.VMGraphicsUpdate{Listen: ptr("evil.example")}, true, []string{"graphics.listen"}},
		{"VNC password past 8 bytes", api.VMGraphicsUpdate{Password: ptr("123456789")}, false, []string{"graphics.password"}},
		{"password with a control byte", api.VMGraphicsUpdate{Password: ptr("a\x00b")}, false, []string{"graphics.password"}},
		{"unknown type and keymap", api.VMGraphicsUpdate{Type: ptr("rdp"), Keymap: ptr("../x")}, false, []string{"graphics.type", "graphics.keymap"}},
		{"expiry without a password", api.VMGraphicsUpdate{PasswordValidTo: ptr(time.Now())}, false, []string{"graphics.password_valid_to"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := savedXML(t, m, "web06")
			_, err := m.UpdateGraphics(context.Background(), "web06", tc.u, tc.admin)
			f := wantCode(t, err, CodeInvalidSettings)
			for _, want := range tc.fields {
				if !slices.ContainsFunc(f.Details, func(d fault.Detail) bool { return d.Field == want }) {
					t.Errorf("details %v do not name %s", f.Details, want)
				}
			}
			if savedXML(t, m, "web06") != before {
				t.Error("refused change altered the guest")
			}
		})
	}
}

// A rename moves the grants with the guest, in libvirt and in the index.
func TestRenameKeepsGrants(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	grants, ok := m.Grants("web06")
	if !ok || len(grants) == 0 {
		t.Fatal("web06 has no grants in the fixture")
	}
	evs := make(chan Event, 64)
	cancel := m.Subscribe(func(ev Event) {
		if ev.Name == "web06" || ev.Name == "web06-renamed" {
			select {
			case evs <- ev:
			default:
			}
		}
	})
	defer cancel()
	res, err := m.UpdateSettings(context.Background(), "web06", api.VMUpdate{Name: ptr("web06-renamed")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Settings.Name != "web06-renamed" || res.Applied["name"] != api.AppliesNow {
		t.Fatalf("answer %+v", res)
	}
	if m.Exists("web06") || !m.Exists("web06-renamed") {
		t.Fatal("the index did not follow the rename")
	}
	after, _ := m.Grants("web06-renamed")
	if !slices.Equal(after, grants) {
		t.Fatalf("grants %v, want %v", after, grants)
	}
	refs := m.GuestsGrantedTo("local", "demo", nil)
	if !slices.Contains(refs, m.Ref("web06-renamed")) || slices.Contains(refs, m.Ref("web06")) {
		t.Fatalf("grant index: %v", refs)
	}
	seen := map[string]bool{}
	eventually(t, 5*time.Second, "undefined and defined events", func() bool {
		for {
			select {
			case ev := <-evs:
				seen[ev.Name+" "+ev.Kind] = true
				continue
			default:
			}
			return seen["web06 "+EventUndefined] && seen["web06-renamed "+EventDefined]
		}
	})
}

// Parallel edits of one guest are serialised: each answers, none is lost
// half-way, and the saved configuration is one of the asked states.
func TestSettingsParallel(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			var err error
			if i%2 == 0 {
				_, err = m.UpdateSettings(context.Background(), "web06", api.VMUpdate{VCPUs: ptr(1 + i%2), Title: ptr("t" + strings.Repeat("x", i%5))})
			} else {
				_, err = m.UpdateGraphics(context.Background(), "web06", api.VMGraphicsUpdate{Keymap: ptr([]string{"de", "fr"}[i%4/2])}, false)
			}
			errs <- err
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	s, err := m.Settings(context.Background(), "web06")
	if err != nil {
		t.Fatal(err)
	}
	if s.VCPUs != 1 || !strings.HasPrefix(s.Title, "t") || (s.Graphics.Keymap != "de" && s.Graphics.Keymap != "fr") {
		t.Fatalf("settings %+v", s)
	}
}
