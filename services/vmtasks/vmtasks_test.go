package vmtasks

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// env is a runner with the guest kinds over the libvirt test driver.
type env struct {
	t     *testing.T
	st    *store.Store
	m     *virt.Manager
	r     *tasks.Runner
	k     *Kinds
	mu    sync.Mutex
	ended map[int64]chan struct{}
}

func newEnv(t *testing.T) *env {
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
	e := &env{t: t, st: st, ended: map[int64]chan struct{}{}}
	e.m = virt.New(virt.Config{URI: "test://" + fixture})
	if err := e.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.m.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := e.m.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	e.r = tasks.New(st, st, tasks.Options{})
	e.r.OnChange(func(in tasks.Info) {
		if in.Ended() {
			e.mu.Lock()
			close(e.ch(in.ID))
			e.mu.Unlock()
		}
	})
	e.k = Register(e.r, "local", e.m)
	t.Cleanup(func() { e.r.Close(context.Background()) })
	return e
}

func (e *env) ch(id int64) chan struct{} {
	c, ok := e.ended[id]
	if !ok {
		c = make(chan struct{})
		e.ended[id] = c
	}
	return c
}

func (e *env) wait(id int64) store.Task {
	e.t.Helper()
	e.mu.Lock()
	c := e.ch(id)
	e.mu.Unlock()
	select {
	case <-c:
	case <-time.After(30 * time.Second):
		e.t.Fatalf("task %d never ended", id)
	}
	tk, err := e.st.GetTask(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return tk
}

func (e *env) volumeExists(path string) bool {
	e.t.Helper()
	ok, err := e.m.VolumeExists(context.Background(), path)
	if err != nil {
		e.t.Fatal(err)
	}
	return ok
}

func (e *env) diskPaths(name string) []string {
	e.t.Helper()
	d, err := e.m.Get(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, disk := range d.Devices.Disks {
		if disk.Device == "disk" && disk.Source != "" {
			out = append(out, disk.Source)
		}
	}
	if len(out) == 0 {
		e.t.Fatalf("%s has no disks", name)
	}
	return out
}

// domainExists asks libvirt, not the index.
func (e *env) domainExists(name string) bool {
	_, err := e.m.Get(context.Background(), name)
	return err == nil
}

func TestDeleteWithVolumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paths := e.diskPaths("web06")
	in, err := e.k.SubmitDelete(ctx, "local:admin", "web06")
	if err != nil {
		t.Fatal(err)
	}
	got := e.wait(in.ID)
	if got.Status != store.TaskDone || got.Result != "vm:web06" || got.Progress != 100 || got.Target != "vm:web06" {
		t.Fatalf("task %+v", got)
	}
	if e.domainExists("web06") || e.m.Exists("web06") {
		t.Fatal("guest still there")
	}
	for _, p := range paths {
		if e.volumeExists(p) {
			t.Fatalf("volume %s still there", p)
		}
	}
	if recs, _ := e.st.TaskResources(ctx, in.ID); len(recs) != 0 {
		t.Fatalf("records left %+v", recs)
	}
}

func TestDeleteRefusedAtOnce(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ name, status string }{{"web01", "running"}, {"nope", "missing"}} {
		_, err := e.k.SubmitDelete(context.Background(), "local:admin", c.name)
		if err == nil || fault.As(err) == nil {
			t.Fatalf("%s (%s): %v", c.name, c.status, err)
		}
	}
	if !e.domainExists("web01") {
		t.Fatal("running guest deleted")
	}
	if l, _ := e.st.ListTasks(context.Background(), store.TaskFilter{}); len(l) != 0 {
		t.Fatalf("tasks created for refused deletes: %+v", l)
	}
}

// A failure after the guest is undefined rolls forward: the cleaners
// remove the recorded volumes, so nothing is left behind.
func TestDeleteFailingLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paths := e.diskPaths("web06")
	plan, err := e.m.PlanDelete(ctx, "web06", true)
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.k.Delete.Submit(ctx, tasks.Spec{Owner: "local:admin", Host: "local", Target: "vm:web06"},
		DeleteArgs{Plan: plan, failAfter: "undefine"})
	if err != nil {
		t.Fatal(err)
	}
	got := e.wait(in.ID)
	if got.Status != store.TaskFailed || got.ErrorCode != "conflict" {
		t.Fatalf("task %+v", got)
	}
	if e.domainExists("web06") {
		t.Fatal("guest still there")
	}
	for _, p := range paths {
		if e.volumeExists(p) {
			t.Fatalf("orphan volume %s", p)
		}
	}
	if recs, _ := e.st.TaskResources(ctx, in.ID); len(recs) != 0 {
		t.Fatalf("records left %+v", recs)
	}
}

// What a SIGKILLed server left: a running task with a recorded volume and
// guest. The next start marks it interrupted and removes both.
func TestCrashSweepRemovesRecorded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paths := e.diskPaths("web06")
	plan, err := e.m.PlanDelete(ctx, "web06", true)
	if err != nil || len(plan.Volumes) == 0 {
		t.Fatalf("plan %+v %v", plan, err)
	}
	tk, _ := e.st.CreateTask(ctx, store.Task{Kind: KindDelete, Owner: "local:admin", Host: "local", Target: "vm:web06", Status: store.TaskRunning})
	if _, err := e.st.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceDomain, Host: "local", Ident: "web06"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range plan.Volumes {
		if _, err := e.st.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceVolume, Host: "local", Ident: v}); err != nil {
			t.Fatal(err)
		}
	}
	// A record of another host is not this process's to clean.
	if _, err := e.st.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceVolume, Host: "elsewhere", Ident: "default/x"}); err != nil {
		t.Fatal(err)
	}
	if err := e.r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := e.st.GetTask(ctx, tk.ID)
	if got.Status != store.TaskFailed || got.ErrorCode != "interrupted" {
		t.Fatalf("task %+v", got)
	}
	if e.domainExists("web06") {
		t.Fatal("recorded guest still there")
	}
	for _, p := range paths {
		if e.volumeExists(p) {
			t.Fatalf("recorded volume %s still there", p)
		}
	}
	recs, _ := e.st.TaskResources(ctx, tk.ID)
	if len(recs) != 1 || recs[0].Host != "elsewhere" {
		t.Fatalf("records left %+v", recs)
	}
	// The sweep is idempotent: a second start finds nothing more to do.
	if err := e.r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.domainExists("web01") {
		t.Fatal("an unrelated guest went")
	}
}
