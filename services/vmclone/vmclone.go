// Package vmclone clones shut-off guests as tasks: a pre-check that says
// where each disk goes and whether it fits, then copies (or linked
// overlays) with byte progress, a new definition, cancel and undo. Every
// volume and the definition are recorded before they are made, so a
// failure, a cancel or a crash of the portal leaves nothing behind.
package vmclone

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// KindClone clones a guest.
const KindClone = "vm.clone"

// Kinds of recorded resources.
const (
	// ResourceVolume is a disk's copy; ident "pool/volume". Its cleaner
	// waits while libvirt still fills it.
	ResourceVolume = "vm.clone.volume"
	// ResourceDomain is the clone's definition; ident "<uuid> <name>". Its
	// cleaner removes only the guest of that UUID still of that name.
	ResourceDomain = "vm.clone.domain"
)

// Codes of clones.
var (
	// CodeWrongHost: a record names a host this process does not manage.
	CodeWrongHost = fault.Define("task_wrong_host", fault.Unavailable)
	// CodeCloneChanged: between the pre-check and the copy, the guest or
	// the pools changed so that a disk no longer fits.
	CodeCloneChanged = fault.Define("clone_changed", fault.Conflict)
)

// Host is what clones need of a host; *virt.Manager is one.
type Host interface {
	PlanClone(ctx context.Context, req virt.ClonePlanRequest) (api.ClonePlan, error)
	Volume(ctx context.Context, pool, name string) (api.Volume, error)
	CloneVolume(ctx context.Context, req virt.CloneRequest, progress func(done uint64)) (api.Volume, error)
	CreateOverlay(ctx context.Context, srcPool, srcName, destPool, destName string) error
	DefineClone(ctx context.Context, plan api.ClonePlan, uuid string) error
	UndefineUUID(ctx context.Context, uuid, name string) error
	DeleteBuiltVolume(ctx context.Context, ident string) error
	WaitReady(ctx context.Context) error
}

// readyWait bounds how long a cleaner waits for libvirt: the sweep at
// start runs before the first connection is made.
const readyWait = 15 * time.Second

// ready waits for libvirt's connection, briefly.
func ready(ctx context.Context, h Host) error {
	wctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	return h.WaitReady(wctx)
}

// Options tune clones.
type Options struct {
	// DefaultPool takes a disk's copy when its own pool is short of space
	// or of a type where volumes cannot be made; "": "default".
	DefaultPool string
}

// Service clones the guests of one host.
type Service struct {
	r    *tasks.Runner
	h    Host
	host string
	opt  Options
	kind *tasks.Kind[cloneArgs]

	mu     sync.Mutex
	claims map[string]int64 // new guest names being made → task id (0: being submitted)
}

type cloneArgs struct {
	Plan   api.ClonePlan
	Pool   string
	Linked bool
	// failAfter, in tests, fails the task after the step of that name.
	failAfter string
}

// Register adds the clone kind and its cleaners to r.
func Register(r *tasks.Runner, host string, h Host, opt Options) *Service {
	if opt.DefaultPool == "" {
		opt.DefaultPool = "default"
	}
	s := &Service{r: r, h: h, host: host, opt: opt, claims: map[string]int64{}}
	r.RegisterCleaner(ResourceVolume, func(ctx context.Context, rec store.TaskResource) error {
		if rec.Host != host {
			return CodeWrongHost.New("host %q is not managed here", rec.Host)
		}
		if err := ready(ctx, h); err != nil {
			return err
		}
		return h.DeleteBuiltVolume(ctx, rec.Ident)
	})
	r.RegisterCleaner(ResourceDomain, func(ctx context.Context, rec store.TaskResource) error {
		if rec.Host != host {
			return CodeWrongHost.New("host %q is not managed here", rec.Host)
		}
		if err := ready(ctx, h); err != nil {
			return err
		}
		uuid, name, _ := strings.Cut(rec.Ident, " ")
		return h.UndefineUUID(ctx, uuid, name)
	})
	s.kind = tasks.Register(r, KindClone, s.steps)
	return s
}

// DefaultPool is the pool copies fall back to.
func (s *Service) DefaultPool() string { return s.opt.DefaultPool }

// taken reports whether another clone is making a guest of this name.
func (s *Service) taken(name string) bool {
	s.mu.Lock()
	id, ok := s.claims[name]
	s.mu.Unlock()
	if !ok {
		return false
	}
	if id == 0 {
		return true
	}
	if in, err := s.r.Get(context.Background(), id); err == nil && in.Ended() {
		s.release(name, id)
		return false
	}
	return true
}

func (s *Service) release(name string, id int64) {
	s.mu.Lock()
	if s.claims[name] == id {
		delete(s.claims, name)
	}
	s.mu.Unlock()
}

func (s *Service) planRequest(source string, req api.VMClone) virt.ClonePlanRequest {
	return virt.ClonePlanRequest{Source: source, NewName: req.Name, Pool: req.Pool, Linked: req.Linked,
		DefaultPool: s.opt.DefaultPool, Taken: s.taken}
}

// Plan is the pre-check alone: where each disk goes and whether it
// fits. Nothing changes.
func (s *Service) Plan(ctx context.Context, source string, req api.VMClone) (api.ClonePlan, error) {
	return s.h.PlanClone(ctx, s.planRequest(source, req))
}

// Submit checks the clone (shut off, name free, every disk has a place)
// and submits it; a refusal is an immediate answer and nothing is made.
// A plan that does not fit is CodeCloneNoSpace with the disks in its details.
func (s *Service) Submit(ctx context.Context, owner, source string, req api.VMClone) (tasks.Info, api.ClonePlan, error) {
	s.mu.Lock() // one plan at a time, so two clones never pick one name
	defer s.mu.Unlock()
	plan, err := s.h.PlanClone(ctx, virt.ClonePlanRequest{Source: source, NewName: req.Name, Pool: req.Pool, Linked: req.Linked,
		DefaultPool: s.opt.DefaultPool, Taken: s.takenLocked})
	if err != nil {
		return tasks.Info{}, plan, err
	}
	if !plan.Fits {
		return tasks.Info{}, plan, NoSpace(plan)
	}
	s.claims[plan.Name] = 0
	s.mu.Unlock()
	in, err := s.kind.Submit(ctx, tasks.Spec{Owner: owner, Host: s.host, Target: "vm:" + plan.Name},
		cloneArgs{Plan: plan, Pool: req.Pool, Linked: req.Linked})
	s.mu.Lock()
	if err != nil {
		delete(s.claims, plan.Name)
		return tasks.Info{}, plan, err
	}
	s.claims[plan.Name] = in.ID
	return in, plan, nil
}

// takenLocked is taken for callers holding s.mu (ended tasks' claims are
// dropped by taken later; here only live claims count).
func (s *Service) takenLocked(name string) bool {
	id, ok := s.claims[name]
	if !ok || id == 0 {
		return ok
	}
	if in, err := s.r.Get(context.Background(), id); err == nil && in.Ended() {
		delete(s.claims, name)
		return false
	}
	return true
}

// NoSpace is the refusal of a plan where some disk has no place, naming
// each disk's outcome.
func NoSpace(plan api.ClonePlan) error {
	var ds []fault.Detail
	var bad []string
	for i, d := range plan.Disks {
		msg := fmt.Sprintf("%s: %s", d.Target, d.Action)
		if d.DestPool != "" {
			msg += " to pool " + d.DestPool
		}
		if d.Reason != "" {
			msg += " (" + d.Reason + ")"
		}
		ds = append(ds, fault.Detail{Field: fmt.Sprintf("disks[%d]", i), Message: msg})
		if !d.Fits {
			bad = append(bad, d.Target)
		}
	}
	return virt.CodeCloneNoSpace.New("no pool can hold the copy of %s; nothing was copied", strings.Join(bad, ", ")).WithDetails(ds)
}

// steps checks the plan again (the guest must still be off and every
// disk still fit), copies the disks one by one with byte progress, and
// defines the clone. Each copy and the definition are recorded first.
func (s *Service) steps(ctx context.Context, t *tasks.T, a cloneArgs) error {
	name := a.Plan.Name
	defer s.release(name, t.ID())
	t.Progress(0, "checking the guest and the pools")
	plan, err := s.h.PlanClone(ctx, virt.ClonePlanRequest{Source: a.Plan.Source, NewName: name, Pool: a.Pool, Linked: a.Linked,
		DefaultPool: s.opt.DefaultPool, Taken: func(n string) bool { return n != name && s.taken(n) }})
	if err != nil {
		return err
	}
	if !plan.Fits {
		return CodeCloneChanged.Wrap(NoSpace(plan), "the guest or its pools changed since the check: a disk no longer fits")
	}
	var done uint64
	total := max(plan.Need, 1)
	for _, d := range plan.Disks {
		if d.Action != api.CloneCopy && d.Action != api.CloneLink {
			continue
		}
		if err := s.copyDisk(ctx, t, d, done, total); err != nil {
			return err
		}
		done += d.Need
		if a.failAfter == "copy "+d.Target {
			return fault.CodeConflict.New("failing on purpose after copying %s", d.Target)
		}
	}
	uuid := virt.NewUUID()
	if err := t.Record(ctx, ResourceDomain, uuid+" "+name); err != nil {
		return err
	}
	t.Progress(99, "defining "+name)
	err = t.Step(ctx, "define "+name, func(ctx context.Context) (tasks.Undo, error) {
		if err := s.h.DefineClone(ctx, plan, uuid); err != nil {
			return nil, err
		}
		return func(ctx context.Context) error { return s.h.UndefineUUID(ctx, uuid, name) }, nil
	})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	t.SetResult("vm:" + name)
	t.Progress(100, "cloned")
	return nil
}

// copyDisk records the disk's copy, then makes it; the undo (and the
// cleaner, after a crash) deletes it.
func (s *Service) copyDisk(ctx context.Context, t *tasks.T, d api.CloneDisk, before, total uint64) error {
	ident := d.DestPool + "/" + d.DestVolume
	// The name was free at the check; a volume of that name now was not
	// made by this task, and a record of it would let the cleaner remove it.
	switch _, err := s.h.Volume(ctx, d.DestPool, d.DestVolume); {
	case err == nil:
		return virt.CodeVolumeExists.New("pool %q already has a volume %q", d.DestPool, d.DestVolume)
	case !fault.Is(err, virt.CodeVolumeNotFound):
		return err
	}
	if err := t.Record(ctx, ResourceVolume, ident); err != nil {
		return err
	}
	src := d.SourcePool + "/" + d.SourceVolume
	return t.Step(ctx, "copy "+d.Target, func(ctx context.Context) (tasks.Undo, error) {
		undo := func(ctx context.Context) error { return s.h.DeleteBuiltVolume(ctx, ident) }
		if d.Action == api.CloneLink {
			t.Progress(int(before*98/total), fmt.Sprintf("%s: linking to %s", d.Target, src))
			if err := s.h.CreateOverlay(ctx, d.SourcePool, d.SourceVolume, d.DestPool, d.DestVolume); err != nil {
				return nil, err // what was made goes with the record's cleaner
			}
			return undo, nil
		}
		t.Progress(int(before*98/total), fmt.Sprintf("%s: copying %s to %s", d.Target, src, ident))
		_, err := s.h.CloneVolume(ctx, virt.CloneRequest{Pool: d.SourcePool, Name: d.SourceVolume, TargetPool: d.DestPool, NewName: d.DestVolume},
			func(n uint64) {
				n = min(n, d.Need)
				t.Progress(int((before+n)*98/total), fmt.Sprintf("%s: copied %s of %s", d.Target, mib(n), mib(d.Need)))
			})
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return undo, err // cancelled while libvirt copied
		}
		return undo, nil
	})
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
