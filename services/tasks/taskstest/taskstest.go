// Package taskstest starts what the tests of a task kind need: a store, a
// libvirt test-driver host and a runner over them, and waits for tasks.
package taskstest

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// Env is a runner (not started) over a store and the test driver's sample
// host; everything stops in t.Cleanup.
type Env struct {
	T  testing.TB
	St *store.Store
	M  *virt.Manager
	R  *tasks.Runner

	mu    sync.Mutex
	ended map[int64]chan struct{}
}

// New starts the store and the host and makes the runner.
func New(t testing.TB) *Env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fixture := filepath.Join(dir, "host.xml")
	if err := virt.WriteFixture(fixture, virt.FixtureOptions{ImagesDir: filepath.Join(dir, "images")}); err != nil {
		t.Fatal(err)
	}
	e := &Env{T: t, St: st, ended: map[int64]chan struct{}{}}
	e.M = virt.New(virt.Config{URI: "test://" + fixture})
	if err := e.M.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.M.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := e.M.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	e.R = tasks.New(st, st, tasks.Options{})
	e.R.OnChange(func(in tasks.Info) {
		if in.Ended() {
			e.mu.Lock()
			close(e.ch(in.ID))
			e.mu.Unlock()
		}
	})
	t.Cleanup(func() { e.R.Close(context.Background()) })
	return e
}

// ch is task id's end signal. Callers hold e.mu.
func (e *Env) ch(id int64) chan struct{} {
	c, ok := e.ended[id]
	if !ok {
		c = make(chan struct{})
		e.ended[id] = c
	}
	return c
}

// Wait returns task id as stored once it has ended.
func (e *Env) Wait(id int64) store.Task {
	e.T.Helper()
	e.mu.Lock()
	c := e.ch(id)
	e.mu.Unlock()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		e.T.Fatalf("task %d never ended", id)
	}
	tk, err := e.St.GetTask(context.Background(), id)
	if err != nil {
		e.T.Fatal(err)
	}
	return tk
}
