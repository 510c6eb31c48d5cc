// Package vmtasks holds the task kinds that work on guests, and the
// cleaners of what they record ("domain", "volume").
package vmtasks

import (
	"context"
	"fmt"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// KindDelete deletes a guest with its volumes.
const KindDelete = "vm.delete"

// Kinds of recorded resources.
const (
	ResourceDomain = "domain" // ident: the guest's name
	ResourceVolume = "volume" // ident: pool/volume or an absolute path
)

// CodeWrongHost: a record names a host this process does not manage.
var CodeWrongHost = fault.Define("task_wrong_host", fault.Unavailable)

// Guests is what the kinds need of a host; *virt.Manager is one.
type Guests interface {
	PlanDelete(ctx context.Context, name string, volumes bool) (virt.DeletePlan, error)
	UndefineGuest(ctx context.Context, name string) error
	DeleteVolume(ctx context.Context, ident string) error
}

// DeleteArgs are the arguments of a vm.delete task.
type DeleteArgs struct {
	Plan virt.DeletePlan
	// failAfter, in tests, fails the task after the step of that name.
	failAfter string
}

// Kinds are the registered guest task kinds of one host.
type Kinds struct {
	host   string
	g      Guests
	Delete *tasks.Kind[DeleteArgs]
}

// Register adds the guest kinds and cleaners of host to r.
func Register(r *tasks.Runner, host string, g Guests) *Kinds {
	k := &Kinds{host: host, g: g}
	r.RegisterCleaner(ResourceDomain, func(ctx context.Context, rec store.TaskResource) error {
		if err := k.checkHost(rec); err != nil {
			return err
		}
		return g.UndefineGuest(ctx, rec.Ident)
	})
	r.RegisterCleaner(ResourceVolume, func(ctx context.Context, rec store.TaskResource) error {
		if err := k.checkHost(rec); err != nil {
			return err
		}
		return g.DeleteVolume(ctx, rec.Ident)
	})
	k.Delete = tasks.Register(r, KindDelete, k.deleteSteps)
	return k
}

func (k *Kinds) checkHost(rec store.TaskResource) error {
	if rec.Host != k.host {
		return CodeWrongHost.New("host %q is not managed here", rec.Host)
	}
	return nil
}

// SubmitDelete checks that the guest may be deleted (so a refusal is an
// immediate answer, not a failed task) and submits the deletion of the
// guest and its volumes.
func (k *Kinds) SubmitDelete(ctx context.Context, owner, name string) (tasks.Info, error) {
	plan, err := k.g.PlanDelete(ctx, name, true)
	if err != nil {
		return tasks.Info{}, err
	}
	return k.Delete.Submit(ctx, tasks.Spec{Owner: owner, Host: k.host, Target: "vm:" + name}, DeleteArgs{Plan: plan})
}

// deleteSteps records the guest and its volumes, then undefines the guest
// and deletes the volumes one by one. Deletion rolls forward: after a
// crash, a failure or a cancel once the guest is undefined, the cleaners
// remove the volumes still recorded, so no orphan stays. If undefining is
// refused (the guest was started meanwhile) nothing has changed and the
// records are dropped.
func (k *Kinds) deleteSteps(ctx context.Context, t *tasks.T, a DeleteArgs) error {
	p := a.Plan
	t.Progress(0, "recording what will be removed")
	if err := t.Record(ctx, ResourceDomain, p.Name); err != nil {
		return err
	}
	for _, v := range p.Volumes {
		if err := t.Record(ctx, ResourceVolume, v); err != nil {
			return err
		}
	}
	total := 1 + len(p.Volumes)
	t.Progress(0, "removing the guest's definition")
	if err := k.g.UndefineGuest(ctx, p.Name); err != nil {
		if ferr := t.Forget(context.WithoutCancel(ctx)); ferr != nil {
			return fmt.Errorf("%w (and forgetting its records: %v)", err, ferr)
		}
		return err
	}
	if a.failAfter == "undefine" {
		return fault.CodeConflict.New("failing on purpose after undefine")
	}
	for i, v := range p.Volumes {
		t.Progress((i+1)*100/total, "deleting volume "+v)
		err := t.Step(ctx, "delete volume "+v, func(ctx context.Context) (tasks.Undo, error) {
			return nil, k.g.DeleteVolume(ctx, v)
		})
		if err != nil {
			return err
		}
	}
	t.SetResult("vm:" + p.Name)
	t.Progress(100, "deleted")
	return nil
}
