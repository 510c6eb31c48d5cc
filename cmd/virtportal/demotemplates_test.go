package main

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtportal/virtportal/services/templates"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// The demo host gets its three templates once, all usable; deleting them
// does not bring them back on the next start.
func TestSeedDemoTemplates(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "db", "virtportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fixture := filepath.Join(dir, "demo-host.xml")
	if err := virt.WriteFixture(fixture, virt.FixtureOptions{ImagesDir: filepath.Join(dir, "images")}); err != nil {
		t.Fatal(err)
	}
	vm := virt.New(virt.Config{URI: "test://" + fixture, Host: "local"})
	if err := vm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := vm.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	if err := seedDemoTemplates(ctx, dir, st, vm); err != nil {
		t.Fatal(err)
	}
	svc := templates.New(st, vm, nil)
	ts, err := svc.List(ctx)
	if err != nil || len(ts) != 3 {
		t.Fatalf("%d templates, %v", len(ts), err)
	}
	for _, tp := range ts {
		if len(tp.Problems) != 0 {
			t.Errorf("%s: %+v", tp.Name, tp.Problems)
		}
	}
	for _, tp := range ts {
		if err := svc.Delete(ctx, tp.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := seedDemoTemplates(ctx, dir, st, vm); err != nil {
		t.Fatal(err)
	}
	if ts, _ := svc.List(ctx); len(ts) != 0 {
		t.Fatalf("seeded again: %d", len(ts))
	}
}
