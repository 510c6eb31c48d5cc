package virt

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// testLogger shows warnings and errors in the test's output.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// startFixture writes a fixture into t.TempDir(), starts a Manager on it
// and waits until it is ready; the manager is closed in t.Cleanup.
//
// Every connection to a test:///file URI gets its own private copy of the
// file's state, so changes must go through the manager's own connection
// (see conn); test:///default is the shared one (startDefault).
func startFixture(t testing.TB, opt FixtureOptions) *Manager {
	t.Helper()
	return startFixtureCfg(t, opt, Config{})
}

// startFixtureCfg is startFixture with settings other than the URI.
func startFixtureCfg(t testing.TB, opt FixtureOptions, cfg Config) *Manager {
	t.Helper()
	dir := t.TempDir()
	if opt.ImagesDir == "" {
		opt.ImagesDir = filepath.Join(dir, "images")
	}
	path := filepath.Join(dir, "node.xml")
	if err := WriteFixture(path, opt); err != nil {
		t.Fatal(err)
	}
	cfg.URI = "test://" + path
	return startCfg(t, cfg)
}

func startURI(t testing.TB, uri string) *Manager {
	t.Helper()
	return startCfg(t, Config{URI: uri})
}

func startCfg(t testing.TB, cfg Config) *Manager {
	t.Helper()
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = 200 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	m := New(cfg)
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := m.WaitReady(ctx); err != nil {
		t.Fatalf("manager not ready: %v", err)
	}
	return m
}

// conn returns the manager's own connection (a private reference).
func conn(t testing.TB, m *Manager) *libvirt.Connect {
	t.Helper()
	c, err := m.acquire()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(c) })
	return c
}

// openConn opens a second, independent connection.
func openConn(t testing.TB, uri string) *libvirt.Connect {
	t.Helper()
	if err := startEventLoop(); err != nil {
		t.Fatal(err)
	}
	c, err := libvirt.NewConnect(uri)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { release(c) })
	return c
}

// eventually polls cond for up to d.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wantCode fails unless err carries code c, and returns the fault.
func wantCode(t testing.TB, err error, c fault.Code) *fault.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s error, got nil", c.Name)
	}
	if !fault.Is(err, c) {
		t.Fatalf("want code %s, got %T %v", c.Name, err, err)
	}
	return fault.As(err)
}

// wantKind fails unless err carries kind k.
func wantKind(t testing.TB, err error, k fault.Kind) {
	t.Helper()
	if !fault.IsKind(err, k) {
		t.Fatalf("want a %s fault, got %T %v", k, err, err)
	}
}

func mustVM(t testing.TB, m *Manager, name string) api.VM {
	t.Helper()
	vm, _, ok := m.vm(name)
	if !ok {
		t.Fatalf("guest %q not in the index", name)
	}
	return vm
}

// golden compares got with testdata/golden/<rel>; -update rewrites it.
func golden(t *testing.T, rel, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", rel)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}
