package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

func sampleTemplate(host, name string) api.Template {
	return api.Template{Host: host, Name: name, Description: "d", OS: api.TemplateOS{ID: "http://debian.org/debian/12", ShortID: "debian12", Arch: "x86_64"},
		VCPUs: 2, MaxVCPUs: 4, Topology: &api.Topology{Sockets: 1, Cores: 2, Threads: 2}, MemoryMiB: 2048, MaxMemoryMiB: 4096,
		Firmware: "uefi", SecureBoot: true, Machine: "q35", Source: api.TemplateSource{Kind: api.SourceCloudImage, Pool: "default", Volume: "deb.qcow2", Linked: true},
		Disks: []api.TemplateDisk{{Pool: "default", Size: 20 << 30, Format: "qcow2", Bus: "virtio"}}, NICs: []api.TemplateNIC{{Network: "default", Model: "virtio"}},
		Graphics: "vnc", BootOrder: []string{"hd"}, CloudInit: &api.CloudInit{User: "debian", SSHKeys: []string{"ssh-ed25519 AAAA x"}},
		Created: base, Updated: base}
}

// testTemplates is the suite every Templates implementation must pass.
func testTemplates(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ts, ok := s.(Templates)
	if !ok {
		// The SQLite store under test wraps *Store.
		if u, ok2 := s.(sqliteUnderTest); ok2 {
			ts = u.Store
		} else {
			t.Fatalf("%T keeps no templates", s)
		}
	}
	ctx := t.Context()
	a, err := ts.CreateTemplate(ctx, sampleTemplate("local", "debian"))
	if err != nil || a.ID == 0 {
		t.Fatalf("create: %+v %v", a, err)
	}
	t.Run("round trip", func(t *testing.T) {
		want := sampleTemplate("local", "debian")
		want.ID, want.Problems = a.ID, []api.TemplateProblem{}
		got, err := ts.Template(ctx, a.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("got %+v, %v\nwant %+v", got, err, want)
		}
	})
	t.Run("name unique per host", func(t *testing.T) {
		if _, err := ts.CreateTemplate(ctx, sampleTemplate("local", "debian")); !fault.Is(err, CodeTemplateExists) {
			t.Fatalf("err = %v", err)
		}
		if _, err := ts.CreateTemplate(ctx, sampleTemplate("other", "debian")); err != nil {
			t.Fatalf("other host: %v", err)
		}
	})
	t.Run("list", func(t *testing.T) {
		if _, err := ts.CreateTemplate(ctx, sampleTemplate("local", "alpine")); err != nil {
			t.Fatal(err)
		}
		got, err := ts.ListTemplates(ctx, "local")
		if err != nil || len(got) != 2 || got[0].Name != "alpine" || got[1].Name != "debian" {
			t.Fatalf("%+v %v", got, err)
		}
		all, err := ts.ListTemplates(ctx, "")
		if err != nil || len(all) != 3 {
			t.Fatalf("%d %v", len(all), err)
		}
	})
	t.Run("update", func(t *testing.T) {
		u := a
		u.Name, u.VCPUs, u.Disks, u.CloudInit, u.Updated = "debian-big", 4, nil, nil, base.Add(time.Hour)
		got, err := ts.UpdateTemplate(ctx, u)
		if err != nil || got.Name != "debian-big" || got.VCPUs != 4 || len(got.Disks) != 0 || got.CloudInit != nil ||
			!got.Updated.Equal(base.Add(time.Hour)) || !got.Created.Equal(base) {
			t.Fatalf("%+v %v", got, err)
		}
		u.Name = "alpine"
		if _, err := ts.UpdateTemplate(ctx, u); !fault.Is(err, CodeTemplateExists) {
			t.Fatalf("taken name: %v", err)
		}
		if got, _ := ts.Template(ctx, a.ID); got.Name != "debian-big" {
			t.Fatalf("changed by a refused update: %+v", got)
		}
		u.ID = 9999
		if _, err := ts.UpdateTemplate(ctx, u); !fault.Is(err, CodeTemplateNotFound) {
			t.Fatalf("missing: %v", err)
		}
	})
	t.Run("delete", func(t *testing.T) {
		if err := ts.DeleteTemplate(ctx, a.ID); err != nil {
			t.Fatal(err)
		}
		if err := ts.DeleteTemplate(ctx, a.ID); !fault.Is(err, CodeTemplateNotFound) {
			t.Fatalf("twice: %v", err)
		}
		if _, err := ts.Template(ctx, a.ID); !fault.Is(err, CodeTemplateNotFound) {
			t.Fatalf("get: %v", err)
		}
	})
	t.Run("unknown JSON fields refused", func(t *testing.T) {
		id := mustTemplateID(t, ts)
		look(t, s)
		u := s.(sqliteUnderTest)
		if _, err := u.w.ExecContext(ctx, `UPDATE templates SET disks = '[{"pool":"p","size":1,"evil":1}]' WHERE id = ?`, id); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Template(ctx, id); err == nil {
			t.Fatal("a row with an unknown field was read")
		}
	})
}

func mustTemplateID(t *testing.T, ts Templates) int64 {
	t.Helper()
	x, err := ts.CreateTemplate(t.Context(), sampleTemplate("local", "strict"))
	if err != nil {
		t.Fatal(err)
	}
	return x.ID
}
