package virt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

func TestValidateName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"web01", true},
		{"build-runner-1", true},
		{"a", true},
		{"vm_1.2+x", true},
		{"9lives", true},
		{strings.Repeat("a", 64), true},
		{"../etc", false},
		{"a/b", false},
		{"", false},
		{"*", false},
		{strings.Repeat("a", 65), false},
		{"web\x0001", false},
		{"web 01", false},
		{"..", false},
		{".hidden", false},
		{"-flag", false},
		{"vm:web01", false},
		{"tab\tname", false},
		{"new\nline", false},
		{"a\\b", false},
		{"ünï", false},
	} {
		t.Run(fmt.Sprintf("%q", tc.name), func(t *testing.T) {
			err := ValidateName(tc.name)
			if tc.ok {
				if err != nil {
					t.Fatalf("want ok, got %v", err)
				}
				return
			}
			wantCode(t, err, CodeInvalidName)
		})
	}
}

func TestIndexMatchesLibvirt(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	vms, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// A second connection to the same file starts from the same state.
	c := openConn(t, m.URI())
	doms, err := c.ListAllDomains(0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := range doms {
		name, _ := doms[i].GetName()
		st, _, _ := doms[i].GetState()
		want[name] = stateName(st)
		doms[i].Free()
	}
	if len(vms) != len(want) || len(vms) < 25 {
		t.Fatalf("index has %d guests, libvirt %d", len(vms), len(want))
	}
	if !slices.IsSortedFunc(vms, func(a, b api.VM) int { return strings.Compare(a.Name, b.Name) }) {
		t.Fatal("List is not sorted by name")
	}
	states := map[string]int{}
	for _, vm := range vms {
		if want[vm.Name] != vm.State {
			t.Errorf("%s: index says %q, libvirt %q", vm.Name, vm.State, want[vm.Name])
		}
		if vm.UUID == "" || vm.VCPUs < 1 || vm.MemoryMiB < 512 || !vm.Persistent {
			t.Errorf("%s: incomplete entry %+v", vm.Name, vm)
		}
		states[vm.State]++
	}
	if states[api.StatePaused] != 2 || states[api.StateShutoff] < 3 || states[api.StateRunning] < 15 {
		t.Errorf("demo states: %v", states)
	}

	for _, tc := range []struct {
		name     string
		graphics string
		vcpus    int
		mem      uint64
		distro   string
	}{
		{"web01", "vnc", 2, 2048, "debian"},
		{"win2022-ad", "spice", 4, 8192, "windows"},
		{"vpn", "", 1, 512, "debian"},
		{"db01", "vnc", 8, 16384, "rocky"},
		{"jenkins-old", "vnc", 2, 4096, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vm := mustVM(t, m, tc.name)
			if vm.Graphics != tc.graphics || vm.VCPUs != tc.vcpus || vm.MemoryMiB != tc.mem {
				t.Errorf("got %+v", vm)
			}
			distro := ""
			if vm.OS != nil {
				distro = vm.OS.Distro
			}
			if distro != tc.distro {
				t.Errorf("distro %q, want %q", distro, tc.distro)
			}
		})
	}
}

func TestListReturnsCopy(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	ctx := context.Background()
	a, err := m.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(a, func(vm api.VM) bool { return vm.OS != nil })
	orig := a[i]
	origOS := *a[i].OS
	a[i].Name = "mutated"
	a[i].State = "mutated"
	a[i].OS.Distro = "mutated"
	b, _ := m.List(ctx)
	if b[i].Name != orig.Name || b[i].State != orig.State || b[i].OS.Distro != origOS.Distro {
		t.Fatalf("mutating a listing changed the index: %+v", b[i])
	}
	g, _ := m.Grants("web01")
	if len(g) == 0 {
		t.Fatal("web01 has no grants")
	}
	g[0].Role = "mutated"
	g2, _ := m.Grants("web01")
	if g2[0].Role == "mutated" {
		t.Fatal("mutating Grants' answer changed the index")
	}
	d, err := m.Get(ctx, "web01")
	if err != nil {
		t.Fatal(err)
	}
	d.OS.Distro = "mutated"
	if vm := mustVM(t, m, "web01"); vm.OS.Distro == "mutated" {
		t.Fatal("mutating Get's answer changed the index")
	}
}

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

// defaultURI is the test driver's shared instance: every connection in the
// process sees the same guests, so changes made on a second connection
// reach the manager as events.
const defaultURI = "test:///default"

func testDomainXML(t *testing.T, name string) string {
	t.Helper()
	doc, err := (&libvirtxml.Domain{
		Type:   "test",
		Name:   name,
		Memory: &libvirtxml.DomainMemory{Value: 1, Unit: "GiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: 3},
		OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		Devices: &libvirtxml.DomainDeviceList{
			Graphics: []libvirtxml.DomainGraphic{{Spice: &libvirtxml.DomainGraphicSpice{AutoPort: "yes"}}},
		},
	}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestEventsFromAnotherConnection(t *testing.T) {
	m := startURI(t, defaultURI)
	var mu sync.Mutex
	var seen []Event
	cancel := m.Subscribe(func(ev Event) {
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
	})
	defer cancel()
	sawEvent := func(kind, name string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.Contains(seen, Event{Kind: kind, Name: name})
		}
	}

	other := openConn(t, defaultURI)
	const name = "evt-guest"
	dom, err := other.DomainDefineXML(testDomainXML(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	t.Cleanup(func() { _ = dom.Destroy(); _ = dom.Undefine() })

	eventually(t, time.Second, "defined guest indexed", func() bool { return m.Exists(name) })
	vm := mustVM(t, m, name)
	if vm.State != api.StateShutoff || vm.VCPUs != 3 || vm.MemoryMiB != 1024 || vm.Graphics != "spice" {
		t.Fatalf("indexed as %+v", vm)
	}
	eventually(t, time.Second, "defined event", sawEvent(EventDefined, name))

	if err := dom.Create(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "start seen", func() bool { return mustVM(t, m, name).State == api.StateRunning })
	eventually(t, time.Second, "state event", sawEvent(EventState, name))

	if err := dom.Suspend(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "suspend seen", func() bool { return mustVM(t, m, name).State == api.StatePaused })

	if err := dom.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := dom.Undefine(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "undefined guest gone", func() bool { return !m.Exists(name) })
	eventually(t, time.Second, "undefined event", sawEvent(EventUndefined, name))
}

func TestMetadataFromAnotherConnection(t *testing.T) {
	m := startURI(t, defaultURI)
	other := openConn(t, defaultURI)
	const name = "md-guest"
	dom, err := other.DomainDefineXML(testDomainXML(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	t.Cleanup(func() { _ = dom.Undefine() })
	eventually(t, time.Second, "guest indexed", func() bool { return m.Exists(name) })
	if g, _ := m.Grants(name); len(g) != 0 {
		t.Fatalf("new guest has grants %v", g)
	}

	want := []api.Grant{
		{Kind: "user", Realm: "pam", Name: "alice", Role: RoleOperator},
		{Kind: "group", Realm: "ldap", Name: "ops", Role: RoleViewer},
	}
	doc, err := MarshalGuestMetadata(GuestMetadata{OS: api.OSInfo{Distro: "debian", Version: "12"}, Grants: want}, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, doc, MetadataPrefix, MetadataNS, libvirt.DOMAIN_AFFECT_CONFIG); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "grants from metadata", func() bool {
		g, _ := m.Grants(name)
		return slices.Equal(g, want)
	})
	if vm := mustVM(t, m, name); vm.OS == nil || vm.OS.Distro != "debian" {
		t.Fatalf("OS not indexed: %+v", vm.OS)
	}

	// A revoke made with virsh is seen just as fast.
	if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, "", MetadataPrefix, MetadataNS, libvirt.DOMAIN_AFFECT_CONFIG); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "grants removed", func() bool {
		g, _ := m.Grants(name)
		return len(g) == 0
	})
}

func TestKimchiMetadata(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	for _, tc := range []struct {
		guest string
		want  []api.Grant
	}{
		{"jenkins-old", []api.Grant{
			{Kind: "user", Realm: "pam", Name: "bob", Role: RoleOperator},
			{Kind: "group", Realm: "pam", Name: "developers", Role: RoleOperator},
		}},
		{"intranet-kimchi", []api.Grant{
			{Kind: "user", Realm: "pam", Name: "alice", Role: RoleOperator},
			{Kind: "user", Realm: "pam", Name: "carol", Role: RoleOperator},
		}},
	} {
		t.Run(tc.guest, func(t *testing.T) {
			g, ok := m.Grants(tc.guest)
			if !ok || !slices.Equal(g, tc.want) {
				t.Fatalf("grants %v, want %v", g, tc.want)
			}
		})
	}

	// Kimchi's metadata as Kimchi wrote it through the API, where libvirt
	// qualifies every child with the prefix.
	c := conn(t, m)
	dom, err := c.LookupDomainByName("vpn")
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, "", MetadataPrefix, MetadataNS, libvirt.DOMAIN_AFFECT_LIVE|libvirt.DOMAIN_AFFECT_CONFIG); err != nil {
		t.Fatal(err)
	}
	kdoc := `<metadata><access><auth type="pam"><user>dave</user></auth></access><os distro="centos" version="7"/></metadata>`
	if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, kdoc, "kimchi", KimchiNS, libvirt.DOMAIN_AFFECT_LIVE|libvirt.DOMAIN_AFFECT_CONFIG); err != nil {
		t.Fatal(err)
	}
	want := []api.Grant{{Kind: "user", Realm: "pam", Name: "dave", Role: RoleOperator}}
	eventually(t, time.Second, "kimchi grants via event", func() bool {
		g, _ := m.Grants("vpn")
		return slices.Equal(g, want)
	})
	if vm := mustVM(t, m, "vpn"); vm.OS == nil || vm.OS.Distro != "centos" {
		t.Fatalf("kimchi OS not used: %+v", vm.OS)
	}
	// A full re-read (as at reconnect) agrees with the event path.
	if err := m.rebuild(false); err != nil {
		t.Fatal(err)
	}
	if g, _ := m.Grants("vpn"); !slices.Equal(g, want) {
		t.Fatalf("after rebuild: %v", g)
	}
}

func TestSetGrants(t *testing.T) {
	ctx := context.Background()
	grants := []api.Grant{
		{Kind: "user", Realm: "pam", Name: "erin", Role: RoleManager},
		{Kind: "group", Realm: "ldap", Name: "cn=ops,ou=groups,dc=example,dc=org", Role: RoleViewer},
		{Kind: "user", Realm: "local", Name: "demo", Role: RoleOperator},
	}
	// The index lists users before groups.
	wantIdx := []api.Grant{grants[0], grants[2], grants[1]}

	for _, guest := range []string{"web01", "web06", "jenkins-old"} { // running, shut off, Kimchi
		t.Run(guest, func(t *testing.T) {
			t.Parallel()
			m := startFixture(t, FixtureOptions{})
			c := conn(t, m)
			dom, err := c.LookupDomainByName(guest)
			if err != nil {
				t.Fatal(err)
			}
			defer dom.Free()
			active, _ := dom.IsActive()
			flagSets := []libvirt.DomainModificationImpact{libvirt.DOMAIN_AFFECT_CONFIG}
			if active {
				flagSets = append(flagSets, libvirt.DOMAIN_AFFECT_LIVE)
			}
			// Something a newer version (or a human) added must survive.
			for _, f := range flagSets {
				cur, err := getMetadata(dom, MetadataNS, f)
				if err != nil {
					t.Fatal(err)
				}
				if cur == "" {
					continue
				}
				g, err := parseGuestMeta(cur)
				if err != nil {
					t.Fatal(err)
				}
				g.Extra = append(g.Extra, rawElement{Attrs: nil, Inner: []byte("keep me")})
				g.Extra[len(g.Extra)-1].XMLName.Local = "note"
				doc, err := marshalGuestMeta(g, false)
				if err != nil {
					t.Fatal(err)
				}
				if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, doc, MetadataPrefix, MetadataNS, f); err != nil {
					t.Fatal(err)
				}
			}

			if err := m.SetGrants(ctx, guest, grants); err != nil {
				t.Fatal(err)
			}
			// Synchronous: no waiting for the event.
			if g, _ := m.Grants(guest); !slices.Equal(g, wantIdx) {
				t.Fatalf("grants %v, want %v", g, wantIdx)
			}
			for _, f := range flagSets {
				cur, err := getMetadata(dom, MetadataNS, f)
				if err != nil {
					t.Fatal(err)
				}
				info, err := infoFromMeta(cur, "")
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(info.grants, wantIdx) {
					t.Fatalf("flags %d: stored grants %v", f, info.grants)
				}
				if guest != "jenkins-old" {
					if info.os == nil || info.os.Distro != "debian" || !strings.Contains(cur, "nic-model=\"virtio\"") || !strings.Contains(cur, "keep me") {
						t.Fatalf("flags %d: <os>, <defaults> or unknown content lost:\n%s", f, cur)
					}
				}
			}
			// Revoking everything leaves an empty <access>, which also
			// overrides Kimchi's grants.
			if err := m.SetGrants(ctx, guest, nil); err != nil {
				t.Fatal(err)
			}
			if g, _ := m.Grants(guest); len(g) != 0 {
				t.Fatalf("after revoke: %v", g)
			}
			if err := m.rebuild(false); err != nil {
				t.Fatal(err)
			}
			if g, _ := m.Grants(guest); len(g) != 0 {
				t.Fatalf("after revoke and rebuild: %v", g)
			}
			if vm := mustVM(t, m, guest); guest != "jenkins-old" && (vm.OS == nil || vm.OS.Distro != "debian") {
				t.Fatalf("OS lost: %+v", vm.OS)
			}
		})
	}

	t.Run("invalid grants", func(t *testing.T) {
		t.Parallel()
		m := startFixture(t, FixtureOptions{})
		for _, bad := range [][]api.Grant{
			{{Kind: "robot", Realm: "pam", Name: "x", Role: RoleViewer}},
			{{Kind: "user", Realm: "pam", Name: "x", Role: "owner"}},
			{{Kind: "user", Realm: "", Name: "x", Role: RoleViewer}},
			{{Kind: "user", Realm: "pam", Name: "", Role: RoleViewer}},
			{{Kind: "user", Realm: "pam", Name: "a\nb", Role: RoleViewer}},
			{{Kind: "user", Realm: "pam", Name: "x", Role: RoleViewer}, {Kind: "user", Realm: "pam", Name: "x", Role: RoleManager}},
		} {
			ae := wantCode(t, m.SetGrants(ctx, "web01", bad), CodeInvalidGrants)
			if len(ae.Details) == 0 {
				t.Fatalf("%v: no details", bad)
			}
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

func TestReconnectRebuildsIndex(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	ctx := context.Background()
	if _, err := m.Action(ctx, "web01", "suspend"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var kinds []string
	defer m.Subscribe(func(ev Event) {
		mu.Lock()
		kinds = append(kinds, ev.Kind+":"+ev.Name)
		mu.Unlock()
	})()

	// Hold the next connection attempt so the gap is observable: the test
	// driver reconnects within microseconds.
	held, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hook := func() { once.Do(func() { close(held); <-release }) }
	m.beforeConnect.Store(&hook)
	defer m.beforeConnect.Store(nil)

	// A new connection to a test:///file URI starts from the file again,
	// which is what a libvirtd restart with changed guests looks like.
	m.Reconnect()
	select {
	case <-held:
	case <-time.After(5 * time.Second):
		t.Fatal("the manager did not try to reconnect")
	}
	wantKind(t, m.Ready(), fault.Unavailable)
	if _, err := m.List(ctx); !fault.IsKind(err, fault.Unavailable) {
		t.Fatalf("List while reconnecting: %v", err)
	}
	close(release)
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	if vm := mustVM(t, m, "web01"); vm.State != api.StateRunning {
		t.Fatalf("web01 is %s after the rebuild", vm.State)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(kinds, "state:web01") || !slices.Contains(kinds, "resync:") {
		t.Fatalf("events %v", kinds)
	}
}

func TestStartWithoutDaemon(t *testing.T) {
	// A URI nothing answers: Start returns at once and Ready says 503.
	m := New(Config{URI: "qemu:///system?socket=/nonexistent/libvirt-sock", Logger: testLogger(t)})
	began := time.Now()
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if time.Since(began) > time.Second {
		t.Fatal("Start blocked")
	}
	wantCode(t, m.Ready(), CodeLibvirtUnavailable)
	_, err := m.List(context.Background())
	wantCode(t, err, CodeLibvirtUnavailable)
	_, err = m.Action(context.Background(), "web01", "start")
	wantCode(t, err, CodeLibvirtUnavailable)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := m.WaitReady(ctx); err == nil {
		t.Fatal("WaitReady succeeded without a connection")
	}
}

func TestLargeFixture(t *testing.T) {
	began := time.Now()
	m := startFixture(t, FixtureOptions{Guests: 1000, Seed: 7})
	t.Logf("1,000 guests loaded and indexed in %v", time.Since(began))
	list, err := m.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1000 || list[0].Name != "vm-0001" || list[999].Name != "vm-1000" {
		t.Fatalf("got %d guests, first %q", len(list), list[0].Name)
	}
	states := map[string]int{}
	for _, vm := range list {
		states[vm.State]++
	}
	if states[api.StateRunning] < 500 || states[api.StateShutoff] < 100 || states[api.StatePaused] < 10 {
		t.Fatalf("states %v", states)
	}
	// Deterministic from the seed.
	dir := t.TempDir()
	a, b := dir+"/a.xml", dir+"/b.xml"
	if err := WriteFixture(a, FixtureOptions{Guests: 50, Seed: 7, ImagesDir: "/x"}); err != nil {
		t.Fatal(err)
	}
	if err := WriteFixture(b, FixtureOptions{Guests: 50, Seed: 7, ImagesDir: "/x"}); err != nil {
		t.Fatal(err)
	}
	if !sameFile(t, a, b) {
		t.Fatal("same seed, different fixtures")
	}
}

func BenchmarkList(b *testing.B) {
	// No sampler in the background: it would be counted in the allocations.
	m := startFixtureCfg(b, FixtureOptions{Guests: 1000, Seed: 1}, Config{StatsInterval: time.Hour})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		list, err := m.List(ctx)
		if err != nil || len(list) != 1000 {
			b.Fatal(len(list), err)
		}
	}
}
