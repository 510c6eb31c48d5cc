package virt

import (
	"bytes"
	"math"
	"os"
	"slices"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
)

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

func TestInfoFromMeta(t *testing.T) {
	alice := api.Grant{Kind: "user", Realm: "pam", Name: "alice", Role: api.RoleOperator}
	ops := api.Grant{Kind: "group", Realm: "ldap", Name: "ops", Role: api.RoleViewer}
	kimchiBob := api.Grant{Kind: "user", Realm: "pam", Name: "bob", Role: api.RoleOperator}
	const kimchi = `<kimchi:metadata xmlns:kimchi="https://github.com/kimchi-project/kimchi"><kimchi:access><kimchi:auth type="pam"><kimchi:user>bob</kimchi:user></kimchi:auth></kimchi:access></kimchi:metadata>`
	for _, tc := range []struct {
		name    string
		ours    string
		kimchi  string
		want    []api.Grant
		distro  string
		wantErr bool
	}{
		{name: "ours as GetMetadata returns it",
			ours: `<guest><os distro="debian" version="12" arch="x86_64"/><access><user realm="pam" name="alice" role="operator"/><group realm="ldap" name="ops" role="viewer"/></access></guest>`,
			want: []api.Grant{alice, ops}, distro: "debian"},
		{name: "ours as stored, children qualified",
			ours: `<virtportal:guest xmlns:virtportal="https://virtportal.org/xmlns/guest/1"><virtportal:access><virtportal:group realm="ldap" name="ops" role="viewer"/></virtportal:access></virtportal:guest>`,
			want: []api.Grant{ops}},
		{name: "bad entries are dropped",
			ours: `<guest><access><user realm="pam" name="alice" role="operator"/><user realm="pam" name="x" role="root"/><user name="norealm" role="viewer"/><robot realm="pam" name="r" role="viewer"/></access></guest>`,
			want: []api.Grant{alice}},
		{name: "kimchi when ours is absent", kimchi: kimchi, want: []api.Grant{kimchiBob}},
		{name: "kimchi when ours has no access",
			ours: `<guest><os distro="debian"/></guest>`, kimchi: kimchi, want: []api.Grant{kimchiBob}, distro: "debian"},
		{name: "empty access of ours overrides kimchi",
			ours: `<guest><access/></guest>`, kimchi: kimchi, want: []api.Grant{}},
		{name: "kimchi old shape",
			kimchi: `<kimchi:access xmlns:kimchi="https://github.com/kimchi-project/kimchi"><auth type="ldap"><user>carol</user><group>admins</group></auth><auth type="weird"><user>x</user></auth></kimchi:access>`,
			want:   []api.Grant{{Kind: "user", Realm: "ldap", Name: "carol", Role: api.RoleOperator}, {Kind: "group", Realm: "ldap", Name: "admins", Role: api.RoleOperator}}},
		{name: "malformed ours grants nothing, not kimchi's",
			ours: `<guest><access><user`, kimchi: kimchi, wantErr: true},
		{name: "nothing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := infoFromMeta(tc.ours, tc.kimchi)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v", err)
			}
			if len(info.grants) != len(tc.want) || (len(tc.want) > 0 && !slices.Equal(info.grants, tc.want)) {
				t.Fatalf("grants %v, want %v", info.grants, tc.want)
			}
			distro := ""
			if info.os != nil {
				distro = info.os.Distro
			}
			if distro != tc.distro {
				t.Fatalf("distro %q, want %q", distro, tc.distro)
			}
		})
	}
}

func TestSplitMetadata(t *testing.T) {
	inner := `
    <other:thing xmlns:other="https://example.org/x"><a/></other:thing>
    <virtportal:guest xmlns:virtportal="https://virtportal.org/xmlns/guest/1"><access/></virtportal:guest>
    <kimchi:metadata xmlns:kimchi="https://github.com/kimchi-project/kimchi"><access/></kimchi:metadata>`
	ours, kimchi, err := splitMetadata(inner)
	if err != nil {
		t.Fatal(err)
	}
	if ours != `<virtportal:guest xmlns:virtportal="https://virtportal.org/xmlns/guest/1"><access/></virtportal:guest>` {
		t.Fatalf("ours %q", ours)
	}
	if kimchi != `<kimchi:metadata xmlns:kimchi="https://github.com/kimchi-project/kimchi"><access/></kimchi:metadata>` {
		t.Fatalf("kimchi %q", kimchi)
	}
}

func TestWithAccessKeepsTheRest(t *testing.T) {
	cur := `<guest xmlns="https://virtportal.org/xmlns/guest/1" future="yes"><os distro="debian" version="12" arch="x86_64" flavour="x"/><defaults nic-model="virtio" disk-bus="virtio" cdrom-bus="sata"/><access><user realm="pam" name="old" role="viewer"/></access><schedule at="02:00">nightly</schedule></guest>`
	doc, err := withAccess(cur, []api.Grant{{Kind: "group", Realm: "pam", Name: "wheel", Role: api.RoleManager}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`future="yes"`, `distro="debian"`, `flavour="x"`, `cdrom-bus="sata"`, `<schedule at="02:00">nightly</schedule>`, `<group realm="pam" name="wheel" role="manager">`} {
		if !bytes.Contains([]byte(doc), []byte(want)) {
			t.Errorf("lost %s in %s", want, doc)
		}
	}
	if bytes.Contains([]byte(doc), []byte("old")) || bytes.Contains([]byte(doc), []byte("xmlns")) {
		t.Errorf("old grant or namespace left in %s", doc)
	}
	info, err := infoFromMeta(doc, "")
	if err != nil || len(info.grants) != 1 || info.grants[0].Name != "wheel" {
		t.Fatalf("round trip: %v %v", info, err)
	}
}

func TestRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	mk := func(at time.Time, cpu, rd, wr, rx, tx uint64) *libvirt.DomainStats {
		return &libvirt.DomainStats{
			State:   &libvirt.DomainStatsState{StateSet: true, State: libvirt.DOMAIN_RUNNING},
			Cpu:     &libvirt.DomainStatsCPU{TimeSet: true, Time: cpu},
			Vcpu:    []libvirt.DomainStatsVcpu{{StateSet: true}, {StateSet: true}},
			Block:   []libvirt.DomainStatsBlock{{RdBytesSet: true, RdBytes: rd, WrBytesSet: true, WrBytes: wr}},
			Net:     []libvirt.DomainStatsNet{{RxBytesSet: true, RxBytes: rx, TxBytesSet: true, TxBytes: tx}},
			Balloon: &libvirt.DomainStatsBalloon{AvailableSet: true, Available: 1000, UnusedSet: true, Unused: 250},
		}
	}
	prev := sampleOf(mk(t0, 0, 0, 0, 0, 0), t0)
	// 2 s, 2 vCPUs, 1 s of CPU time: 25 %.
	t1 := t0.Add(2 * time.Second)
	cur := sampleOf(mk(t1, 1e9, 4096, 8192, 1000, 2000), t1)
	var vm api.VM
	setRates(&vm, prev, cur)
	if math.Abs(vm.CPUPercent-25) > 1e-9 || vm.MemPercent != 75 || vm.DiskReadBps != 2048 || vm.DiskWriteBps != 4096 || vm.NetRxBps != 500 || vm.NetTxBps != 1000 {
		t.Fatalf("rates %+v", vm)
	}
	// Counters going backwards (restart) give 0, never negative or huge.
	setRates(&vm, cur, sampleOf(mk(t1.Add(time.Second), 10, 1, 1, 1, 1), t1.Add(time.Second)))
	if vm.CPUPercent != 0 || vm.DiskReadBps != 0 || vm.NetTxBps != 0 {
		t.Fatalf("after reset %+v", vm)
	}
	// RSS fallback and clamping.
	s := sampleOf(&libvirt.DomainStats{Balloon: &libvirt.DomainStatsBalloon{RssSet: true, Rss: 3000, CurrentSet: true, Current: 2000}}, t0)
	if s.memPct != 100 {
		t.Fatalf("mem %v", s.memPct)
	}
	if s := sampleOf(&libvirt.DomainStats{}, t0); s.hasMem || s.hasCPU {
		t.Fatalf("empty stats %+v", s)
	}
}

func TestSampleStatsOnTestDriver(t *testing.T) {
	// The test driver reports state only: rates stay 0, nothing fails.
	m := startFixture(t, FixtureOptions{})
	for range 2 {
		if err := m.sampleStats(); err != nil {
			t.Fatal(err)
		}
	}
	vm := mustVM(t, m, "web01")
	if vm.CPUPercent != 0 || vm.DiskReadBps != 0 {
		t.Fatalf("%+v", vm)
	}
}

func TestMemMiB(t *testing.T) {
	for _, tc := range []struct {
		v    uint64
		unit string
		want uint64
	}{
		{2097152, "KiB", 2048}, {2097152, "", 2048}, {2048, "MiB", 2048}, {2, "GiB", 2048},
		{2 << 30, "bytes", 2048}, {1, "T", 1 << 20},
	} {
		if got := memMiB(tc.v, tc.unit); got != tc.want {
			t.Errorf("%d %s: %d, want %d", tc.v, tc.unit, got, tc.want)
		}
	}
}
