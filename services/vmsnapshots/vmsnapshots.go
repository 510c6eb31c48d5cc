// Package vmsnapshots holds the snapshot task kind: taking a snapshot
// (with a running guest's memory, which takes as long as the memory is
// large) is a task; listing, reverting and deleting are virt calls.
package vmsnapshots

import (
	"context"
	"fmt"
	"strings"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
)

// KindCreate takes a snapshot.
const KindCreate = "vm.snapshot.create"

// ResourceSnapshot is a recorded snapshot: ident "guest/snapshot".
const ResourceSnapshot = "snapshot"

// CodeWrongHost: a record names a host this process does not manage.
var CodeWrongHost = fault.Define("task_wrong_host", fault.Unavailable)

// Guests is what the kind needs of a host; *virt.Manager is one.
type Guests interface {
	CheckSnapshot(ctx context.Context, name string, req api.SnapshotRequest) error
	CreateSnapshot(ctx context.Context, name string, req api.SnapshotRequest) error
	DeleteSnapshotIfAny(ctx context.Context, name, snap string) error
}

// CreateArgs are the arguments of a vm.snapshot.create task.
type CreateArgs struct {
	Guest string
	Req   api.SnapshotRequest
}

// Service submits snapshot tasks of one host.
type Service struct {
	host   string
	g      Guests
	create *tasks.Kind[CreateArgs]
}

// Register adds the snapshot kind and its cleaner to r.
func Register(r *tasks.Runner, host string, g Guests) *Service {
	s := &Service{host: host, g: g}
	r.RegisterCleaner(ResourceSnapshot, func(ctx context.Context, rec store.TaskResource) error {
		if rec.Host != host {
			return CodeWrongHost.New("host %q is not managed here", rec.Host)
		}
		guest, snap, _ := strings.Cut(rec.Ident, "/")
		return g.DeleteSnapshotIfAny(ctx, guest, snap)
	})
	s.create = tasks.Register(r, KindCreate, s.createSteps)
	return s
}

// Submit checks the request against the guest now (a refusal is an
// answer, not a failed task) and submits the snapshot.
func (s *Service) Submit(ctx context.Context, owner, guest string, req api.SnapshotRequest) (tasks.Info, error) {
	if err := s.g.CheckSnapshot(ctx, guest, req); err != nil {
		return tasks.Info{}, err
	}
	return s.create.Submit(ctx, tasks.Spec{Owner: owner, Host: s.host, Target: "vm:" + guest}, CreateArgs{Guest: guest, Req: req})
}

// createSteps records the snapshot (a crash mid-way leaves none behind)
// and takes it. A refusal changed nothing: the record is dropped so no
// snapshot of that name made by someone else is "cleaned".
func (s *Service) createSteps(ctx context.Context, t *tasks.T, a CreateArgs) error {
	t.Progress(0, "taking snapshot "+a.Req.Name)
	if err := t.Record(ctx, ResourceSnapshot, a.Guest+"/"+a.Req.Name); err != nil {
		return err
	}
	if err := s.g.CreateSnapshot(ctx, a.Guest, a.Req); err != nil {
		if ferr := t.Forget(context.WithoutCancel(ctx)); ferr != nil {
			return fmt.Errorf("%w (and forgetting its record: %v)", err, ferr)
		}
		return err
	}
	t.SetResult("vm:" + a.Guest + "/snapshots/" + a.Req.Name)
	t.Progress(100, "snapshot "+a.Req.Name+" taken")
	return nil
}
