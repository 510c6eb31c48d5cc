package virt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
