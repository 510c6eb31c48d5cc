package handlers

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

const poolsURL = "/api/v1/hosts/local/pools"

// hostileNames are names no pool or volume may take, sent in bodies and
// (escaped) in paths.
var hostileNames = []string{"../x", "/etc/x", "x/../../y", "a\x00b", "..", ".x", "a*b", "vоl" /* Cyrillic о */, "ｖｏｌ", strings.Repeat("a", 256), strings.Repeat("b", 300)}

func TestPoolsView(t *testing.T) {
	e := newEnv(t)
	admin, auditor, alice := e.as("local", "admin"), e.as("test", "audrey"), e.as("local", "alice")
	var l api.PoolList
	r := admin.do("GET", poolsURL, nil)
	want(t, r, 200, "")
	r.decode(t, &l)
	if len(l.Items) < 2 || l.Items[0].Name != virt.FixturePoolDefault || l.Items[0].Path == "" || l.Items[0].Available == 0 {
		t.Fatalf("admin's pools %+v", l.Items)
	}
	if !slices.Equal(l.AllowedActions, []string{"pool.read", "pool.manage", "volume.manage"}) {
		t.Fatalf("admin's actions %v", l.AllowedActions)
	}
	r = auditor.do("GET", poolsURL, nil)
	want(t, r, 200, "")
	var al api.PoolList // fresh: decoding into l would keep omitted paths
	r.decode(t, &al)
	if !slices.Equal(al.AllowedActions, []string{"pool.read"}) {
		t.Fatalf("auditor's actions %v", al.AllowedActions)
	}
	for _, p := range al.Items {
		if p.Path != "" {
			t.Fatalf("an auditor sees the path of %s", p.Name)
		}
	}
	var vl api.VolumeList
	r = auditor.do("GET", poolsURL+"/default/volumes", nil)
	want(t, r, 200, "")
	r.decode(t, &vl)
	if len(vl.Items) == 0 || vl.Items[0].Path != "" {
		t.Fatalf("auditor's volumes %+v", vl.Items)
	}
	// A user without guests sees no pools; one with a guest sees the
	// name and free space of its pool; neither sees a pool itself.
	var ul api.PoolList
	r = alice.do("GET", poolsURL, nil)
	want(t, r, 200, "")
	if r.decode(t, &ul); len(ul.Items) != 0 {
		t.Fatalf("a user without guests sees pools %+v", ul.Items)
	}
	guest := e.guestIn(api.StateShutoff)
	if err := e.vm.SetGrants(context.Background(), guest, []api.Grant{{Kind: "user", Realm: "local", Name: "alice", Role: rbac.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	r = alice.do("GET", poolsURL, nil)
	want(t, r, 200, "")
	ul = api.PoolList{}
	r.decode(t, &ul)
	names := []string{}
	for _, p := range ul.Items {
		names = append(names, p.Name)
		if p.Available == 0 || p.Path != "" || p.Capacity != 0 || p.Type != "" || p.Volumes != 0 {
			t.Fatalf("a user sees more than name and free space: %+v", p)
		}
	}
	if !slices.Contains(names, virt.FixturePoolDefault) || slices.Contains(names, "nope") {
		t.Fatalf("the user's pools %v", names)
	}
	want(t, alice.do("GET", poolsURL+"/default", nil), 404, "pool_not_found")
	want(t, alice.do("GET", poolsURL+"/default/volumes", nil), 404, "pool_not_found")
	want(t, auditor.do("POST", poolsURL+"/default/refresh", nil), 403, "forbidden")
	want(t, admin.do("GET", "/api/v1/hosts/elsewhere/pools/default", nil), 404, "host_not_found")
	want(t, admin.do("GET", poolsURL+"/nope", nil), 404, "pool_not_found")
	want(t, admin.do("GET", poolsURL+"/default/volumes/nope.qcow2", nil), 404, "volume_not_found")
}

func TestPoolLifecycle(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	dir := filepath.Join(t.TempDir(), "extra")
	var p api.Pool
	r := admin.do("POST", poolsURL, api.PoolRequest{Name: "extra", Type: "dir", Path: dir})
	want(t, r, 201, "")
	r.decode(t, &p)
	if p.Name != "extra" || p.State != api.PoolRunning || p.Path != dir {
		t.Fatalf("defined %+v", p)
	}
	if evs := e.audit(store.AuditFilter{Action: "pool.define"}); len(evs) != 1 || evs[0].Target != "pool:extra" || evs[0].Result != "ok" {
		t.Fatalf("audit %+v", evs)
	}
	want(t, admin.do("POST", poolsURL, api.PoolRequest{Name: "extra", Type: "dir", Path: dir + "2"}), 409, "pool_exists")
	want(t, admin.do("DELETE", poolsURL+"/extra", nil), 409, "pool_active")
	r = admin.do("PUT", poolsURL+"/extra/autostart", api.Autostart{Autostart: true})
	want(t, r, 200, "")
	if r.decode(t, &p); !p.Autostart {
		t.Fatalf("autostart %+v", p)
	}
	want(t, admin.do("POST", poolsURL+"/extra/refresh", nil), 200, "")
	want(t, admin.do("POST", poolsURL+"/extra/stop", nil), 200, "")
	want(t, admin.do("POST", poolsURL+"/extra/stop", nil), 409, "pool_inactive")
	want(t, admin.do("GET", poolsURL+"/extra/volumes", nil), 409, "pool_inactive")
	want(t, admin.do("POST", poolsURL+"/extra/start", nil), 200, "")
	want(t, admin.do("POST", poolsURL+"/extra/stop", nil), 200, "")
	want(t, admin.do("DELETE", poolsURL+"/extra", nil), 204, "")
	want(t, admin.do("GET", poolsURL+"/extra", nil), 404, "pool_not_found")
	for _, a := range []string{"pool.autostart", "pool.refresh", "pool.stop", "pool.start", "pool.delete"} {
		if evs := e.audit(store.AuditFilter{Action: a, Target: "pool:extra"}); len(evs) == 0 {
			t.Errorf("%s not audited", a)
		}
	}

	// The default pool holds the disks of running guests.
	r = admin.do("POST", poolsURL+"/default/stop", nil)
	want(t, r, 409, "pool_in_use")
	if running := e.guestIn(api.StateRunning); !strings.Contains(string(r.body), running) {
		t.Fatalf("the refusal does not name %s: %s", running, r.body)
	}
	want(t, admin.do("DELETE", poolsURL+"/default", nil), 409, "pool_active")

	for _, tc := range []struct {
		name string
		req  any
		code string
	}{
		{"relative path", api.PoolRequest{Name: "p", Type: "dir", Path: "srv/p"}, "invalid_pool_path"},
		{"dotdot path", api.PoolRequest{Name: "p", Type: "dir", Path: "/srv/../etc"}, "invalid_pool_path"},
		{"type", api.PoolRequest{Name: "p", Type: "zfs", Path: "/srv/p"}, "unknown_pool_type"},
		{"unknown field", `{"name":"p","type":"dir","path":"/srv/p","source":"x"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.do("POST", poolsURL, tc.req)
			if r.status != 400 || (tc.code != "" && r.errCode() != tc.code) {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
	// Every type is definable; hostile source fields answer 400 and
	// define nothing.
	for _, tc := range []struct {
		name  string
		req   api.PoolRequest
		field string
	}{
		{"iscsi without target", api.PoolRequest{Name: "p", Type: "iscsi", Source: &api.PoolSource{Host: "san"}}, "source.iqn"},
		{"iscsi iqn injection", api.PoolRequest{Name: "p", Type: "iscsi", Source: &api.PoolSource{Host: "san", IQN: "iqn.2004-04.org.x:a\"/><x"}}, "source.iqn"},
		{"iscsi hostile host", api.PoolRequest{Name: "p", Type: "iscsi", Source: &api.PoolSource{Host: "../san", IQN: "iqn.2004-04.org.example:d"}}, "source.host"},
		{"scsi adapter", api.PoolRequest{Name: "p", Type: "scsi", Source: &api.PoolSource{Adapter: "host0/../x"}}, "source.adapter"},
		{"fs device /etc", api.PoolRequest{Name: "p", Type: "fs", Path: "/srv/p", Source: &api.PoolSource{Devices: []string{"/etc/shadow"}}}, "source.devices"},
		{"fs device x/../../y", api.PoolRequest{Name: "p", Type: "fs", Path: "/srv/p", Source: &api.PoolSource{Devices: []string{"/dev/x/../../y"}}}, "source.devices"},
		{"disk device NUL", api.PoolRequest{Name: "p", Type: "disk", Source: &api.PoolSource{Devices: []string{"/dev/sd\x00b"}}}, "source.devices"},
		{"logical vg look-alike", api.PoolRequest{Name: "p", Type: "logical", Source: &api.PoolSource{Name: "vg\u0430"}}, ""},
		{"logical path /etc/x", api.PoolRequest{Name: "p", Type: "logical", Path: "/etc/../x"}, "path"},
		{"dir with devices", api.PoolRequest{Name: "p", Type: "dir", Path: "/srv/p", Source: &api.PoolSource{Devices: []string{"/dev/sdb"}}}, "source.devices"},
		{"netfs dir too long", api.PoolRequest{Name: "p", Type: "netfs", Path: "/srv/p", Source: &api.PoolSource{Host: "nas", Dir: "/" + strings.Repeat("a", 2000)}}, "source.dir"},
		{"unknown type", api.PoolRequest{Name: "p", Type: "zfs", Path: "/srv/p"}, "type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.do("POST", poolsURL, tc.req)
			if r.status != 400 {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			if tc.field != "" && !strings.Contains(string(r.body), `"field":"`+tc.field+`"`) {
				t.Fatalf("the refusal does not name %s: %s", tc.field, r.body)
			}
		})
	}
	// Each type defines on the test driver (which builds nothing).
	for _, req := range []api.PoolRequest{
		{Name: "fs0", Type: "fs", Path: dir + "-fs", Source: &api.PoolSource{Devices: []string{"/dev/sdb1"}, Format: "xfs"}},
		{Name: "san", Type: "iscsi", Source: &api.PoolSource{Host: "192.0.2.7", IQN: "iqn.2004-04.org.example:disk1"}},
		{Name: "hba", Type: "scsi", Source: &api.PoolSource{Adapter: "host3"}},
		{Name: "disk0", Type: "disk", Build: true, Source: &api.PoolSource{Devices: []string{"/dev/sdd"}, Format: "gpt"}},
		{Name: "vg9", Type: "logical", Build: true, Source: &api.PoolSource{Devices: []string{"/dev/sde"}}},
	} {
		r := admin.do("POST", poolsURL, req)
		want(t, r, 201, "")
		var got api.Pool
		if r.decode(t, &got); got.Type != req.Type || got.State != api.PoolRunning {
			t.Fatalf("defined %+v", got)
		}
		want(t, admin.do("POST", poolsURL+"/"+req.Name+"/stop", nil), 200, "")
		want(t, admin.do("DELETE", poolsURL+"/"+req.Name, nil), 204, "")
	}
	want(t, admin.do("POST", poolsURL, api.PoolRequest{Name: "p", Type: "netfs", Path: "/srv/p",
		Source: &api.PoolSource{Host: "nas\nx", Dir: "/export"}}), 400, "invalid_pool_source")
	for _, n := range hostileNames {
		t.Run("hostile "+n, func(t *testing.T) {
			want(t, admin.do("POST", poolsURL, api.PoolRequest{Name: n, Type: "dir", Path: "/srv/p"}), 400, "invalid_name")
			want(t, admin.do("GET", poolsURL+"/"+url.PathEscape(n), nil), 400, "invalid_name")
		})
	}
	var l api.PoolList
	admin.do("GET", poolsURL, nil).decode(t, &l)
	if len(l.Items) != 2 {
		t.Fatalf("refused definitions left pools: %+v", l.Items)
	}
}

func TestVolumeRoutes(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	vols := poolsURL + "/default/volumes"
	var vl api.VolumeList
	admin.do("GET", vols, nil).decode(t, &vl)
	count := len(vl.Items)
	var used api.Volume
	for _, v := range vl.Items {
		if len(v.UsedBy) > 0 {
			used = v
		}
	}
	if used.Name == "" {
		t.Fatalf("no volume in use among %+v", vl.Items)
	}

	t.Run("create", func(t *testing.T) {
		r := admin.do("POST", vols, api.VolumeRequest{Name: "data.qcow2", Capacity: 1 << 30})
		want(t, r, 202, "")
		var tk api.Task
		r.decode(t, &tk)
		if r.header.Get("Location") == "" || tk.Kind != "volume.create" || tk.Target != "volume:default/data.qcow2" {
			t.Fatalf("task %+v", tk)
		}
		if tk = admin.waitTask(t, tk.ID); tk.Status != store.TaskDone {
			t.Fatalf("task ended %+v", tk)
		}
		var v api.Volume
		r = admin.do("GET", vols+"/data.qcow2", nil)
		want(t, r, 200, "")
		if r.decode(t, &v); v.Format != "qcow2" || v.Capacity != 1<<30 || len(v.UsedBy) != 0 || v.Path == "" {
			t.Fatalf("volume %+v", v)
		}
		if evs := e.audit(store.AuditFilter{Action: "volume.create"}); len(evs) != 1 || evs[0].Target != "volume:default/data.qcow2" {
			t.Fatalf("audit %+v", evs)
		}
		want(t, admin.do("POST", vols, api.VolumeRequest{Name: "data.qcow2", Capacity: 1}), 409, "volume_exists")
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			req  any
			code string
		}{
			{"no capacity", api.VolumeRequest{Name: "v"}, "invalid_capacity"},
			{"format", api.VolumeRequest{Name: "v", Capacity: 1, Format: "vmdk"}, "unknown_volume_format"},
			{"too big thick", api.VolumeRequest{Name: "v", Capacity: 1 << 49, Thick: true}, "insufficient_space"},
		} {
			r := admin.do("POST", vols, tc.req)
			if r.status/100 != 4 || r.errCode() != tc.code {
				t.Fatalf("%s: got %d %s", tc.name, r.status, r.body)
			}
		}
		for _, n := range hostileNames {
			want(t, admin.do("POST", vols, api.VolumeRequest{Name: n, Capacity: 1}), 400, "invalid_name")
			if n != ".." { // the client cleans "/..": that request is another path
				want(t, admin.do("GET", vols+"/"+url.PathEscape(n), nil), 400, "invalid_name")
				want(t, admin.do("DELETE", vols+"/"+url.PathEscape(n), nil), 400, "invalid_name")
			}
		}
	})
	t.Run("in use", func(t *testing.T) {
		r := admin.do("DELETE", vols+"/"+used.Name, nil)
		want(t, r, 409, "volume_in_use")
		if !strings.Contains(string(r.body), used.UsedBy[0]) {
			t.Fatalf("the refusal does not name %s: %s", used.UsedBy[0], r.body)
		}
	})
	t.Run("resize", func(t *testing.T) {
		want(t, admin.do("POST", vols+"/data.qcow2/resize", api.VolumeResize{Capacity: 1 << 20}), 400, "volume_shrink")
		// The test driver has no volume resize.
		want(t, admin.do("POST", vols+"/data.qcow2/resize", api.VolumeResize{Capacity: 2 << 30}), 501, "not_supported")
	})
	t.Run("delete", func(t *testing.T) {
		want(t, admin.do("DELETE", vols+"/data.qcow2", nil), 204, "")
		want(t, admin.do("GET", vols+"/data.qcow2", nil), 404, "volume_not_found")
		if evs := e.audit(store.AuditFilter{Action: "volume.delete", Target: "volume:default/data.qcow2"}); len(evs) != 1 || evs[0].Result != "ok" {
			t.Fatalf("audit %+v", evs)
		}
	})
	admin.do("GET", vols, nil).decode(t, &vl)
	if len(vl.Items) != count {
		t.Fatalf("volumes: %d, want %d as before", len(vl.Items), count)
	}
	if r := admin.do("GET", vols, nil); r.status != http.StatusOK {
		t.Fatal(r.status)
	}
}

// Many parallel creations of one name: one volume; every answer is a
// 202 (a task, which may then fail) or a 409, never a 5xx.
func TestVolumeCreateParallel(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	if done := parallelTasks(t, admin, 24, func() resp {
		return admin.do("POST", poolsURL+"/default/volumes", api.VolumeRequest{Name: "same.qcow2", Capacity: 1 << 20})
	}); done != 1 {
		t.Fatalf("%d tasks created the volume", done)
	}
	want(t, admin.do("GET", poolsURL+"/default/volumes/same.qcow2", nil), 200, "")
}

// parallelTasks sends n requests at once; each must answer 202 (a task,
// waited for), 409 or 429. It returns how many tasks ended done.
func parallelTasks(t *testing.T, c *client, n int, send func() resp) int {
	t.Helper()
	var wg sync.WaitGroup
	results := make([]resp, n)
	for i := range n {
		wg.Go(func() { results[i] = send() })
	}
	wg.Wait()
	done := 0
	for _, r := range results {
		switch r.status {
		case http.StatusAccepted:
			var tk api.Task
			r.decode(t, &tk)
			if c.waitTask(t, tk.ID).Status == store.TaskDone {
				done++
			}
		case http.StatusConflict, http.StatusTooManyRequests:
		default:
			t.Fatalf("got %d %s", r.status, r.body)
		}
	}
	return done
}
