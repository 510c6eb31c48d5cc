package handlers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

func (c *client) disks(t *testing.T, guest string) api.GuestDiskList {
	t.Helper()
	var l api.GuestDiskList
	r := c.do("GET", "/api/v1/vms/"+guest+"/disks", nil)
	want(t, r, 200, "")
	r.decode(t, &l)
	return l
}

func diskTargets(l api.GuestDiskList) []string {
	out := []string{}
	for _, d := range l.Items {
		out = append(out, d.Target+":"+d.Pool+"/"+d.Volume)
	}
	return out
}

func TestGuestDisksAPI(t *testing.T) {
	roots := t.TempDir()
	if err := os.WriteFile(filepath.Join(roots, "extra.img"), make([]byte, 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.img")
	if err := os.WriteFile(outside, make([]byte, 1024), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, withOptions(func(o *Options) { o.HostPathRoots = []string{roots} }))
	const g = "backup" // shut off
	if err := e.vm.SetGrants(context.Background(), g, []api.Grant{
		{Kind: "user", Realm: "local", Name: "mgr", Role: rbac.RoleManager},
		{Kind: "user", Realm: "local", Name: "op", Role: rbac.RoleOperator},
		{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer},
	}); err != nil {
		t.Fatal(err)
	}
	admin, mgr, op, view := e.as("local", "admin"), e.as("local", "mgr"), e.as("local", "op"), e.as("local", "view")
	base := "/api/v1/vms/" + g + "/disks"

	t.Run("each role reads; actions follow the role; paths for admins only", func(t *testing.T) {
		for _, tc := range []struct {
			c       *client
			actions []string
			paths   bool
		}{{admin, []string{"edit", "media"}, true}, {mgr, []string{"edit", "media"}, false}, {op, []string{"media"}, false}, {view, []string{}, false}} {
			l := tc.c.disks(t, g)
			if len(l.Items) != 1 || l.Items[0].Target != "vda" || l.Items[0].Pool != virt.FixturePoolDefault || l.Items[0].Volume != g+".qcow2" || l.Items[0].Capacity == 0 {
				t.Fatalf("list %+v", l)
			}
			if (l.Items[0].Path != "") != tc.paths || len(l.AllowedActions) != len(tc.actions) || l.DiskBus != "virtio" || l.CDROMBus != "sata" {
				t.Fatalf("list %+v, want actions %v paths %v", l, tc.actions, tc.paths)
			}
			if l.HostPaths != tc.paths {
				t.Fatalf("host_paths %v", l.HostPaths)
			}
		}
	})

	t.Run("bad input and refusals change nothing", func(t *testing.T) {
		before := diskTargets(admin.disks(t, g))
		for _, tc := range []struct {
			name   string
			c      *client
			method string
			path   string
			body   any
			status int
			code   string
		}{
			{"viewer attaches", view, "POST", base, api.DiskAttach{Pool: "default", Volume: "spare-data.qcow2"}, 403, "forbidden"},
			{"operator attaches", op, "POST", base, api.DiskAttach{Pool: "default", Volume: "spare-data.qcow2"}, 403, "forbidden"},
			{"viewer ejects", view, "DELETE", base + "/sda/media", nil, 403, "forbidden"},
			{"two sources", mgr, "POST", base, api.DiskAttach{Pool: "default", Volume: "spare-data.qcow2", Path: "/etc/passwd"}, 422, "disk_source"},
			{"no source", mgr, "POST", base, api.DiskAttach{}, 422, "disk_source"},
			{"unknown field", mgr, "POST", base, `{"pool":"default","volume":"x","evil":1}`, 400, ""},
			{"bad target", mgr, "POST", base, api.DiskAttach{Pool: "default", Volume: "spare-data.qcow2", Target: "../../x"}, 422, "invalid_disk_target"},
			{"bad bus", mgr, "POST", base, api.DiskAttach{Pool: "default", Volume: "spare-data.qcow2", Bus: "floppy"}, 422, "invalid_disk_bus"},
			{"a pool the manager may not use", mgr, "POST", base, api.DiskAttach{Pool: "isos", Volume: virt.DemoDebianISO}, 403, "pool_not_allowed"},
			{"a manager names a host path", mgr, "POST", base, api.DiskAttach{Path: filepath.Join(roots, "extra.img")}, 403, "host_path_forbidden"},
			{"an admin path outside the roots", admin, "POST", base, api.DiskAttach{Path: outside}, 422, "host_path_outside_roots"},
			{"an admin path with ..", admin, "POST", base, api.DiskAttach{Path: roots + "/../" + filepath.Base(outside)}, 422, "host_path_invalid"},
			{"an admin path with NUL", admin, "POST", base, api.DiskAttach{Path: roots + "/extra.img\x00"}, 422, "host_path_invalid"},
			{"a writable volume of another guest", admin, "POST", base, api.DiskAttach{Pool: "default", Volume: "web01.qcow2"}, 409, "volume_in_use"},
			{"its own disk again", admin, "POST", base, api.DiskAttach{Pool: "default", Volume: g + ".qcow2"}, 409, "disk_already_attached"},
			{"IDE on a running guest", admin, "POST", "/api/v1/vms/web01/disks", api.DiskAttach{Device: "cdrom", Bus: "ide"}, 409, "disk_bus_not_hotpluggable"},
			{"detach a missing disk", mgr, "DELETE", base + "/vdz", nil, 404, "disk_not_found"},
			{"detach with a bad flag", mgr, "DELETE", base + "/vda?delete_volume=perhaps", nil, 400, "bad_request"},
			{"media into a disk", op, "DELETE", base + "/vda/media", nil, 409, "disk_not_cdrom"},
			{"another guest's disk, even read-only, for a manager", mgr, "POST", base, api.DiskAttach{Pool: "default", Volume: "web01.qcow2", ReadOnly: true}, 409, "volume_in_use"},
			{"another guest's disk as a CD-ROM, for a manager", mgr, "POST", base, api.DiskAttach{Device: "cdrom", Pool: "default", Volume: "web01.qcow2"}, 422, "media_not_iso"},
			{"huge new volume", mgr, "POST", base, api.DiskAttach{NewVolume: &api.NewDiskVolume{Pool: "default", Capacity: 1 << 62}}, 0, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.c.do(tc.method, tc.path, tc.body)
				if tc.status == 0 {
					if r.status/100 == 2 {
						t.Fatalf("accepted: %d %s", r.status, r.body)
					}
					return
				}
				want(t, r, tc.status, tc.code)
			})
		}
		if after := diskTargets(admin.disks(t, g)); len(after) != len(before) {
			t.Fatalf("changed: %v → %v", before, after)
		}
		evs := e.audit(store.AuditFilter{Action: "vm.disk.attach", Result: "error:host_path_*"})
		if len(evs) != 4 || !strings.HasPrefix(evs[0].Reason, "source=path ") || strings.ContainsRune(evs[0].Reason, 0) {
			t.Fatalf("audited host path refusals: %+v", evs)
		}
	})

	t.Run("a manager is offered only unused volumes of the guest's pools", func(t *testing.T) {
		var c api.DiskVolumeChoices
		r := mgr.do("GET", "/api/v1/vms/"+g+"/disk-choices", nil)
		want(t, r, 200, "")
		r.decode(t, &c)
		names := map[string]bool{}
		for _, v := range c.Volumes {
			names[v.Pool+"/"+v.Name] = true
			if len(v.UsedBy) != 0 || v.Path != "" {
				t.Fatalf("volume %+v", v)
			}
		}
		if !names["default/spare-data.qcow2"] || names["default/web01.qcow2"] || names["default/"+g+".qcow2"] || len(c.Pools) != 1 {
			t.Fatalf("choices %+v", c)
		}
		r = admin.do("GET", "/api/v1/vms/"+g+"/disk-choices", nil)
		r.decode(t, &c)
		if len(c.Pools) < 2 || len(c.Volumes) <= len(names) {
			t.Fatalf("admin's choices %+v", c)
		}
	})

	t.Run("a manager attaches a volume and a new one, then detaches deleting it", func(t *testing.T) {
		var ch api.DiskChange
		r := mgr.do("POST", base, api.DiskAttach{Pool: "default", Volume: "spare-data.qcow2"})
		want(t, r, 200, "")
		r.decode(t, &ch)
		if ch.Disk.Target != "vdb" || ch.Applies != api.AppliesNow || ch.Disk.Path != "" {
			t.Fatalf("change %+v", ch)
		}
		r = mgr.do("POST", base, api.DiskAttach{NewVolume: &api.NewDiskVolume{Pool: "default", Capacity: 1 << 30}})
		want(t, r, 202, "")
		var tk api.Task
		r.decode(t, &tk)
		if tk = mgr.waitTask(t, tk.ID); tk.Status != store.TaskDone {
			t.Fatalf("task %+v", tk)
		}
		l := mgr.disks(t, g)
		if len(l.Items) != 3 || l.Items[2].Target != "vdc" || l.Items[2].Volume != g+"-disk1.qcow2" || l.Items[2].Capacity != 1<<30 {
			t.Fatalf("list %v", diskTargets(l))
		}
		r = mgr.do("DELETE", base+"/vdc?delete_volume=true", nil)
		want(t, r, 200, "")
		r.decode(t, &ch)
		if !ch.VolumeDeleted {
			t.Fatalf("change %+v", ch)
		}
		if _, err := e.vm.Volume(context.Background(), "default", g+"-disk1.qcow2"); err == nil {
			t.Fatal("volume still there")
		}
		want(t, mgr.do("DELETE", base+"/vdb", nil), 200, "")
	})

	t.Run("an admin attaches a host path inside the roots", func(t *testing.T) {
		var ch api.DiskChange
		r := admin.do("POST", base, api.DiskAttach{Path: filepath.Join(roots, "extra.img"), Bus: "scsi"})
		want(t, r, 200, "")
		r.decode(t, &ch)
		if ch.Disk.Target != "sda" || ch.Disk.Path == "" || ch.Disk.Pool != "" {
			t.Fatalf("change %+v", ch)
		}
		if l := view.disks(t, g); l.Items[1].Path != "" {
			t.Fatalf("viewer sees the path %q", l.Items[1].Path)
		}
		want(t, admin.do("DELETE", base+"/sda", nil), 200, "")
	})

	t.Run("an operator changes media in pools the guest uses", func(t *testing.T) {
		want(t, op.do("POST", base, api.DiskAttach{Device: "cdrom"}), 403, "forbidden")
		want(t, mgr.do("POST", base, api.DiskAttach{Device: "cdrom"}), 200, "")
		// The ISO pool is none of the guest's yet: only the admin may use it.
		want(t, op.do("PUT", base+"/sda/media", api.DiskMedia{Pool: "isos", Volume: virt.DemoDebianISO}), 403, "pool_not_allowed")
		var choices api.DiskVolumeChoices
		r := op.do("GET", "/api/v1/vms/"+g+"/iso-choices", nil)
		want(t, r, 200, "")
		r.decode(t, &choices)
		if len(choices.ISOs) != 0 {
			t.Fatalf("operator's ISOs %+v", choices.ISOs)
		}
		want(t, admin.do("PUT", base+"/sda/media", api.DiskMedia{Pool: "isos", Volume: virt.DemoDebianISO}), 200, "")
		want(t, op.do("PUT", base+"/sda/media", api.DiskMedia{Pool: "default", Volume: "spare-data.qcow2"}), 422, "media_not_iso")
		var ch api.DiskChange
		r = op.do("PUT", base+"/sda/media", api.DiskMedia{Pool: "isos", Volume: "virtio-win-0.1.262.iso"})
		want(t, r, 200, "")
		r.decode(t, &ch)
		if ch.Disk.Volume != "virtio-win-0.1.262.iso" || ch.Disk.Empty {
			t.Fatalf("insert %+v", ch)
		}
		r = op.do("GET", "/api/v1/vms/"+g+"/iso-choices", nil)
		r.decode(t, &choices)
		if len(choices.ISOs) == 0 || choices.ISOs[0].Path != "" {
			t.Fatalf("operator's ISOs %+v", choices.ISOs)
		}
		r = op.do("DELETE", base+"/sda/media", nil)
		want(t, r, 200, "")
		r.decode(t, &ch)
		if !ch.Disk.Empty {
			t.Fatalf("eject %+v", ch)
		}
		if evs := e.audit(store.AuditFilter{Action: "vm.media.*", Actor: "local:op", Result: "ok"}); len(evs) != 2 {
			t.Fatalf("audit %+v", evs)
		}
	})
}
