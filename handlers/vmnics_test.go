package handlers

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// nicEnv is the test driver with the shut-off guest backup (on the
// isolated network) managed by mgr, operated by op and viewed by view.
func nicEnv(t *testing.T) (*env, string) {
	t.Helper()
	e := newEnv(t)
	const g = "backup"
	if err := e.vm.SetGrants(context.Background(), g, []api.Grant{
		{Kind: "user", Realm: "local", Name: "mgr", Role: rbac.RoleManager},
		{Kind: "user", Realm: "local", Name: "op", Role: rbac.RoleOperator},
		{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer},
	}); err != nil {
		t.Fatal(err)
	}
	return e, g
}

func nicsOf(t *testing.T, c *client, g string) api.NICList {
	t.Helper()
	var l api.NICList
	r := c.do("GET", "/api/v1/vms/"+g+"/nics", nil)
	want(t, r, 200, "")
	r.decode(t, &l)
	return l
}

func TestNICRoutes(t *testing.T) {
	e, g := nicEnv(t)
	admin, mgr, op, view := e.as("local", "admin"), e.as("local", "mgr"), e.as("local", "op"), e.as("local", "view")
	base := "/api/v1/vms/" + g + "/nics"

	l := nicsOf(t, mgr, g)
	if l.DefaultModel != "virtio" || len(l.Items) != 1 || !slices.Equal(l.Networks, []string{virt.FixtureNetIsolated}) ||
		!slices.Equal(l.Types, []string{"network"}) || l.Live {
		t.Fatalf("manager's list = %+v", l)
	}
	if al := nicsOf(t, admin, g); !slices.Equal(al.Types, []string{"network", "bridge", "direct"}) || len(al.Networks) != 2 {
		t.Fatalf("admin's list = %+v", al)
	}
	// The viewer and the operator read, and change nothing.
	nicsOf(t, view, g)
	for _, c := range []*client{view, op} {
		want(t, c.do("POST", base, api.NICRequest{Source: virt.FixtureNetIsolated}), 403, "forbidden")
		want(t, c.do("PUT", base+"/"+l.Items[0].MAC, api.NICRequest{Link: "down"}), 403, "forbidden")
		want(t, c.do("DELETE", base+"/"+l.Items[0].MAC, nil), 403, "forbidden")
	}

	// Bad input: a clear error, and nothing changes.
	other := nicsOf(t, admin, "vpn").Items[0].MAC
	for _, tc := range []struct {
		name   string
		c      *client
		body   any
		status int
		code   string
	}{
		{"a network its guests do not use", mgr, api.NICRequest{Source: virt.FixtureNetDefault}, 403, "nic_source_not_allowed"},
		{"a host bridge as a manager", mgr, api.NICRequest{Type: "bridge", Source: "br0"}, 403, "nic_source_not_allowed"},
		{"macvtap as a manager", mgr, api.NICRequest{Type: "direct", Source: "eth0"}, 403, "nic_source_not_allowed"},
		{"another guest's MAC", admin, api.NICRequest{Source: virt.FixtureNetDefault, MAC: other}, 409, "mac_in_use"},
		{"multicast MAC", mgr, api.NICRequest{Source: virt.FixtureNetIsolated, MAC: "03:00:00:00:00:01"}, 400, "invalid_mac"},
		{"unknown model", mgr, api.NICRequest{Source: virt.FixtureNetIsolated, Model: "pcnet"}, 400, "unknown_nic_model"},
		{"no network", mgr, api.NICRequest{}, 400, "nic_source_required"},
		{"missing network", admin, api.NICRequest{Source: "nowhere"}, 404, "network_not_found"},
		{"traversal", admin, api.NICRequest{Source: "../default"}, 400, "invalid_name"},
		{"unknown field", mgr, `{"source":"isolated","vlan":5}`, 400, ""},
		{"huge field", mgr, `{"source":"` + strings.Repeat("x", 70000) + `"}`, 413, ""},
		{"not json", mgr, `source=isolated`, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want(t, tc.c.do("POST", base, tc.body), tc.status, tc.code)
			if got := nicsOf(t, admin, g); len(got.Items) != 1 {
				t.Fatalf("NICs now %+v", got.Items)
			}
		})
	}
	if r := admin.do("POST", base, api.NICRequest{Source: virt.FixtureNetDefault, MAC: other}); !strings.Contains(string(r.body), `\"vpn\"`) {
		t.Fatalf("the 409 does not name the guest: %s", r.body)
	}
	// No CSRF header: refused before anything happens.
	want(t, mgr.do("POST", base, api.NICRequest{Source: virt.FixtureNetIsolated}, csrfHeader, ""), 403, "")

	// The manager adds, edits and removes; each lands in the audit log.
	var ch api.NICChange
	r := mgr.do("POST", base, api.NICRequest{Source: virt.FixtureNetIsolated, Model: "e1000"})
	want(t, r, 201, "")
	r.decode(t, &ch)
	if ch.Applies != api.AppliesNow || ch.NIC.Model != "e1000" || !strings.HasPrefix(ch.NIC.MAC, "52:54:00:") {
		t.Fatalf("add = %+v", ch)
	}
	mac := ch.NIC.MAC
	r = mgr.do("PUT", base+"/"+strings.ToUpper(mac), api.NICRequest{Link: "down"})
	want(t, r, 200, "")
	r.decode(t, &ch)
	if ch.NIC.Link != "down" || ch.Applies != api.AppliesNow {
		t.Fatalf("link down = %+v", ch)
	}
	want(t, mgr.do("PUT", base+"/"+mac, api.NICRequest{Model: "ne2k"}), 400, "unknown_nic_model")
	want(t, mgr.do("PUT", base+"/52:54:00:00:00:01", api.NICRequest{Link: "up"}), 404, "nic_not_found")
	want(t, mgr.do("PUT", base+"/not-a-mac", api.NICRequest{Link: "up"}), 400, "invalid_mac")
	want(t, mgr.do("DELETE", base+"/"+mac, nil), 200, "")
	if got := nicsOf(t, mgr, g); len(got.Items) != 1 {
		t.Fatalf("NICs after removal = %+v", got.Items)
	}
	for _, a := range []string{"vm.nic.add", "vm.nic.update", "vm.nic.remove"} {
		evs := e.audit(store.AuditFilter{Action: a})
		if len(evs) == 0 || evs[0].Target != "vm:"+g {
			t.Fatalf("audit %s = %+v", a, evs)
		}
	}
	// A running guest on the test driver: saved for the next boot.
	r = admin.do("POST", "/api/v1/vms/vpn/nics", api.NICRequest{Source: virt.FixtureNetDefault})
	want(t, r, 201, "")
	r.decode(t, &ch)
	if ch.Applies != api.AppliesNextBoot {
		t.Fatalf("add to a running test guest = %+v", ch)
	}
}

func TestSnapshotRoutes(t *testing.T) {
	e, g := nicEnv(t)
	admin, mgr, op, view := e.as("local", "admin"), e.as("local", "mgr"), e.as("local", "op"), e.as("local", "view")
	base := "/api/v1/vms/" + g + "/snapshots"
	list := func(c *client) api.SnapshotList {
		var l api.SnapshotList
		r := c.do("GET", base, nil)
		want(t, r, 200, "")
		r.decode(t, &l)
		return l
	}
	if l := list(view); len(l.Items) != 0 || !l.Capabilities.Create || l.Capabilities.Note != "test_driver" {
		t.Fatalf("list = %+v", l)
	}
	for _, c := range []*client{view, op} {
		want(t, c.do("POST", base, api.SnapshotRequest{Name: "s1"}), 403, "forbidden")
	}
	yes := true
	for _, tc := range []struct {
		body   any
		status int
		code   string
	}{
		{api.SnapshotRequest{Name: "../x"}, 400, "invalid_name"},
		{api.SnapshotRequest{Name: "a*"}, 400, "invalid_name"},
		{api.SnapshotRequest{Name: "ok", Description: strings.Repeat("d", 1001)}, 400, "invalid_description"},
		{api.SnapshotRequest{Name: "ok", Memory: &yes}, 409, "snapshot_memory_unsupported"},
		{`{"name":"ok","memory":"yes"}`, 400, ""},
	} {
		want(t, mgr.do("POST", base, tc.body), tc.status, tc.code)
	}
	if l := list(admin); len(l.Items) != 0 {
		t.Fatalf("a refusal made %+v", l.Items)
	}
	var tk api.Task
	r := mgr.do("POST", base, api.SnapshotRequest{Name: "before-upgrade", Description: "clean"})
	want(t, r, 202, "")
	r.decode(t, &tk)
	if tk = mgr.waitTask(t, tk.ID); tk.Status != store.TaskDone || tk.Kind != "vm.snapshot.create" {
		t.Fatalf("task = %+v", tk)
	}
	want(t, mgr.do("POST", base, api.SnapshotRequest{Name: "before-upgrade"}), 409, "snapshot_exists")
	r = mgr.do("POST", base, api.SnapshotRequest{Name: "after"})
	want(t, r, 202, "")
	r.decode(t, &tk)
	mgr.waitTask(t, tk.ID)
	l := list(view)
	if len(l.Items) != 2 || l.Items[0].Name != "before-upgrade" || l.Items[1].Parent != "before-upgrade" || l.Current != "after" {
		t.Fatalf("list = %+v", l)
	}
	want(t, view.do("POST", base+"/before-upgrade/revert", nil), 403, "forbidden")
	want(t, mgr.do("POST", base+"/before-upgrade/revert", nil), 200, "")
	if l = list(mgr); l.Current != "before-upgrade" {
		t.Fatalf("current after revert = %q", l.Current)
	}
	want(t, mgr.do("POST", base+"/nope/revert", nil), 404, "snapshot_not_found")
	want(t, op.do("DELETE", base+"/after", nil), 403, "forbidden")
	want(t, mgr.do("DELETE", base+"/before-upgrade", nil), 204, "")
	if l = list(mgr); len(l.Items) != 1 || l.Items[0].Parent != "" {
		t.Fatalf("after deleting the root = %+v", l)
	}
	for _, a := range []string{"vm.snapshot.create", "vm.snapshot.revert", "vm.snapshot.delete"} {
		if evs := e.audit(store.AuditFilter{Action: a}); len(evs) == 0 {
			t.Fatalf("no audit %s", a)
		}
	}
}

func TestHostDeviceRoutes(t *testing.T) {
	e, g := nicEnv(t)
	admin, mgr := e.as("local", "admin"), e.as("local", "mgr")
	want(t, mgr.do("GET", "/api/v1/hosts/local/devices", nil), 403, "forbidden")
	want(t, mgr.do("GET", "/api/v1/vms/"+g+"/hostdevs", nil), 403, "forbidden")
	want(t, mgr.do("POST", "/api/v1/vms/"+g+"/hostdevs", api.HostDevAttach{Device: virt.FixtureUSBKey}), 403, "forbidden")
	var l api.HostDeviceList
	r := admin.do("GET", "/api/v1/hosts/local/devices", nil)
	want(t, r, 200, "")
	r.decode(t, &l)
	if len(l.Items) != 3 || l.IOMMU {
		t.Fatalf("devices = %+v", l)
	}
	r = admin.do("POST", "/api/v1/vms/"+g+"/hostdevs", api.HostDevAttach{Device: virt.FixturePCINIC})
	want(t, r, 409, "iommu_off")
	want(t, admin.do("POST", "/api/v1/vms/"+g+"/hostdevs", api.HostDevAttach{Device: "../../sys"}), 400, "invalid_hostdev")
	var ch api.HostDevChange
	r = admin.do("POST", "/api/v1/vms/"+g+"/hostdevs", api.HostDevAttach{Device: virt.FixtureUSBKey})
	want(t, r, 201, "")
	r.decode(t, &ch)
	want(t, admin.do("POST", "/api/v1/vms/vpn/hostdevs", api.HostDevAttach{Device: virt.FixtureUSBKey}), 409, "hostdev_in_use")
	want(t, admin.do("DELETE", "/api/v1/vms/"+g+"/hostdevs/"+ch.Device.ID, nil), 200, "")
	if evs := e.audit(store.AuditFilter{Action: "vm.hostdev.attach", Result: "error:iommu_off"}); len(evs) != 1 {
		t.Fatalf("audit = %+v", evs)
	}
}
