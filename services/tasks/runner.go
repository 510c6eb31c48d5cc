// Package tasks runs long work as tasks (DESIGN.md §10): steps under a
// context, undos in reverse on failure or cancel, resources recorded
// before they are created so a crash leaves no orphan, caps per host and
// per user with a FIFO queue, throttled progress, and audit events at the
// start and end of each task.
//
// A kind is registered once with Register and submitted with its typed
// arguments:
//
//	del := tasks.Register(r, "vm.delete", func(ctx context.Context, t *tasks.T, a DeleteArgs) error {
//		if err := t.Record(ctx, "volume", "default/web.qcow2"); err != nil { return err }
//		return t.Step(ctx, "delete volume", func(ctx context.Context) (tasks.Undo, error) { ... })
//	})
//	info, err := del.Submit(ctx, tasks.Spec{Owner: "pam:alice", Host: "local", Target: "vm:web"}, args)
package tasks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
)

// Error codes of tasks.
var (
	CodeInterrupted = fault.Define("interrupted", fault.Unavailable)
	CodeCancelled   = fault.Define("cancelled", fault.Conflict)
	CodeTaskEnded   = fault.Define("task_ended", fault.Conflict)
	CodeUnknownKind = fault.Define("task_kind_unknown", fault.Invalid)
	CodeClosed      = fault.Define("tasks_closed", fault.Unavailable)
)

// Auditor stores audit events; *store.Store is one.
type Auditor interface {
	AddAudit(ctx context.Context, e api.AuditEvent) (int64, error)
}

// Options tune a Runner.
type Options struct {
	PerHost int // running tasks per host; default 4
	PerUser int // running tasks per owner; default 2
	// ProgressEvery is the least time between two stored progress updates
	// of one task; default 250 ms (at most 4 writes a second).
	ProgressEvery time.Duration
	// UndoTimeout bounds the undos and cleaners after a failure; default 2 min.
	UndoTimeout time.Duration
	Logger      *slog.Logger
	Now         func() time.Time
}

// Info is a task as it stands, with its place in the queue (0: not queued).
type Info struct {
	store.Task
	QueuePosition int
}

// Cleaner removes a recorded resource left by an interrupted or failed
// task. It must be idempotent: a resource that is already gone is success.
type Cleaner func(ctx context.Context, r store.TaskResource) error

// Runner runs tasks.
type Runner struct {
	st  store.Tasks
	aud Auditor
	opt Options
	log *slog.Logger

	regMu    sync.RWMutex
	kinds    map[string]bool
	cleaners map[string]Cleaner
	watchers []func(Info)

	mu      sync.Mutex
	queue   []*run
	running map[int64]*run
	perHost map[string]int
	perUser map[string]int
	closed  bool
	wg      sync.WaitGroup
}

// run is one live (queued or running) task.
type run struct {
	fn     func(ctx context.Context, t *T) error
	ctx    context.Context
	cancel context.CancelCauseFunc

	mu        sync.Mutex
	t         store.Task
	lastWrite time.Time
}

func (rn *run) snapshot() store.Task {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	return rn.t
}

// The causes a task's context is cancelled with.
var (
	errCancelCause   = errors.New("task cancelled")
	errShutdownCause = errors.New("server shutting down")
)

// New returns a runner storing tasks in st and audit events in aud.
func New(st store.Tasks, aud Auditor, opt Options) *Runner {
	if opt.PerHost <= 0 {
		opt.PerHost = 4
	}
	if opt.PerUser <= 0 {
		opt.PerUser = 2
	}
	if opt.ProgressEvery <= 0 {
		opt.ProgressEvery = 250 * time.Millisecond
	}
	if opt.UndoTimeout <= 0 {
		opt.UndoTimeout = 2 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{st: st, aud: aud, opt: opt, log: opt.Logger, kinds: map[string]bool{},
		cleaners: map[string]Cleaner{}, running: map[int64]*run{}, perHost: map[string]int{}, perUser: map[string]int{}}
}

// Spec says whose a task is and what it works on.
type Spec struct {
	Owner  string // identity, realm:name
	Host   string
	Target string // e.g. "vm:web01"
}

// Func is the body of a task kind taking arguments A.
type Func[A any] func(ctx context.Context, t *T, args A) error

// Kind is a registered task kind taking arguments A.
type Kind[A any] struct {
	r    *Runner
	name string
	fn   Func[A]
}

// Register adds a task kind; registering a name twice panics.
func Register[A any](r *Runner, name string, fn Func[A]) *Kind[A] {
	r.regMu.Lock()
	defer r.regMu.Unlock()
	if r.kinds[name] {
		panic(fmt.Sprintf("tasks: kind %q registered twice", name))
	}
	r.kinds[name] = true
	return &Kind[A]{r: r, name: name, fn: fn}
}

// Name is the kind's name.
func (k *Kind[A]) Name() string { return k.name }

// Submit queues a task of this kind; it starts at once when the caps allow.
func (k *Kind[A]) Submit(ctx context.Context, s Spec, args A) (Info, error) {
	return k.r.submit(ctx, k.name, s, func(ctx context.Context, t *T) error { return k.fn(ctx, t, args) })
}

// RegisterCleaner sets the cleaner of one kind of recorded resource.
func (r *Runner) RegisterCleaner(kind string, c Cleaner) {
	r.regMu.Lock()
	defer r.regMu.Unlock()
	r.cleaners[kind] = c
}

// OnChange calls fn with every change of a task (status, progress, queue
// position), in order for each task; fn must be quick.
func (r *Runner) OnChange(fn func(Info)) {
	r.regMu.Lock()
	defer r.regMu.Unlock()
	r.watchers = append(r.watchers, fn)
}

func (r *Runner) publish(infos ...Info) {
	r.regMu.RLock()
	ws := r.watchers
	r.regMu.RUnlock()
	for _, in := range infos {
		for _, w := range ws {
			w(in)
		}
	}
}

func (r *Runner) submit(ctx context.Context, kind string, s Spec, fn func(context.Context, *T) error) (Info, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return Info{}, CodeClosed.New("the server is shutting down; try again later")
	}
	t, err := r.st.CreateTask(ctx, store.Task{Kind: kind, Owner: s.Owner, Host: s.Host, Target: s.Target,
		Status: store.TaskQueued, Created: r.opt.Now().UTC()})
	if err != nil {
		return Info{}, err
	}
	rctx, cancel := context.WithCancelCause(context.Background())
	rn := &run{fn: fn, ctx: rctx, cancel: cancel, t: t}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		cancel(errShutdownCause)
		r.finish(rn, CodeInterrupted.New("the server is shutting down"), false)
		return Info{Task: rn.snapshot()}, nil
	}
	r.queue = append(r.queue, rn)
	changed := r.scheduleLocked()
	pos := r.positionLocked(rn)
	r.mu.Unlock()
	if pos > 0 {
		changed = append(changed, Info{Task: t, QueuePosition: pos})
	}
	r.publish(changed...)
	return Info{Task: rn.snapshot(), QueuePosition: pos}, nil
}

func (r *Runner) positionLocked(rn *run) int {
	return slices.Index(r.queue, rn) + 1
}

// scheduleLocked starts the queued tasks the caps allow, oldest first, and
// returns the queued tasks whose position changed. Callers hold r.mu.
func (r *Runner) scheduleLocked() []Info {
	before := make(map[*run]int, len(r.queue))
	for i, rn := range r.queue {
		before[rn] = i + 1
	}
	kept := r.queue[:0]
	for _, rn := range r.queue {
		t := rn.snapshot()
		if r.closed || r.perHost[t.Host] >= r.opt.PerHost || r.perUser[t.Owner] >= r.opt.PerUser {
			kept = append(kept, rn)
			continue
		}
		r.perHost[t.Host]++
		r.perUser[t.Owner]++
		r.running[t.ID] = rn
		r.wg.Add(1)
		go r.exec(rn)
	}
	clear(r.queue[len(kept):])
	r.queue = kept
	var changed []Info
	for i, rn := range r.queue {
		if before[rn] != i+1 {
			changed = append(changed, Info{Task: rn.snapshot(), QueuePosition: i + 1})
		}
	}
	return changed
}

// exec runs one task to its end.
func (r *Runner) exec(rn *run) {
	defer r.wg.Done()
	rn.mu.Lock()
	rn.t.Status, rn.t.Started = store.TaskRunning, r.opt.Now().UTC()
	t := rn.t
	rn.mu.Unlock()
	r.persist(t)
	r.audit(t, "task.start", "ok")
	r.publish(Info{Task: t})

	tt := &T{r: r, rn: rn}
	err := rn.ctx.Err()
	if err == nil {
		err = tt.call(rn.ctx)
	}
	if err == nil && rn.ctx.Err() != nil {
		err = rn.ctx.Err() // cancelled while finishing: undo as for any cancel
	}
	if err != nil {
		tt.unwind()
	} else if cerr := r.clearRecords(rn.t.ID); cerr != nil {
		r.log.Error("task: clearing records", "task", rn.t.ID, "err", cerr)
	}
	r.finish(rn, err, true)
}

// finish stores and announces a task's end; wasRunning frees its slot.
func (r *Runner) finish(rn *run, err error, wasRunning bool) {
	// The final state is stored and audited before anyone can see it, so
	// whoever sees a task ended finds its task.end in the audit log.
	t := rn.snapshot()
	t.Finished = r.opt.Now().UTC()
	switch cause := context.Cause(rn.ctx); {
	case err == nil:
		t.Status, t.Progress = store.TaskDone, 100
	case errors.Is(cause, errCancelCause):
		t.Status, t.ErrorCode, t.ErrorMessage = store.TaskCancelled, CodeCancelled.Name, "cancelled"
	case errors.Is(cause, errShutdownCause):
		t.Status, t.ErrorCode, t.ErrorMessage = store.TaskFailed, CodeInterrupted.Name, "the server stopped while the task ran"
	default:
		t.Status = store.TaskFailed
		if f := fault.As(err); f != nil && f.Code.Kind != fault.Internal {
			t.ErrorCode, t.ErrorMessage = f.Code.Name, f.Message
		} else {
			r.log.Error("task failed", "task", t.ID, "kind", t.Kind, "err", err)
			t.ErrorCode, t.ErrorMessage = fault.CodeInternal.Name, "internal error"
		}
	}
	r.persist(t)
	result := "ok"
	if t.ErrorCode != "" {
		result = "error:" + t.ErrorCode
	}
	r.audit(t, "task.end", result)
	rn.mu.Lock()
	rn.t = t
	rn.mu.Unlock()

	var changed []Info
	r.mu.Lock()
	if wasRunning {
		delete(r.running, t.ID)
		r.perHost[t.Host]--
		r.perUser[t.Owner]--
		changed = r.scheduleLocked()
	}
	r.mu.Unlock()
	r.publish(Info{Task: t})
	r.publish(changed...)
}

// persist stores t on a context of its own: the record must outlive the
// task's cancelled one.
func (r *Runner) persist(t store.Task) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.st.UpdateTask(ctx, t); err != nil {
		r.log.Error("task: store update failed", "task", t.ID, "err", err)
	}
}

func (r *Runner) audit(t store.Task, action, result string) {
	if r.aud == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := r.aud.AddAudit(ctx, api.AuditEvent{Time: r.opt.Now().UTC(), Actor: t.Owner, Action: action,
		Target: fmt.Sprintf("task:%d", t.ID), Result: result, Reason: t.Kind + " " + t.Target, Client: "task"})
	if err != nil {
		r.log.Error("task: audit write failed", "task", t.ID, "action", action, "err", err)
	}
}

func (r *Runner) clearRecords(id int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.st.ClearTaskResources(ctx, id)
}

// clean runs the cleaners of the given records, each task's in the order
// they were recorded, and forgets each one whose cleaner succeeded. After a
// failure the task's later records wait too (they may depend on the
// earlier: a guest's volumes go only once the guest is gone); all of them
// stay for the next start-up sweep.
func (r *Runner) clean(ctx context.Context, recs []store.TaskResource) {
	stuck := map[int64]bool{}
	for _, rec := range recs {
		if stuck[rec.TaskID] {
			continue
		}
		r.regMu.RLock()
		c := r.cleaners[rec.Kind]
		r.regMu.RUnlock()
		if c == nil {
			r.log.Error("task: no cleaner for a recorded resource; left in place", "task", rec.TaskID, "kind", rec.Kind, "resource", rec.Ident)
			stuck[rec.TaskID] = true
			continue
		}
		if err := c(ctx, rec); err != nil {
			r.log.Error("task: cleaner failed; retried at next start", "task", rec.TaskID, "kind", rec.Kind, "resource", rec.Ident, "err", err)
			stuck[rec.TaskID] = true
			continue
		}
		if err := r.st.DeleteTaskResource(ctx, rec.ID); err != nil {
			r.log.Error("task: forgetting a cleaned resource", "task", rec.TaskID, "err", err)
		}
	}
}

// Start sweeps what a previous process left: tasks still queued or
// running are marked failed with code interrupted, and every recorded
// resource is removed through its cleaner.
func (r *Runner) Start(ctx context.Context) error {
	for {
		left, err := r.st.ListTasks(ctx, store.TaskFilter{Status: []string{store.TaskQueued, store.TaskRunning}, Limit: store.MaxListLimit})
		if err != nil {
			return err
		}
		for _, t := range left {
			t.Status, t.ErrorCode, t.ErrorMessage = store.TaskFailed, CodeInterrupted.Name, "the server stopped while the task ran"
			t.Finished = r.opt.Now().UTC()
			if err := r.st.UpdateTask(ctx, t); err != nil {
				return err
			}
			r.audit(t, "task.end", "error:"+CodeInterrupted.Name)
		}
		if len(left) < store.MaxListLimit {
			break
		}
	}
	recs, err := r.st.TaskResources(ctx, 0)
	if err != nil {
		return err
	}
	r.clean(ctx, recs)
	return nil
}

// Close refuses new tasks, cancels the queued and running ones (they end
// failed, interrupted, after their undos) and waits for them or ctx.
func (r *Runner) Close(ctx context.Context) {
	r.mu.Lock()
	r.closed = true
	queued := r.queue
	r.queue = nil
	for _, rn := range r.running {
		rn.cancel(errShutdownCause)
	}
	r.mu.Unlock()
	for _, rn := range queued {
		rn.cancel(errShutdownCause)
		r.finish(rn, CodeInterrupted.New("the server is shutting down"), false)
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		r.log.Warn("tasks still running at shutdown; the next start sweeps them")
	}
}

// Get returns a task: a live one as it stands in memory, else the stored one.
func (r *Runner) Get(ctx context.Context, id int64) (Info, error) {
	if in, ok := r.live(id); ok {
		return in, nil
	}
	t, err := r.st.GetTask(ctx, id)
	if err != nil {
		return Info{}, err
	}
	return Info{Task: t}, nil
}

func (r *Runner) live(id int64) (Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if rn, ok := r.running[id]; ok {
		return Info{Task: rn.snapshot()}, true
	}
	for i, rn := range r.queue {
		if t := rn.snapshot(); t.ID == id {
			return Info{Task: t, QueuePosition: i + 1}, true
		}
	}
	return Info{}, false
}

// List returns stored tasks matching f, live ones as they stand.
func (r *Runner) List(ctx context.Context, f store.TaskFilter) ([]Info, error) {
	ts, err := r.st.ListTasks(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]Info, len(ts))
	for i, t := range ts {
		out[i] = Info{Task: t}
		if !t.Ended() {
			if in, ok := r.live(t.ID); ok {
				out[i] = in
			}
		}
	}
	return out, nil
}

// Cancel cancels a queued or running task; a running one ends (cancelled)
// once its undos have run. An ended task is CodeTaskEnded.
func (r *Runner) Cancel(ctx context.Context, id int64) (Info, error) {
	r.mu.Lock()
	if rn, ok := r.running[id]; ok {
		r.mu.Unlock()
		// Ending: its final state is set, its slot not yet freed.
		if t := rn.snapshot(); t.Ended() {
			return Info{Task: t}, CodeTaskEnded.New("task %d has already ended (%s)", id, t.Status)
		}
		rn.cancel(errCancelCause)
		return Info{Task: rn.snapshot()}, nil
	}
	for i, rn := range r.queue {
		if rn.snapshot().ID != id {
			continue
		}
		r.queue = slices.Delete(r.queue, i, i+1)
		changed := make([]Info, 0, len(r.queue)-i)
		for j := i; j < len(r.queue); j++ {
			changed = append(changed, Info{Task: r.queue[j].snapshot(), QueuePosition: j + 1})
		}
		r.mu.Unlock()
		rn.cancel(errCancelCause)
		r.finish(rn, CodeCancelled.New("cancelled"), false)
		r.publish(changed...)
		return Info{Task: rn.snapshot()}, nil
	}
	r.mu.Unlock()
	t, err := r.st.GetTask(ctx, id)
	if err != nil {
		return Info{}, err
	}
	return Info{Task: t}, CodeTaskEnded.New("task %d has already ended (%s)", id, t.Status)
}
