package vmclone

import (
	"context"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/tasks/taskstest"
	"github.com/virtportal/virtportal/store"
)

// newEnv is a runner with the clone kind over the libvirt test driver.
func newEnv(t *testing.T) (*taskstest.Env, *Service) {
	t.Helper()
	e := taskstest.New(t)
	return e, Register(e.R, "local", e.M, Options{})
}

func TestCloneUndo(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ name, failAfter string }{
		{"copy fails after the disk", "copy vda"},
		{"done", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, s := newEnv(t)
			plan, err := s.Plan(ctx, "backup", api.VMClone{Name: "backup-copy"})
			if err != nil || !plan.Fits {
				t.Fatalf("plan %+v %v", plan, err)
			}
			in, err := s.kind.Submit(ctx, tasks.Spec{Owner: "local:admin", Host: "local", Target: "vm:backup-copy"},
				cloneArgs{Plan: plan, failAfter: c.failAfter})
			if err != nil {
				t.Fatal(err)
			}
			got := e.Wait(in.ID)
			_, verr := e.M.Volume(ctx, "default", plan.Disks[0].DestVolume)
			_, gerr := e.M.Get(ctx, "backup-copy")
			if c.failAfter != "" {
				if got.Status != store.TaskFailed || verr == nil || gerr == nil {
					t.Fatalf("task %+v; volume left: %v; guest left: %v", got, verr == nil, gerr == nil)
				}
			} else if got.Status != store.TaskDone || got.Result != "vm:backup-copy" || verr != nil || gerr != nil {
				t.Fatalf("task %+v; volume: %v; guest: %v", got, verr, gerr)
			}
			if recs, _ := e.St.TaskResources(ctx, in.ID); len(recs) != 0 {
				t.Fatalf("records left %+v", recs)
			}
			if s.taken("backup-copy") {
				t.Fatal("the name is still claimed")
			}
		})
	}
}
