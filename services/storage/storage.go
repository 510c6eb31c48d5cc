// Package storage holds what storage work spans: the volume-creation
// task (which records the volume before making it, so a failure, cancel or
// crash leaves nothing) and the pass-through of pool and volume calls to a
// host, so that handlers have one place to ask.
package storage

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// KindCreateVolume creates a volume.
const KindCreateVolume = "volume.create"

// ResourceVolume is the record of a volume a storage task is about to
// create; ident "pool/volume".
const ResourceVolume = "storage.volume"

// CodeWrongHost: a record names a host this process does not manage.
var CodeWrongHost = fault.Define("storage_wrong_host", fault.Unavailable)

// Host is what the service needs of a host; *virt.Manager is one.
type Host interface {
	ListPools(ctx context.Context) ([]api.Pool, error)
	Pool(ctx context.Context, name string) (api.Pool, error)
	DefinePool(ctx context.Context, req api.PoolRequest) (api.Pool, error)
	StartPool(ctx context.Context, name string) (api.Pool, error)
	StopPool(ctx context.Context, name string) (api.Pool, error)
	RefreshPool(ctx context.Context, name string) (api.Pool, error)
	SetPoolAutostart(ctx context.Context, name string, on bool) (api.Pool, error)
	DeletePool(ctx context.Context, name string) error
	ListVolumes(ctx context.Context, pool string) ([]api.Volume, error)
	Volume(ctx context.Context, pool, name string) (api.Volume, error)
	CreateVolume(ctx context.Context, pool string, req api.VolumeRequest) (api.Volume, error)
	DeletePoolVolume(ctx context.Context, pool, name string) error
	ResizeVolume(ctx context.Context, pool, name string, capacity uint64) (api.Volume, error)
	// VolumeOS detects the OS a volume's ISO descriptor names.
	VolumeOS(ctx context.Context, pool, name string) (api.VolumeOS, error)
	// ListISOs is the ISO library: every .iso volume of every running
	// pool with the OS it holds.
	ListISOs(ctx context.Context) (api.ISOList, error)
	// PoolUsers names the guests with a disk in the pool, from the index.
	PoolUsers(p api.Pool) []string
	// DeleteVolume removes "pool/volume" whoever uses it; the cleaner's.
	DeleteVolume(ctx context.Context, ident string) error
}

// CreateArgs are the arguments of a volume.create task.
type CreateArgs struct {
	Pool string
	Req  api.VolumeRequest
	// failAfter, in tests, fails the task after the step of that name.
	failAfter string
}

// CodeVolumeBusy: another task is creating a volume of that name.
var CodeVolumeBusy = fault.Define("volume_busy", fault.Conflict)

// Service is the storage of one host.
type Service struct {
	Host
	host   string
	create *tasks.Kind[CreateArgs]

	// busy holds the volumes ("pool/name") being created, so that two
	// tasks for one name never both record it: the loser's cleaner would
	// remove the winner's volume.
	mu   sync.Mutex
	busy map[string]bool
}

func (s *Service) claim(ident string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy[ident] {
		return false
	}
	s.busy[ident] = true
	return true
}

func (s *Service) unclaim(ident string) {
	s.mu.Lock()
	delete(s.busy, ident)
	s.mu.Unlock()
}

// New returns the storage service of host h, registering its task kind
// and cleaner with r.
func New(r *tasks.Runner, host string, h Host) *Service {
	s := &Service{Host: h, host: host, busy: map[string]bool{}}
	r.RegisterCleaner(ResourceVolume, func(ctx context.Context, rec store.TaskResource) error {
		if rec.Host != s.host {
			return CodeWrongHost.New("host %q is not managed here", rec.Host)
		}
		return h.DeleteVolume(ctx, rec.Ident)
	})
	s.create = tasks.Register(r, KindCreateVolume, s.createSteps)
	return s
}

// PoolsOfGuests is what a caller who may not read pools sees: the names
// and free space of the pools the given guests (those the caller sees)
// have disks in, nothing more.
func (s *Service) PoolsOfGuests(ctx context.Context, guests []string) ([]api.Pool, error) {
	if len(guests) == 0 {
		return []api.Pool{}, nil
	}
	mine := make(map[string]bool, len(guests))
	for _, g := range guests {
		mine[g] = true
	}
	all, err := s.ListPools(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.Pool{}
	for _, p := range all {
		if slices.ContainsFunc(s.PoolUsers(p), func(g string) bool { return mine[g] }) {
			out = append(out, api.Pool{Name: p.Name, Available: p.Available})
		}
	}
	return out, nil
}

// SubmitCreateVolume checks the request, that the pool runs and that the
// name is free (so a refusal is an immediate answer, not a failed task),
// and submits the creation.
func (s *Service) SubmitCreateVolume(ctx context.Context, owner, pool string, req api.VolumeRequest) (tasks.Info, error) {
	return s.submitCreate(ctx, owner, CreateArgs{Pool: pool, Req: req})
}

func (s *Service) submitCreate(ctx context.Context, owner string, a CreateArgs) (tasks.Info, error) {
	if err := virt.CheckVolumeRequest(&a.Req); err != nil {
		return tasks.Info{}, err
	}
	if a.Req.Thick {
		p, err := s.Pool(ctx, a.Pool)
		if err != nil {
			return tasks.Info{}, err
		}
		if a.Req.Capacity > p.Available {
			return tasks.Info{}, virt.CodeInsufficientSpace.New("pool %q has %d bytes free, the volume needs %d", a.Pool, p.Available, a.Req.Capacity)
		}
	}
	_, err := s.Volume(ctx, a.Pool, a.Req.Name)
	switch {
	case err == nil:
		return tasks.Info{}, virt.CodeVolumeExists.New("pool %q already has a volume %q", a.Pool, a.Req.Name)
	case !fault.Is(err, virt.CodeVolumeNotFound):
		return tasks.Info{}, err // no such pool, pool stopped, libvirt down
	}
	return s.create.Submit(ctx, tasks.Spec{Owner: owner, Host: s.host, Target: "volume:" + a.Pool + "/" + a.Req.Name}, a)
}

// createSteps records the volume, then creates it. A volume of that name
// made meanwhile by someone else is refused by libvirt and the record is
// dropped, so the cleaner never removes what this task did not make.
func (s *Service) createSteps(ctx context.Context, t *tasks.T, a CreateArgs) error {
	ident := a.Pool + "/" + a.Req.Name
	if !s.claim(ident) {
		return CodeVolumeBusy.New("volume %q is being created by another task", ident)
	}
	defer s.unclaim(ident)
	// Checked again here: the name may have been taken while the task
	// was queued, and a record of it would let the cleaner remove a
	// volume this task never made.
	if _, err := s.Volume(ctx, a.Pool, a.Req.Name); err == nil {
		return virt.CodeVolumeExists.New("pool %q already has a volume %q", a.Pool, a.Req.Name)
	} else if !fault.Is(err, virt.CodeVolumeNotFound) {
		return err
	}
	t.Progress(0, "recording the volume")
	if err := t.Record(ctx, ResourceVolume, ident); err != nil {
		return err
	}
	t.Progress(10, "creating volume "+ident)
	err := t.Step(ctx, "create volume", func(ctx context.Context) (tasks.Undo, error) {
		if _, err := s.CreateVolume(ctx, a.Pool, a.Req); err != nil {
			if fault.Is(err, virt.CodeVolumeExists) || fault.IsKind(err, fault.Invalid) || fault.IsKind(err, fault.NotFound) {
				if ferr := t.Forget(context.WithoutCancel(ctx)); ferr != nil {
					return nil, fmt.Errorf("%w (and forgetting its record: %v)", err, ferr)
				}
			}
			return nil, err
		}
		return func(ctx context.Context) error { return s.DeleteVolume(ctx, ident) }, nil
	})
	if err != nil {
		return err
	}
	if a.failAfter == "create" {
		return fault.CodeConflict.New("failing on purpose after create")
	}
	t.SetResult("volume:" + ident)
	t.Progress(100, "created")
	return nil
}
