package handlers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
	"github.com/virtportal/virtportal/virt/osinfo"
)

func TestImportVM(t *testing.T) {
	db, err := osinfo.Load(osinfo.DefaultPath)
	if err != nil {
		t.Fatalf("the osinfo database is needed (Debian package osinfo-db): %v", err)
	}
	e := newEnv(t, func(c *envConfig) { c.osinfo = db })
	ctx := context.Background()
	m := e.srv.d.Virt
	for _, v := range []string{"imp-deb.qcow2", "imp-any.img", "imp-busy.qcow2"} {
		format := "qcow2"
		if strings.HasSuffix(v, ".img") {
			format = "raw"
		}
		if _, err := m.CreateVolume(ctx, virt.FixturePoolDefault, api.VolumeRequest{Name: v, Capacity: 1 << 30, Format: format}); err != nil {
			t.Fatal(err)
		}
	}
	admin, alice, carl := e.as("local", "admin"), e.as("local", "alice"), e.as("test", "carl")

	t.Run("a chosen OS gives its devices, written into the metadata; the creator manages it", func(t *testing.T) {
		r := carl.do("POST", "/api/v1/vms/import", api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-deb.qcow2", OS: "debian12", Network: virt.FixtureNetDefault, Start: true})
		if r.status != http.StatusAccepted {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		var tk api.Task
		r.decode(t, &tk)
		if tk.Kind != "vm.create" || tk.Target != "vm:imp-deb" {
			t.Fatalf("task %+v", tk)
		}
		if done := carl.waitTask(t, tk.ID); done.Status != store.TaskDone || done.Result != "vm:imp-deb" {
			t.Fatalf("task %+v", done)
		}
		var vm api.VMDetail
		if r := carl.do("GET", "/api/v1/vms/imp-deb", nil); r.status != http.StatusOK {
			t.Fatalf("the creator cannot see the guest: %d %s", r.status, r.body)
		} else {
			r.decode(t, &vm)
		}
		if vm.State != "running" || len(vm.Devices.Disks) != 1 || vm.Devices.Disks[0].Volume != "imp-deb.qcow2" || vm.Devices.Disks[0].Bus != "virtio" {
			t.Fatalf("guest %+v disks %+v", vm.State, vm.Devices.Disks)
		}
		md, err := m.GuestDefaults(ctx, "imp-deb")
		if err != nil || md.DiskBus != "virtio" || md.NICModel != "virtio" || md.OS.Distro != "debian" || md.OS.Version != "12" {
			t.Fatalf("metadata %+v %v", md, err)
		}
		var al api.AuditList
		admin.do("GET", "/api/v1/audit?action=vm.import", nil).decode(t, &al)
		if len(al.Items) == 0 || al.Items[0].Actor != "test:carl" || al.Items[0].Target != "vm:imp-deb" || al.Items[0].Result != "ok" {
			t.Fatalf("audit %+v", al.Items)
		}
	})
	t.Run("a bad firmware is refused and the volume stays", func(t *testing.T) {
		r := admin.do("POST", "/api/v1/vms/import", api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-any.img", Name: "imp-undo", Firmware: "uefi-nonsense"})
		if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
			t.Fatalf("bad firmware: %d %s", r.status, r.body)
		}
		if ok, _ := m.VolumeExists(ctx, virt.FixturePoolDefault+"/imp-any.img"); !ok {
			t.Fatal("the volume is gone")
		}
	})
	t.Run("an unknown OS is the generic profile", func(t *testing.T) {
		r := admin.do("POST", "/api/v1/vms/import", api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-any.img", OS: "no-such-os"})
		if r.status != http.StatusAccepted {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		var tk api.Task
		r.decode(t, &tk)
		if done := admin.waitTask(t, tk.ID); done.Status != store.TaskDone || done.Result != "vm:imp-any" {
			t.Fatalf("task %+v", done)
		}
		md, err := m.GuestDefaults(ctx, "imp-any")
		if g := osinfo.Generic(); err != nil || md.DiskBus != g.DiskBus || md.NICModel != g.NICModel || md.OS.Distro != "" {
			t.Fatalf("metadata %+v %v", md, err)
		}
	})
	t.Run("an ISO boots as a CD-ROM; undetected (the test driver reads no content), generic", func(t *testing.T) {
		vols, err := m.ListVolumes(ctx, virt.FixturePoolISOs)
		if err != nil {
			t.Fatal(err)
		}
		iso := ""
		for _, v := range vols {
			if len(v.UsedBy) == 0 && strings.HasSuffix(v.Name, ".iso") {
				iso = v.Name
				break
			}
		}
		if iso == "" {
			t.Fatal("the fixture has no free ISO")
		}
		r := admin.do("POST", "/api/v1/vms/import", api.VMImport{Pool: virt.FixturePoolISOs, Volume: iso, Name: "imp-iso", MemoryMiB: 512})
		if r.status != http.StatusAccepted {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		var tk api.Task
		r.decode(t, &tk)
		if done := admin.waitTask(t, tk.ID); done.Status != store.TaskDone {
			t.Fatalf("task %+v", done)
		}
		var vm api.VMDetail
		admin.do("GET", "/api/v1/vms/imp-iso", nil).decode(t, &vm)
		if len(vm.Devices.Disks) != 1 || vm.Devices.Disks[0].Device != "cdrom" || vm.Devices.Disks[0].Volume != iso {
			t.Fatalf("disks %+v", vm.Devices.Disks)
		}
	})
	for _, c := range []struct {
		name   string
		who    *client
		body   any
		status int
		code   string
	}{
		{"no vm:create", alice, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-busy.qcow2"}, http.StatusForbidden, ""},
		{"volume used by another guest", admin, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-deb.qcow2"}, http.StatusConflict, "volume_in_use"},
		{"unknown volume", admin, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "nope.qcow2"}, http.StatusNotFound, ""},
		{"traversal volume", admin, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "../etc/passwd"}, http.StatusBadRequest, ""},
		{"wildcard pool", admin, api.VMImport{Pool: "*", Volume: "imp-busy.qcow2"}, http.StatusBadRequest, ""},
		{"traversal name", admin, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-busy.qcow2", Name: "../x"}, http.StatusBadRequest, "invalid_name"},
		{"name taken", admin, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-busy.qcow2", Name: "imp-deb"}, http.StatusConflict, "guest_exists"},
		{"unknown network", admin, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-busy.qcow2", Network: "nonet"}, http.StatusNotFound, ""},
		{"too many vCPUs", admin, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-busy.qcow2", VCPUs: 100000}, http.StatusBadRequest, "import_invalid"},
		{"too much memory", admin, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "imp-busy.qcow2", MemoryMiB: 1 << 40}, http.StatusBadRequest, "import_invalid"},
		{"unknown field", admin, map[string]any{"pool": "default", "volume": "imp-busy.qcow2", "evil": 1}, http.StatusBadRequest, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.who.do("POST", "/api/v1/vms/import", c.body)
			if r.status != c.status || (c.code != "" && r.errCode() != c.code) {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.code)
			}
			if c.code == "volume_in_use" && !strings.Contains(string(r.body), "imp-deb") {
				t.Fatalf("the refusal names no guest: %s", r.body)
			}
		})
	}
	if ok, _ := m.GuestExists(ctx, "imp-busy"); ok {
		t.Fatal("a refused import defined a guest")
	}
}

// Parallel imports of one volume: one guest is made around it; every
// other request is refused (409) or its task fails, and defines nothing.
func TestImportVMParallel(t *testing.T) {
	db, err := osinfo.Load(osinfo.DefaultPath)
	if err != nil {
		t.Fatalf("the osinfo database is needed (Debian package osinfo-db): %v", err)
	}
	e := newEnv(t, func(c *envConfig) { c.osinfo = db })
	ctx := context.Background()
	if _, err := e.srv.d.Virt.CreateVolume(ctx, virt.FixturePoolDefault, api.VolumeRequest{Name: "race.qcow2", Capacity: 1 << 30, Format: "qcow2"}); err != nil {
		t.Fatal(err)
	}
	admin := e.as("local", "admin")
	const n = 20
	var wg sync.WaitGroup
	results := make([]resp, n)
	for i := range n {
		wg.Go(func() {
			results[i] = admin.do("POST", "/api/v1/vms/import", api.VMImport{Pool: virt.FixturePoolDefault, Volume: "race.qcow2", Name: fmt.Sprintf("race-%d", i)})
		})
	}
	wg.Wait()
	made := 0
	for i, r := range results {
		switch r.status {
		case http.StatusAccepted:
			var tk api.Task
			r.decode(t, &tk)
			if admin.waitTask(t, tk.ID).Status == store.TaskDone {
				made++
			}
		case http.StatusConflict:
		default:
			t.Fatalf("request %d: %d %s", i, r.status, r.body)
		}
	}
	v, err := e.srv.d.Virt.Volume(ctx, virt.FixturePoolDefault, "race.qcow2")
	if made != 1 || err != nil || len(v.UsedBy) != 1 {
		t.Fatalf("%d guests made; the volume is used by %v (%v)", made, v.UsedBy, err)
	}
}
