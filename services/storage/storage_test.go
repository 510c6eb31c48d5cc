package storage

import (
	"context"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/tasks/taskstest"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// env is a runner with the storage kinds over the libvirt test driver.
type env struct {
	*taskstest.Env
	s *Service
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: taskstest.New(t)}
	e.s = New(e.R, "local", e.M)
	return e
}

func (e *env) exists(pool, name string) bool {
	e.T.Helper()
	_, err := e.M.Volume(context.Background(), pool, name)
	if err != nil && !fault.Is(err, virt.CodeVolumeNotFound) {
		e.T.Fatal(err)
	}
	return err == nil
}

func TestCreateVolume(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in, err := e.s.SubmitCreateVolume(ctx, "local:admin", virt.FixturePoolDefault, api.VolumeRequest{Name: "new.qcow2", Capacity: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Wait(in.ID)
	if got.Status != store.TaskDone || got.Result != "volume:default/new.qcow2" || got.Target != "volume:default/new.qcow2" {
		t.Fatalf("task %+v", got)
	}
	v, err := e.M.Volume(ctx, virt.FixturePoolDefault, "new.qcow2")
	if err != nil || v.Format != "qcow2" || v.Capacity != 1<<30 {
		t.Fatalf("volume %+v %v", v, err)
	}
	recs, err := e.St.TaskResources(ctx, in.ID)
	if err != nil || len(recs) != 0 {
		t.Fatalf("records left after success: %+v %v", recs, err)
	}
}

func TestCreateRefusedAtOnce(t *testing.T) {
	e := newEnv(t)
	vols, err := e.M.ListVolumes(context.Background(), virt.FixturePoolDefault)
	if err != nil || len(vols) == 0 {
		t.Fatal(vols, err)
	}
	for _, c := range []struct {
		name, pool string
		req        api.VolumeRequest
		code       fault.Code
	}{
		{"exists", virt.FixturePoolDefault, api.VolumeRequest{Name: vols[0].Name, Capacity: 1}, virt.CodeVolumeExists},
		{"no pool", "nope", api.VolumeRequest{Name: "x", Capacity: 1}, virt.CodePoolNotFound},
		{"hostile pool", "../x", api.VolumeRequest{Name: "x", Capacity: 1}, virt.CodeInvalidName},
		{"dotdot", virt.FixturePoolDefault, api.VolumeRequest{Name: "../x", Capacity: 1}, virt.CodeInvalidName},
		{"absolute", virt.FixturePoolDefault, api.VolumeRequest{Name: "/etc/x", Capacity: 1}, virt.CodeInvalidName},
		{"no capacity", virt.FixturePoolDefault, api.VolumeRequest{Name: "x"}, virt.CodeInvalidCapacity},
		{"format", virt.FixturePoolDefault, api.VolumeRequest{Name: "x", Capacity: 1, Format: "qed"}, virt.CodeUnknownVolFormat},
		{"no room", virt.FixturePoolDefault, api.VolumeRequest{Name: "x", Capacity: 1 << 49, Thick: true}, virt.CodeInsufficientSpace},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.s.SubmitCreateVolume(context.Background(), "local:admin", c.pool, c.req)
			if !fault.Is(err, c.code) {
				t.Fatalf("got %v, want %s", err, c.code.Name)
			}
			list, err := e.St.ListTasks(context.Background(), store.TaskFilter{})
			if err != nil || len(list) != 0 {
				t.Fatalf("a refused creation made tasks: %+v %v", list, err)
			}
		})
	}
}

func TestCreateFailingLeavesNothing(t *testing.T) {
	e := newEnv(t)
	in, err := e.s.submitCreate(context.Background(), "local:admin",
		CreateArgs{Pool: virt.FixturePoolDefault, Req: api.VolumeRequest{Name: "doomed.qcow2", Capacity: 1 << 20}, failAfter: "create"})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Wait(in.ID); got.Status != store.TaskFailed {
		t.Fatalf("task %+v", got)
	}
	if e.exists(virt.FixturePoolDefault, "doomed.qcow2") {
		t.Fatal("a failed creation left its volume")
	}
}

func TestCrashSweepRemovesVolume(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A process that recorded and created a volume, then died.
	if _, err := e.M.CreateVolume(ctx, virt.FixturePoolDefault, api.VolumeRequest{Name: "orphan.qcow2", Capacity: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	tk, err := e.St.CreateTask(ctx, store.Task{Kind: KindCreateVolume, Owner: "local:admin", Host: "local", Status: store.TaskRunning})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.St.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceVolume, Host: "local", Ident: "default/orphan.qcow2"}); err != nil {
		t.Fatal(err)
	}
	if err := e.R.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if e.exists(virt.FixturePoolDefault, "orphan.qcow2") {
		t.Fatal("the sweep left the orphan volume")
	}
	got, err := e.St.GetTask(ctx, tk.ID)
	if err != nil || got.Status != store.TaskFailed || got.ErrorCode != tasks.CodeInterrupted.Name {
		t.Fatalf("task after the sweep: %+v %v", got, err)
	}
}

// Many creations of one name: one volume, made by one task; the others
// fail without removing it.
func TestCreateSameNameConcurrently(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []int64
	for range 8 {
		in, err := e.s.SubmitCreateVolume(ctx, "local:admin", virt.FixturePoolDefault, api.VolumeRequest{Name: "race.qcow2", Capacity: 1 << 20})
		if err != nil {
			if fault.Is(err, virt.CodeVolumeExists) {
				continue // the first was done already
			}
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	done := 0
	for _, id := range ids {
		if e.Wait(id).Status == store.TaskDone {
			done++
		}
	}
	if done != 1 || !e.exists(virt.FixturePoolDefault, "race.qcow2") {
		t.Fatalf("%d of %d tasks made the volume; exists: %v", done, len(ids), e.exists(virt.FixturePoolDefault, "race.qcow2"))
	}
}
