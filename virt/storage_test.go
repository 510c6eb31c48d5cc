package virt

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// hostileNames are names a pool or volume must never take.
var hostileNames = []string{
	"", "../x", "/etc/x", "x/../../y", "a\x00b", "..", ".", ".hidden", "x y", "a*b", "a:b",
	"vоl", // Cyrillic о
	"ｖｏｌ", strings.Repeat("a", 256), strings.Repeat("a", 300),
}

func TestStorageNames(t *testing.T) {
	for _, n := range hostileNames {
		t.Run(n, func(t *testing.T) {
			if !fault.Is(ValidatePoolName(n), CodeInvalidName) {
				t.Errorf("pool name %q accepted", n)
			}
			if !fault.Is(ValidateVolumeName(n), CodeInvalidName) {
				t.Errorf("volume name %q accepted", n)
			}
		})
	}
	for _, n := range []string{"default", "isos", "web01.qcow2", "a_b-c+d.iso", strings.Repeat("a", 64)} {
		if err := ValidatePoolName(n); err != nil {
			t.Errorf("pool name %q refused: %v", n, err)
		}
		if err := ValidateVolumeName(n); err != nil {
			t.Errorf("volume name %q refused: %v", n, err)
		}
	}
}

func TestPools(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	pools, err := m.ListPools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, p := range pools {
		names = append(names, p.Name)
	}
	if !slices.Contains(names, FixturePoolDefault) || !slices.Contains(names, FixturePoolISOs) {
		t.Fatalf("pools %v lack the fixture's", names)
	}
	def, err := m.Pool(ctx, FixturePoolDefault)
	if err != nil {
		t.Fatal(err)
	}
	if def.Type != "dir" || def.State != api.PoolRunning || def.Capacity == 0 || def.Path == "" || def.Volumes == 0 {
		t.Fatalf("default pool: %+v", def)
	}

	dir := filepath.Join(t.TempDir(), "extra")
	t.Run("define", func(t *testing.T) {
		p, err := m.DefinePool(ctx, api.PoolRequest{Name: "extra", Type: "dir", Path: dir, Autostart: true})
		if err != nil {
			t.Fatal(err)
		}
		if p.State != api.PoolRunning || !p.Autostart || p.Path != dir || !p.Persistent {
			t.Fatalf("defined pool: %+v", p)
		}
	})
	refusals := []struct {
		name string
		req  api.PoolRequest
		code fault.Code
	}{
		{"exists", api.PoolRequest{Name: "extra", Type: "dir", Path: dir + "2"}, CodePoolExists},
		{"relative path", api.PoolRequest{Name: "p1", Type: "dir", Path: "x/y"}, CodeInvalidPoolPath},
		{"dotdot path", api.PoolRequest{Name: "p1", Type: "dir", Path: "/srv/../etc"}, CodeInvalidPoolPath},
		{"root", api.PoolRequest{Name: "p1", Type: "dir", Path: "/"}, CodeInvalidPoolPath},
		{"NUL in path", api.PoolRequest{Name: "p1", Type: "dir", Path: "/srv/a\x00b"}, CodeInvalidPoolPath},
		{"unknown type", api.PoolRequest{Name: "p1", Type: "zfs2", Path: "/srv/p"}, CodeUnknownPoolType},
		{"iscsi without target", api.PoolRequest{Name: "p1", Type: "iscsi", Source: &api.PoolSource{Host: "san"}}, CodeInvalidPoolSource},
		{"iscsi hostile iqn", api.PoolRequest{Name: "p1", Type: "iscsi", Source: &api.PoolSource{Host: "san", IQN: "iqn.2004-04.org.x:a'/><x"}}, CodeInvalidPoolSource},
		{"iscsi port", api.PoolRequest{Name: "p1", Type: "iscsi", Source: &api.PoolSource{Host: "san", Port: 70000, IQN: "iqn.2004-04.org.example:d1"}}, CodeInvalidPoolSource},
		{"iscsi build", api.PoolRequest{Name: "p1", Type: "iscsi", Build: true, Source: &api.PoolSource{Host: "san", IQN: "iqn.2004-04.org.example:d1"}}, CodeInvalidPoolSource},
		{"scsi adapter", api.PoolRequest{Name: "p1", Type: "scsi", Source: &api.PoolSource{Adapter: "../host0"}}, CodeInvalidPoolSource},
		{"fs device outside /dev", api.PoolRequest{Name: "p1", Type: "fs", Path: "/srv/p", Source: &api.PoolSource{Devices: []string{"/etc/passwd"}}}, CodeInvalidPoolSource},
		{"fs device dotdot", api.PoolRequest{Name: "p1", Type: "fs", Path: "/srv/p", Source: &api.PoolSource{Devices: []string{"/dev/../etc/x"}}}, CodeInvalidPoolSource},
		{"fs two devices", api.PoolRequest{Name: "p1", Type: "fs", Path: "/srv/p", Source: &api.PoolSource{Devices: []string{"/dev/sdb", "/dev/sdc"}}}, CodeInvalidPoolSource},
		{"fs build auto", api.PoolRequest{Name: "p1", Type: "fs", Path: "/srv/p", Build: true, Source: &api.PoolSource{Devices: []string{"/dev/sdb"}}}, CodeInvalidPoolSource},
		{"fs format", api.PoolRequest{Name: "p1", Type: "fs", Path: "/srv/p", Source: &api.PoolSource{Devices: []string{"/dev/sdb"}, Format: "ntfs;x"}}, CodeInvalidPoolSource},
		{"disk without device", api.PoolRequest{Name: "p1", Type: "disk"}, CodeInvalidPoolSource},
		{"disk format", api.PoolRequest{Name: "p1", Type: "disk", Source: &api.PoolSource{Devices: []string{"/dev/sdb"}, Format: "mac"}}, CodeInvalidPoolSource},
		{"logical build without devices", api.PoolRequest{Name: "p1", Type: "logical", Build: true}, CodeInvalidPoolSource},
		{"logical device twice", api.PoolRequest{Name: "p1", Type: "logical", Source: &api.PoolSource{Devices: []string{"/dev/sdb", "/dev/sdb"}}}, CodeInvalidPoolSource},
		{"dir with a source", api.PoolRequest{Name: "p1", Type: "dir", Path: "/srv/p", Source: &api.PoolSource{Host: "nas"}}, CodeInvalidPoolSource},
		{"netfs without host", api.PoolRequest{Name: "p1", Type: "netfs", Path: "/srv/p", Source: &api.PoolSource{Dir: "/export"}}, CodeInvalidPoolSource},
		{"netfs hostile host", api.PoolRequest{Name: "p1", Type: "netfs", Path: "/srv/p", Source: &api.PoolSource{Host: "nas;rm -rf /", Dir: "/export"}}, CodeInvalidPoolSource},
		{"netfs relative dir", api.PoolRequest{Name: "p1", Type: "netfs", Path: "/srv/p", Source: &api.PoolSource{Host: "nas", Dir: "export/../x"}}, CodeInvalidPoolPath},
		{"netfs format", api.PoolRequest{Name: "p1", Type: "netfs", Path: "/srv/p", Source: &api.PoolSource{Host: "nas", Dir: "/export", Format: "sshfs"}}, CodeInvalidPoolSource},
		{"logical hostile vg", api.PoolRequest{Name: "p1", Type: "logical", Source: &api.PoolSource{Name: "../vg"}}, CodeInvalidName},
		{"logical with a host", api.PoolRequest{Name: "p1", Type: "logical", Source: &api.PoolSource{Host: "nas"}}, CodeInvalidPoolSource},
	}
	for _, n := range hostileNames {
		refusals = append(refusals, struct {
			name string
			req  api.PoolRequest
			code fault.Code
		}{"name " + n, api.PoolRequest{Name: n, Type: "dir", Path: "/srv/p"}, CodeInvalidName})
	}
	for _, tc := range refusals {
		t.Run("refuse "+tc.name, func(t *testing.T) {
			before, _ := m.ListPools(ctx)
			if _, err := m.DefinePool(ctx, tc.req); !fault.Is(err, tc.code) {
				t.Fatalf("got %v, want %s", err, tc.code.Name)
			}
			after, _ := m.ListPools(ctx)
			if len(after) != len(before) {
				t.Fatalf("a refused definition changed the pools: %d → %d", len(before), len(after))
			}
		})
	}
	t.Run("other types", func(t *testing.T) {
		for _, tc := range []struct {
			req      api.PoolRequest
			typ, tgt string
		}{
			{api.PoolRequest{Name: "nas", Type: "netfs", Path: dir + "-nas", Source: &api.PoolSource{Host: "nas.example.org", Dir: "/export/vms"}}, "netfs", dir + "-nas"},
			{api.PoolRequest{Name: "vg0", Type: "logical"}, "logical", "/dev/vg0"},
			{api.PoolRequest{Name: "vg1", Type: "logical", Build: true, Source: &api.PoolSource{Name: "data", Devices: []string{"/dev/sdb", "/dev/sdc"}}}, "logical", "/dev/data"},
			{api.PoolRequest{Name: "fs0", Type: "fs", Path: dir + "-fs", Build: true, Source: &api.PoolSource{Devices: []string{"/dev/sdb1"}, Format: "ext4"}}, "fs", dir + "-fs"},
			{api.PoolRequest{Name: "disk0", Type: "disk", Source: &api.PoolSource{Devices: []string{"/dev/sdd"}}}, "disk", "/dev"},
			{api.PoolRequest{Name: "san", Type: "iscsi", Source: &api.PoolSource{Host: "192.0.2.7", Port: 3260, IQN: "iqn.2004-04.org.example:disk1", Initiator: "iqn.2026-01.org.example:host"}}, "iscsi", "/dev/disk/by-path"},
			{api.PoolRequest{Name: "hba", Type: "scsi", Source: &api.PoolSource{Adapter: "host0"}}, "scsi", "/dev/disk/by-path"},
		} {
			p, err := m.DefinePool(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if p.Type != tc.typ || p.Path != tc.tgt {
				t.Fatalf("defined %+v", p)
			}
			if _, err := m.StopPool(ctx, p.Name); err != nil {
				t.Fatal(err)
			}
			if err := m.DeletePool(ctx, p.Name); err != nil {
				t.Fatal(err)
			}
		}
	})
	t.Run("lifecycle", func(t *testing.T) {
		if err := m.DeletePool(ctx, "extra"); !fault.Is(err, CodePoolActive) {
			t.Fatalf("delete while running: %v", err)
		}
		if _, err := m.StartPool(ctx, "extra"); !fault.Is(err, CodePoolActive) {
			t.Fatalf("start while running: %v", err)
		}
		if _, err := m.RefreshPool(ctx, "extra"); err != nil {
			t.Fatal(err)
		}
		p, err := m.SetPoolAutostart(ctx, "extra", false)
		if err != nil || p.Autostart {
			t.Fatalf("autostart off: %+v %v", p, err)
		}
		if p, err = m.StopPool(ctx, "extra"); err != nil || p.State != api.PoolInactive {
			t.Fatalf("stop: %+v %v", p, err)
		}
		if _, err := m.ListVolumes(ctx, "extra"); !fault.Is(err, CodePoolInactive) {
			t.Fatalf("volumes of a stopped pool: %v", err)
		}
		if _, err := m.RefreshPool(ctx, "extra"); !fault.Is(err, CodePoolInactive) {
			t.Fatalf("refresh of a stopped pool: %v", err)
		}
		if p, err = m.StartPool(ctx, "extra"); err != nil || p.State != api.PoolRunning {
			t.Fatalf("start: %+v %v", p, err)
		}
		if _, err := m.StopPool(ctx, "extra"); err != nil {
			t.Fatal(err)
		}
		if err := m.DeletePool(ctx, "extra"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Pool(ctx, "extra"); !fault.Is(err, CodePoolNotFound) {
			t.Fatalf("deleted pool: %v", err)
		}
	})
	t.Run("in use", func(t *testing.T) {
		vms, _ := m.List(ctx)
		running := ""
		for _, v := range vms {
			if v.State == api.StateRunning {
				running = v.Name
				break
			}
		}
		if running == "" {
			t.Fatal("the fixture has no running guest")
		}
		_, err := m.StopPool(ctx, FixturePoolDefault)
		if !fault.Is(err, CodePoolInUse) || !strings.Contains(err.Error(), running) {
			t.Fatalf("stopping a pool running guests use: %v", err)
		}
		if err := m.DeletePool(ctx, FixturePoolDefault); !fault.Is(err, CodePoolActive) {
			t.Fatalf("deleting a running pool: %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		if _, err := m.Pool(ctx, "nope"); !fault.Is(err, CodePoolNotFound) {
			t.Fatal(err)
		}
		if err := m.DeletePool(ctx, "nope"); !fault.Is(err, CodePoolNotFound) {
			t.Fatal(err)
		}
	})
}

func TestVolumes(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	vols, err := m.ListVolumes(ctx, FixturePoolDefault)
	if err != nil {
		t.Fatal(err)
	}
	var used api.Volume
	for _, v := range vols {
		if len(v.UsedBy) > 0 {
			used = v
			break
		}
	}
	if used.Name == "" || used.Format != "qcow2" || used.Path == "" || used.Capacity == 0 {
		t.Fatalf("no volume in use among %+v", vols)
	}
	for _, g := range used.UsedBy {
		if !m.Exists(g) {
			t.Fatalf("volume %s used by unknown guest %q", used.Name, g)
		}
	}

	t.Run("create", func(t *testing.T) {
		for _, tc := range []struct {
			req    api.VolumeRequest
			format string
			alloc  uint64
		}{
			{api.VolumeRequest{Name: "thin.qcow2", Capacity: 1 << 30}, "qcow2", 0},
			{api.VolumeRequest{Name: "thick.img", Capacity: 1 << 20, Format: "raw", Thick: true}, "raw", 1 << 20},
		} {
			v, err := m.CreateVolume(ctx, FixturePoolDefault, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if v.Name != tc.req.Name || v.Capacity != tc.req.Capacity || v.Format != tc.format || len(v.UsedBy) != 0 {
				t.Fatalf("created %+v", v)
			}
		}
	})
	t.Run("refuse", func(t *testing.T) {
		cases := []struct {
			name string
			req  api.VolumeRequest
			code fault.Code
		}{
			{"exists", api.VolumeRequest{Name: "thin.qcow2", Capacity: 1}, CodeVolumeExists},
			{"zero", api.VolumeRequest{Name: "z", Capacity: 0}, CodeInvalidCapacity},
			{"huge", api.VolumeRequest{Name: "z", Capacity: 1 << 62}, CodeInvalidCapacity},
			{"format", api.VolumeRequest{Name: "z", Capacity: 1, Format: "vmdk"}, CodeUnknownVolFormat},
			{"no room", api.VolumeRequest{Name: "z", Capacity: 1 << 49, Thick: true}, CodeInsufficientSpace},
		}
		for _, n := range hostileNames {
			cases = append(cases, struct {
				name string
				req  api.VolumeRequest
				code fault.Code
			}{"name " + n, api.VolumeRequest{Name: n, Capacity: 1}, CodeInvalidName})
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before, _ := m.ListVolumes(ctx, FixturePoolDefault)
				if _, err := m.CreateVolume(ctx, FixturePoolDefault, tc.req); !fault.Is(err, tc.code) {
					t.Fatalf("got %v, want %s", err, tc.code.Name)
				}
				after, _ := m.ListVolumes(ctx, FixturePoolDefault)
				if len(after) != len(before) {
					t.Fatalf("a refused volume changed the pool: %d → %d", len(before), len(after))
				}
			})
		}
	})
	t.Run("resize", func(t *testing.T) {
		v, err := m.ResizeVolume(ctx, FixturePoolDefault, "thin.qcow2", 2<<30)
		if fault.Is(err, CodeNotSupported) {
			t.Log("the test driver cannot resize volumes")
		} else if err != nil || v.Capacity != 2<<30 {
			t.Fatalf("grow: %+v %v", v, err)
		}
		if _, err := m.ResizeVolume(ctx, FixturePoolDefault, "thin.qcow2", 1<<20); !fault.Is(err, CodeVolumeShrink) {
			t.Fatalf("shrink: %v", err)
		}
		if running := m.runningOf(used.UsedBy); len(running) > 0 {
			if _, err := m.ResizeVolume(ctx, FixturePoolDefault, used.Name, used.Capacity*2); !fault.Is(err, CodeVolumeInUse) {
				t.Fatalf("resize under a running guest: %v", err)
			}
		}
	})
	t.Run("delete", func(t *testing.T) {
		err := m.DeletePoolVolume(ctx, FixturePoolDefault, used.Name)
		if !fault.Is(err, CodeVolumeInUse) || !strings.Contains(err.Error(), used.UsedBy[0]) {
			t.Fatalf("deleting a used volume: %v", err)
		}
		for _, n := range []string{"thin.qcow2", "thick.img"} {
			if err := m.DeletePoolVolume(ctx, FixturePoolDefault, n); err != nil {
				t.Fatal(err)
			}
			if _, err := m.Volume(ctx, FixturePoolDefault, n); !fault.Is(err, CodeVolumeNotFound) {
				t.Fatalf("deleted volume: %v", err)
			}
		}
		if err := m.DeletePoolVolume(ctx, FixturePoolDefault, "../x"); !fault.Is(err, CodeInvalidName) {
			t.Fatal(err)
		}
	})
}
