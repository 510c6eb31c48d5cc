package vmcreate

import (
	"context"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
	"github.com/virtportal/virtportal/virt/osinfo"
)

// genericDefaults adds the generic OS profile to the fake templates.
type genericDefaults struct{ fakeTemplates }

func (genericDefaults) Defaults(context.Context, string) (api.OSDefaults, error) {
	return osinfo.Generic(), nil
}

// A failed or crashed import removes the definition and never the volume
// it was made around.
func TestFailedImportKeepsTheVolume(t *testing.T) {
	for _, how := range []string{"fail", "crash"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			e.s.SetTemplates(genericDefaults{e.tmpl})
			ctx := context.Background()
			if _, err := e.M.CreateVolume(ctx, virt.FixturePoolDefault, api.VolumeRequest{Name: "kept.qcow2", Capacity: 1 << 30, Format: "qcow2"}); err != nil {
				t.Fatal(err)
			}
			a, err := e.s.PlanImport(ctx, nil, api.VMImport{Pool: virt.FixturePoolDefault, Volume: "kept.qcow2", Name: "doomed"})
			if err != nil {
				t.Fatal(err)
			}
			if how == "fail" {
				a.failAfter = "define"
				in, err := e.s.kind.Submit(ctx, tasks.Spec{Owner: "local:admin", Host: "local", Target: "vm:doomed"}, a)
				if err != nil {
					t.Fatal(err)
				}
				if st := e.Wait(in.ID).Status; st != store.TaskFailed {
					t.Fatalf("status %s", st)
				}
			} else {
				// A process that defined the guest, then died before its end.
				in, err := e.s.kind.Submit(ctx, tasks.Spec{Owner: "local:admin", Host: "local", Target: "vm:doomed"}, a)
				if err != nil || e.Wait(in.ID).Status != store.TaskDone {
					t.Fatal(err)
				}
				tk, err := e.St.CreateTask(ctx, store.Task{Kind: KindCreate, Owner: "local:admin", Host: "local", Status: store.TaskRunning})
				if err != nil {
					t.Fatal(err)
				}
				// An import records the guest only: the volume is not its own.
				if _, err := e.St.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceGuest, Host: "local", Ident: "doomed"}); err != nil {
					t.Fatal(err)
				}
				r2 := tasks.New(e.St, e.St, tasks.Options{})
				New(r2, "local", e.M, e.tmpl)
				if err := r2.Start(ctx); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r2.Close(context.Background()) })
			}
			if e.guestExists("doomed") {
				t.Fatal("the guest survived")
			}
			if !e.volExists(virt.FixturePoolDefault, "kept.qcow2") {
				t.Fatal("the imported volume was deleted")
			}
		})
	}
}
