// Package vmcreate makes new guests from templates as tasks (vm.create):
// it checks the request at once (template usable, name free, every disk
// fits its pool), then creates the volumes (thin, linked or copied), the
// cloud-init seed, and the domain with its metadata, recording each thing
// before it is made so that a failure, a cancel or a crash leaves nothing.
package vmcreate

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// KindCreate is the task kind that makes a guest from a template.
const KindCreate = "vm.create"

// Records of what a creation is about to make.
const (
	ResourceVolume = "vmcreate.volume" // ident "pool/volume"
	ResourceGuest  = "vmcreate.guest"  // ident the guest's name
)

// Codes of guest creation.
var (
	// CodeTemplateUnusable: the template names a pool, network, ISO or
	// image that is gone; the details list each problem.
	CodeTemplateUnusable = fault.Define("template_unusable", fault.Conflict)
	// CodeGuestNameBusy: another task is creating a guest of that name.
	CodeGuestNameBusy = fault.Define("guest_name_busy", fault.Conflict)
	// CodeWrongHost: the request names a host this service does not manage.
	CodeWrongHost = fault.Define("vm_create_wrong_host", fault.Invalid)
	// CodePoolTooSmall: a pool has not the room for the disks asked of it.
	CodePoolTooSmall = fault.Define("pool_too_small", fault.Conflict)
	// CodeNoFreeName: no <template>-N name is free.
	CodeNoFreeName = fault.Define("no_free_name", fault.Conflict)
)

// Templates gives templates with their Problems filled; the templates
// service is one.
type Templates interface {
	Template(ctx context.Context, id int64) (api.Template, error)
}

// Host is what creation needs of a host; *virt.Manager is one.
type Host interface {
	Pool(ctx context.Context, name string) (api.Pool, error)
	Volume(ctx context.Context, pool, name string) (api.Volume, error)
	CreateVolume(ctx context.Context, pool string, req api.VolumeRequest) (api.Volume, error)
	CloneVolume(ctx context.Context, req virt.CloneRequest, progress func(done uint64)) (api.Volume, error)
	ResizeVolume(ctx context.Context, pool, name string, capacity uint64) (api.Volume, error)
	CreateOverlayVolume(ctx context.Context, pool, name, basePool, base string, capacity uint64) (api.Volume, error)
	CreateUploadVolume(ctx context.Context, pool, name, format string, size uint64) error
	FillVolume(ctx context.Context, pool, name string, r io.Reader, length uint64, progress func(done uint64)) error
	DeleteVolume(ctx context.Context, ident string) error
	DeleteBuiltVolume(ctx context.Context, ident string) error
	WaitReady(ctx context.Context) error
	VolumeOS(ctx context.Context, pool, name string) (api.VolumeOS, error)
	Network(ctx context.Context, name string) (api.Network, error)
	DomainType(ctx context.Context) (string, error)
	GuestExists(ctx context.Context, name string) (bool, error)
	NewMACs(ctx context.Context, n int) ([]string, error)
	DefineGuest(ctx context.Context, dom *libvirtxml.Domain) error
	RemoveGuest(ctx context.Context, name string) error
	Action(ctx context.Context, name, action string) (api.VM, error)
}

// readyWait bounds how long a cleaner waits for libvirt at start.
const readyWait = 30 * time.Second

// Service creates the guests of one host.
type Service struct {
	host      string
	h         Host
	templates Templates
	kind      *tasks.Kind[Args]

	// busy holds the guest names and "pool/volume"s of creations from
	// submission to their end, so that two requests never plan the same
	// name (the loser's cleaner would remove the winner's guest).
	mu     sync.Mutex
	busy   map[string]*claim
	byTask map[int64]*claim
}

// claim is one creation's hold on its names.
type claim struct {
	keys []string
	done bool
}

// New registers the vm.create kind and its cleaners with r.
func New(r *tasks.Runner, host string, h Host, t Templates) *Service {
	s := &Service{host: host, h: h, templates: t, busy: map[string]*claim{}, byTask: map[int64]*claim{}}
	// A task cancelled while queued never runs its steps: its end frees
	// its names.
	r.OnChange(func(in tasks.Info) {
		if in.Kind != KindCreate || !in.Ended() {
			return
		}
		s.mu.Lock()
		c := s.byTask[in.ID]
		delete(s.byTask, in.ID)
		s.mu.Unlock()
		s.release(c)
	})
	r.RegisterCleaner(ResourceVolume, func(ctx context.Context, rec store.TaskResource) error {
		if rec.Host != s.host {
			return CodeWrongHost.New("host %q is not managed here", rec.Host)
		}
		// At start libvirt may still be filling a copy the crashed
		// process asked for: wait for it, then delete.
		wctx, cancel := context.WithTimeout(ctx, readyWait)
		defer cancel()
		if err := h.WaitReady(wctx); err != nil {
			return err
		}
		return h.DeleteBuiltVolume(ctx, rec.Ident)
	})
	r.RegisterCleaner(ResourceGuest, func(ctx context.Context, rec store.TaskResource) error {
		if rec.Host != s.host {
			return CodeWrongHost.New("host %q is not managed here", rec.Host)
		}
		return h.RemoveGuest(ctx, rec.Ident)
	})
	s.kind = tasks.Register(r, KindCreate, s.steps)
	return s
}

// SetTemplates sets where templates come from (nil: creation refused).
func (s *Service) SetTemplates(t Templates) { s.templates = t }

// CodeNoTemplates: this server was started without templates.
var CodeNoTemplates = fault.Define("templates_unavailable", fault.Unavailable)

// Args are the arguments of a vm.create task: the plan, made whole at
// submission so the task does no deciding.
type Args struct {
	Spec    virt.GuestSpec
	Volumes []NewVolume
	Seed    []byte // the cloud-init ISO, if any
	SeedVol string // its "pool/volume"
	// Uses, "pool/volume", is the volume an import uses in place: held
	// from submission, never made nor deleted.
	Uses  string
	Start bool
	// claim holds the names from submission to the task's end.
	claim *claim
	// failAfter, in tests, fails the task after the step of that name.
	failAfter string
}

// NewVolume is a volume the task creates.
type NewVolume struct {
	Pool, Name string
	Size       uint64
	Format     string
	// From, "pool/volume", is the image it starts from (empty: blank).
	From   string
	Linked bool
}

// Submit checks the request against the template and the host and
// queues the creation; creator, when set, becomes the guest's manager.
func (s *Service) Submit(ctx context.Context, owner string, creator *api.Grant, req api.VMCreate) (tasks.Info, string, error) {
	a, err := s.Plan(ctx, creator, req)
	if err != nil {
		return tasks.Info{}, "", err
	}
	return s.submit(ctx, owner, a)
}

// submit claims the names of a planned creation and queues it.
func (s *Service) submit(ctx context.Context, owner string, a Args) (tasks.Info, string, error) {
	if a.claim = s.claim(a.keys()...); a.claim == nil {
		return tasks.Info{}, a.Spec.Name, CodeGuestNameBusy.New("guest %q or one of its volumes is being created by another task", a.Spec.Name)
	}
	in, err := s.kind.Submit(ctx, tasks.Spec{Owner: owner, Host: s.host, Target: "vm:" + a.Spec.Name}, a)
	if err != nil {
		s.release(a.claim)
		return in, a.Spec.Name, err
	}
	s.mu.Lock()
	if !a.claim.done {
		s.byTask[in.ID] = a.claim
	}
	s.mu.Unlock()
	return in, a.Spec.Name, nil
}

// keys are the names a creation holds: the guest's, its new volumes' and
// the volume an import uses.
func (a Args) keys() []string {
	keys := append([]string{a.Spec.Name}, a.made()...)
	if a.Uses != "" {
		keys = append(keys, "uses:"+a.Uses)
	}
	return keys
}

// made are the "pool/volume"s the creation makes.
func (a Args) made() []string {
	var out []string
	for _, v := range a.Volumes {
		out = append(out, v.Pool+"/"+v.Name)
	}
	if a.SeedVol != "" {
		out = append(out, a.SeedVol)
	}
	return out
}

// Plan turns a request into the task's arguments, refusing what cannot be
// made: an unusable template, a taken or bad name, pools short of room.
func (s *Service) Plan(ctx context.Context, creator *api.Grant, req api.VMCreate) (Args, error) {
	if s.templates == nil {
		return Args{}, CodeNoTemplates.New("templates are not available on this server")
	}
	if req.Host != "" && req.Host != s.host {
		return Args{}, CodeWrongHost.New("host %q is not managed here", req.Host)
	}
	tm, err := s.templates.Template(ctx, req.Template)
	if err != nil {
		return Args{}, err
	}
	if tm.Host != "" && tm.Host != s.host {
		return Args{}, CodeWrongHost.New("template %q is for host %q", tm.Name, tm.Host)
	}
	if len(tm.Problems) > 0 {
		var det []fault.Detail
		var names []string
		for _, p := range tm.Problems {
			det = append(det, fault.Detail{Field: p.Field, Message: p.Message})
			names = append(names, p.Message)
		}
		return Args{}, CodeTemplateUnusable.New("template %q cannot be used: %s", tm.Name, strings.Join(names, "; ")).WithDetails(det)
	}
	name := req.Name
	if name == "" {
		if name, err = s.freeName(ctx, tm.Name); err != nil {
			return Args{}, err
		}
	} else {
		if err := virt.ValidateName(name); err != nil {
			return Args{}, err
		}
		if ok, err := s.h.GuestExists(ctx, name); err != nil {
			return Args{}, err
		} else if ok {
			return Args{}, virt.CodeGuestExists.New("a guest named %q exists", name)
		}
	}
	a, err := s.plan(ctx, tm, name, creator, req)
	if err != nil {
		return Args{}, err
	}
	return a, s.checkRoom(ctx, a.Volumes)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// freeName is <template>-N with the first N no guest has.
func (s *Service) freeName(ctx context.Context, template string) (string, error) {
	base := strings.Trim(unsafeName.ReplaceAllString(template, "-"), "-._")
	if base == "" {
		base = "guest"
	}
	base = base[:min(len(base), virt.MaxNameLen-5)]
	for n := 1; n <= 9999; n++ {
		name := base + "-" + strconv.Itoa(n)
		if s.isBusy(name) {
			continue
		}
		ok, err := s.h.GuestExists(ctx, name)
		if err != nil {
			return "", err
		}
		if !ok {
			return name, nil
		}
	}
	return "", CodeNoFreeName.New("no free name %s-N", base)
}

func (s *Service) isBusy(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy[k] != nil
}

// claim holds every key, or none (nil) when one is held already.
func (s *Service) claim(keys ...string) *claim {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if s.busy[k] != nil {
			return nil
		}
	}
	c := &claim{keys: keys}
	for _, k := range keys {
		s.busy[k] = c
	}
	return c
}

// release frees what c holds; releasing twice, or nil, is harmless.
func (s *Service) release(c *claim) {
	if c == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c.done = true
	for _, k := range c.keys {
		if s.busy[k] == c {
			delete(s.busy, k)
		}
	}
}

// checkRoom refuses pools whose free space is short of the sizes of the
// new disks they would hold (thin disks may grow to their size).
func (s *Service) checkRoom(ctx context.Context, vols []NewVolume) error {
	need := map[string]uint64{}
	var order []string
	for _, v := range vols {
		if _, ok := need[v.Pool]; !ok {
			order = append(order, v.Pool)
		}
		need[v.Pool] += v.Size
	}
	var det []fault.Detail
	for _, p := range order {
		pool, err := s.h.Pool(ctx, p)
		if err != nil {
			return err
		}
		if pool.State != "" && pool.State != "running" {
			return virt.CodePoolInactive.New("pool %q is not running", p)
		}
		if need[p] > pool.Available {
			det = append(det, fault.Detail{Field: "pool:" + p, Message: fmt.Sprintf("pool %q has %d bytes free; the disks need %d", p, pool.Available, need[p])})
		}
	}
	if len(det) > 0 {
		return CodePoolTooSmall.New("%s", det[0].Message).WithDetails(det)
	}
	return nil
}

// ErrIsWriteUnsupported reports whether err says the host cannot write
// volume contents (the test driver).
func ErrIsWriteUnsupported(err error) bool {
	return fault.Is(err, virt.CodeVolumeWriteNotSupported) || fault.Is(err, virt.CodeUploadNotSupported)
}
