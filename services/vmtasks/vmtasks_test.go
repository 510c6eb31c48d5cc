package vmtasks

import (
	"context"
	"testing"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/tasks/taskstest"
	"github.com/virtportal/virtportal/store"
)

// env is a runner with the guest kinds over the libvirt test driver.
type env struct {
	*taskstest.Env
	k *Kinds
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: taskstest.New(t)}
	e.k = Register(e.R, "local", e.M)
	return e
}

func (e *env) volumeExists(path string) bool {
	e.T.Helper()
	ok, err := e.M.VolumeExists(context.Background(), path)
	if err != nil {
		e.T.Fatal(err)
	}
	return ok
}

func (e *env) diskPaths(name string) []string {
	e.T.Helper()
	d, err := e.M.Get(context.Background(), name)
	if err != nil {
		e.T.Fatal(err)
	}
	var out []string
	for _, disk := range d.Devices.Disks {
		if disk.Device == "disk" && disk.Source != "" {
			out = append(out, disk.Source)
		}
	}
	if len(out) == 0 {
		e.T.Fatalf("%s has no disks", name)
	}
	return out
}

// domainExists asks libvirt, not the index.
func (e *env) domainExists(name string) bool {
	_, err := e.M.Get(context.Background(), name)
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
	got := e.Wait(in.ID)
	if got.Status != store.TaskDone || got.Result != "vm:web06" || got.Progress != 100 || got.Target != "vm:web06" {
		t.Fatalf("task %+v", got)
	}
	if e.domainExists("web06") || e.M.Exists("web06") {
		t.Fatal("guest still there")
	}
	for _, p := range paths {
		if e.volumeExists(p) {
			t.Fatalf("volume %s still there", p)
		}
	}
	if recs, _ := e.St.TaskResources(ctx, in.ID); len(recs) != 0 {
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
	if l, _ := e.St.ListTasks(context.Background(), store.TaskFilter{}); len(l) != 0 {
		t.Fatalf("tasks created for refused deletes: %+v", l)
	}
}

// A failure after the guest is undefined rolls forward: the cleaners
// remove the recorded volumes, so nothing is left behind.
func TestDeleteFailingLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paths := e.diskPaths("web06")
	plan, err := e.M.PlanDelete(ctx, "web06", true)
	if err != nil {
		t.Fatal(err)
	}
	in, err := e.k.Delete.Submit(ctx, tasks.Spec{Owner: "local:admin", Host: "local", Target: "vm:web06"},
		DeleteArgs{Plan: plan, failAfter: "undefine"})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Wait(in.ID)
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
	if recs, _ := e.St.TaskResources(ctx, in.ID); len(recs) != 0 {
		t.Fatalf("records left %+v", recs)
	}
}

// What a SIGKILLed server left: a running task with a recorded volume and
// guest. The next start marks it interrupted and removes both.
func TestCrashSweepRemovesRecorded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	paths := e.diskPaths("web06")
	plan, err := e.M.PlanDelete(ctx, "web06", true)
	if err != nil || len(plan.Volumes) == 0 {
		t.Fatalf("plan %+v %v", plan, err)
	}
	tk, _ := e.St.CreateTask(ctx, store.Task{Kind: KindDelete, Owner: "local:admin", Host: "local", Target: "vm:web06", Status: store.TaskRunning})
	if _, err := e.St.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceDomain, Host: "local", Ident: "web06"}); err != nil {
		t.Fatal(err)
	}
	for _, v := range plan.Volumes {
		if _, err := e.St.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceVolume, Host: "local", Ident: v}); err != nil {
			t.Fatal(err)
		}
	}
	// A record of another host is not this process's to clean.
	if _, err := e.St.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceVolume, Host: "elsewhere", Ident: "default/x"}); err != nil {
		t.Fatal(err)
	}
	if err := e.R.Start(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := e.St.GetTask(ctx, tk.ID)
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
	recs, _ := e.St.TaskResources(ctx, tk.ID)
	if len(recs) != 1 || recs[0].Host != "elsewhere" {
		t.Fatalf("records left %+v", recs)
	}
	// The sweep is idempotent: a second start finds nothing more to do.
	if err := e.R.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !e.domainExists("web01") {
		t.Fatal("an unrelated guest went")
	}
}
