package handlers

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

// cloneSetup picks a shut-off guest of the fixture, makes mgr its manager
// and returns it with the clients of the admin and the manager.
func cloneSetup(t *testing.T, e *env) (guest string, admin, mgr *client) {
	t.Helper()
	guest = e.guestIn(api.StateShutoff)
	if err := e.vm.SetGrants(context.Background(), guest, []api.Grant{{Kind: "user", Realm: "local", Name: "mgr", Role: rbac.RoleManager}}); err != nil {
		t.Fatal(err)
	}
	return guest, e.as("local", "admin"), e.as("local", "mgr")
}

// guestNames lists every guest of the host.
func guestNames(t *testing.T, e *env) []string {
	t.Helper()
	vms, err := e.vm.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := []string{}
	for _, v := range vms {
		out = append(out, v.Name)
	}
	slices.Sort(out)
	return out
}

func TestVMCloneDryRun(t *testing.T) {
	e := newEnv(t)
	guest, admin, mgr := cloneSetup(t, e)
	vols, guests := volumeNames(t, admin, "default"), guestNames(t, e)
	for _, c := range []struct {
		name   string
		who    *client
		paths  bool
		linked bool
	}{{"admin", admin, true, false}, {"manager", mgr, false, false}, {"linked", admin, true, true}} {
		t.Run(c.name, func(t *testing.T) {
			r := c.who.do("POST", "/api/v1/vms/"+guest+"/clone", api.VMClone{DryRun: true, Linked: c.linked})
			want(t, r, http.StatusOK, "")
			var p api.ClonePlan
			r.decode(t, &p)
			if p.Source != guest || p.Name != guest+"-clone" || !p.Fits || p.Grants != 1 || p.NICs == 0 || len(p.Disks) == 0 {
				t.Fatalf("plan %+v", p)
			}
			copies := 0
			for _, d := range p.Disks {
				switch d.Action {
				case api.CloneCopy, api.CloneLink:
					copies++
					wantAction := map[bool]string{false: api.CloneCopy, true: api.CloneLink}[c.linked]
					if d.Action != wantAction || d.SourcePool != "default" || d.DestPool != "default" || d.Fallback || !d.Fits ||
						!strings.HasPrefix(d.DestVolume, guest+"-clone-") || d.Size == 0 {
						t.Errorf("disk %+v", d)
					}
					if (d.SourcePath != "") != c.paths {
						t.Errorf("source path %q shown to %s", d.SourcePath, c.name)
					}
				case api.CloneShare:
					if d.Device == "disk" {
						t.Errorf("a writable disk is shared: %+v", d)
					}
				default:
					t.Errorf("disk %+v", d)
				}
			}
			if copies == 0 {
				t.Fatalf("nothing to copy in %+v", p)
			}
		})
	}
	if got := volumeNames(t, admin, "default"); !slices.Equal(got, vols) {
		t.Fatalf("a dry run changed the pool: %v → %v", vols, got)
	}
	if got := guestNames(t, e); !slices.Equal(got, guests) {
		t.Fatalf("a dry run changed the guests: %v → %v", guests, got)
	}
}

func TestVMClone(t *testing.T) {
	e := newEnv(t)
	guest, admin, mgr := cloneSetup(t, e)
	var src api.VMDetail
	admin.do("GET", "/api/v1/vms/"+guest, nil).decode(t, &src)
	// The manager clones; the grants travel, so the manager manages the clone.
	for i, name := range []string{guest + "-clone", guest + "-clone2"} {
		r := mgr.do("POST", "/api/v1/vms/"+guest+"/clone", api.VMClone{})
		want(t, r, http.StatusAccepted, "")
		var tk api.Task
		r.decode(t, &tk)
		if tk.Kind != "vm.clone" || tk.Target != "vm:"+name || r.header.Get("Location") == "" {
			t.Fatalf("clone %d: task %+v", i, tk)
		}
		if tk = mgr.waitTask(t, tk.ID); tk.Status != "done" || tk.Result != "vm:"+name {
			t.Fatalf("clone %d: task %+v", i, tk)
		}
		var cl api.VMDetail
		want(t, mgr.do("GET", "/api/v1/vms/"+name, nil), http.StatusOK, "")
		mgr.do("GET", "/api/v1/vms/"+name, nil).decode(t, &cl)
		if cl.State != api.StateShutoff || cl.UUID == src.UUID || cl.UUID == "" || cl.MyRole != rbac.RoleManager || !slices.Contains(cl.AllowedActions, "vm.clone") {
			t.Fatalf("clone %+v", cl.VM)
		}
		if len(cl.Devices.Disks) != len(src.Devices.Disks) || len(cl.Devices.NICs) != len(src.Devices.NICs) {
			t.Fatalf("devices %+v, source %+v", cl.Devices, src.Devices)
		}
		for j, d := range cl.Devices.Disks {
			s := src.Devices.Disks[j]
			if d.Device == "disk" && (d.Source == s.Source || !strings.Contains(d.Source+" "+d.Volume, name+"-vda")) {
				t.Errorf("disk %+v of the clone, source's %+v", d, s)
			}
			if d.Device == "cdrom" && d.Source != s.Source {
				t.Errorf("CD-ROM %+v not shared with %+v", d, s)
			}
		}
		for j, n := range cl.Devices.NICs {
			if n.MAC == "" || strings.EqualFold(n.MAC, src.Devices.NICs[j].MAC) {
				t.Errorf("MAC %q, source's %q", n.MAC, src.Devices.NICs[j].MAC)
			}
		}
	}
	// Audited with the task.
	var al api.AuditList
	admin.do("GET", "/api/v1/audit?action=vm.clone", nil).decode(t, &al)
	if len(al.Items) < 2 {
		t.Fatalf("audit %+v", al)
	}
	// A linked clone: a qcow2 overlay on the source's volume.
	r := admin.do("POST", "/api/v1/vms/"+guest+"/clone", api.VMClone{Name: "linked-one", Linked: true})
	want(t, r, http.StatusAccepted, "")
	var lt api.Task
	r.decode(t, &lt)
	if lt = admin.waitTask(t, lt.ID); lt.Status != "done" {
		t.Fatalf("linked clone: %+v %+v", lt, lt.Error)
	}
	var lv api.Volume
	want(t, admin.do("GET", poolsURL+"/default/volumes/linked-one-vda.qcow2", nil), http.StatusOK, "")
	admin.do("GET", poolsURL+"/default/volumes/linked-one-vda.qcow2", nil).decode(t, &lv)
	if lv.Format != "qcow2" {
		t.Fatalf("overlay %+v", lv)
	}
	// A name given, then the same name again.
	want(t, admin.do("POST", "/api/v1/vms/"+guest+"/clone", api.VMClone{Name: "given-name"}), http.StatusAccepted, "")
	want(t, admin.do("POST", "/api/v1/vms/"+guest+"/clone", api.VMClone{Name: guest + "-clone"}), http.StatusConflict, "guest_exists")
}

func TestVMCloneRefusals(t *testing.T) {
	e := newEnv(t)
	guest, admin, mgr := cloneSetup(t, e)
	running := e.guestIn(api.StateRunning)
	alice := e.as("local", "alice")
	vols, guests := volumeNames(t, admin, "default"), guestNames(t, e)
	url := "/api/v1/vms/" + guest + "/clone"
	for _, c := range []struct {
		name   string
		who    *client
		path   string
		body   any
		status int
		code   string
	}{
		{"running", admin, "/api/v1/vms/" + running + "/clone", api.VMClone{}, 409, "guest_running"},
		{"running dry run", admin, "/api/v1/vms/" + running + "/clone", api.VMClone{DryRun: true}, 409, "guest_running"},
		{"foreign", alice, url, api.VMClone{}, 404, ""},
		{"manager chooses the pool", mgr, url, api.VMClone{Pool: "default"}, 403, "forbidden"},
		{"foreign dry run", alice, url, api.VMClone{DryRun: true}, 404, ""},
		{"traversal name", admin, url, api.VMClone{Name: "../etc"}, 400, "invalid_name"},
		{"star name", admin, url, api.VMClone{Name: "a*"}, 400, "invalid_name"},
		{"long name", admin, url, api.VMClone{Name: strings.Repeat("x", 10000)}, 400, "invalid_name"},
		{"bad pool", admin, url, api.VMClone{Pool: "../x"}, 400, "invalid_name"},
		{"unknown field", admin, url, `{"name":"x","uuid":"1"}`, 400, ""},
		{"same name", admin, url, api.VMClone{Name: guest}, 409, "guest_exists"},
		{"missing pool", admin, url, api.VMClone{Pool: "no-such-pool"}, 409, "clone_no_space"},
		// The test driver copies within a pool only: another pool has no place.
		{"other pool", admin, url, api.VMClone{Pool: "isos"}, 409, "clone_no_space"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.who.do("POST", c.path, c.body)
			want(t, r, c.status, c.code)
		})
	}
	// No space: fill the pool, then the clone is refused before any copy.
	p, err := e.vm.Pool(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.vm.CreateVolume(context.Background(), "default", api.VolumeRequest{Name: "filler.img", Format: "raw", Capacity: p.Available - 4096, Thick: true}); err != nil {
		t.Fatal(err)
	}
	vols = append(vols, "filler.img")
	slices.Sort(vols)
	r := admin.do("POST", url, api.VMClone{})
	want(t, r, 409, "clone_no_space")
	var eb api.ErrorBody
	r.decode(t, &eb)
	if len(eb.Error.Details) == 0 || !strings.Contains(eb.Error.Details[0].Message, "default") {
		t.Fatalf("no plan in %s", r.body)
	}
	r = admin.do("POST", url, api.VMClone{DryRun: true})
	want(t, r, 200, "")
	var plan api.ClonePlan
	r.decode(t, &plan)
	if plan.Fits || plan.Disks[0].Fits || !strings.Contains(plan.Disks[0].Reason, "free") {
		t.Fatalf("plan %+v", plan)
	}
	got := volumeNames(t, admin, "default")
	slices.Sort(got)
	if !slices.Equal(got, vols) {
		t.Fatalf("refusals changed the pool: %v → %v", vols, got)
	}
	if got := guestNames(t, e); !slices.Equal(got, guests) {
		t.Fatalf("refusals changed the guests: %v → %v", guests, got)
	}
}

// Parallel clones of one guest each get their own name and disks.
func TestVMCloneParallel(t *testing.T) {
	e := newEnv(t)
	guest, admin, _ := cloneSetup(t, e)
	const n = 8
	ids := make(chan int64, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			r := admin.do("POST", "/api/v1/vms/"+guest+"/clone", api.VMClone{})
			if r.status != http.StatusAccepted {
				t.Errorf("parallel clone: %d %s", r.status, r.body)
				return
			}
			var tk api.Task
			r.decode(t, &tk)
			ids <- tk.ID
		})
	}
	wg.Wait()
	close(ids)
	names := map[string]bool{}
	for id := range ids {
		tk := admin.waitTask(t, id)
		if tk.Status != "done" || names[tk.Result] {
			t.Fatalf("task %+v (names so far %v)", tk, names)
		}
		names[tk.Result] = true
	}
	if len(names) != n {
		t.Fatalf("%d distinct clones of %d: %v", len(names), n, names)
	}
}
