package tasks

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
)

// env is a runner over a real store, with a log of task changes.
type env struct {
	t  *testing.T
	st *store.Store
	r  *Runner

	mu      sync.Mutex
	changes []Info
	ended   map[int64]chan struct{}
}

func newEnv(t *testing.T, opt Options) *env {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, ended: map[int64]chan struct{}{}}
	e.r = New(st, st, opt)
	e.r.OnChange(func(in Info) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.changes = append(e.changes, in)
		if in.Ended() {
			close(e.endedLocked(in.ID))
		}
	})
	t.Cleanup(func() { e.r.Close(context.Background()) })
	return e
}

func (e *env) endedLocked(id int64) chan struct{} {
	ch, ok := e.ended[id]
	if !ok {
		ch = make(chan struct{})
		e.ended[id] = ch
	}
	return ch
}

// wait blocks until task id has ended and returns it as stored.
func (e *env) wait(id int64) store.Task {
	e.t.Helper()
	e.mu.Lock()
	ch := e.endedLocked(id)
	e.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(30 * time.Second):
		e.t.Fatalf("task %d never ended", id)
	}
	t, err := e.st.GetTask(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func (e *env) changesOf(id int64) []Info {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Info
	for _, c := range e.changes {
		if c.ID == id {
			out = append(out, c)
		}
	}
	return out
}

func (e *env) auditOf(id int64) []string {
	evs, err := e.st.ListAudit(context.Background(), store.AuditFilter{Target: "task:" + itoa(id)})
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for i := len(evs) - 1; i >= 0; i-- {
		out = append(out, evs[i].Action+"="+evs[i].Result)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

var spec = Spec{Owner: "pam:alice", Host: "local", Target: "vm:web"}

func TestDoneWithProgress(t *testing.T) {
	// ProgressEvery of a nanosecond: every update is stored and announced.
	e := newEnv(t, Options{ProgressEvery: time.Nanosecond})
	k := Register(e.r, "test.ok", func(ctx context.Context, tk *T, n int) error {
		for i := 1; i <= n; i++ {
			tk.Progress(i*100/n, "step")
		}
		tk.SetResult("vm:web")
		return nil
	})
	in, err := k.Submit(context.Background(), spec, 4)
	if err != nil {
		t.Fatal(err)
	}
	got := e.wait(in.ID)
	if got.Status != store.TaskDone || got.Progress != 100 || got.Result != "vm:web" || got.Started.IsZero() || got.Finished.IsZero() {
		t.Fatalf("task %+v", got)
	}
	var pcts []int
	for _, c := range e.changesOf(in.ID) {
		if c.Status == store.TaskRunning {
			pcts = append(pcts, c.Progress)
		}
	}
	if !slices.Equal(pcts, []int{0, 25, 50, 75, 100}) {
		t.Errorf("progress announced %v", pcts)
	}
	if a := e.auditOf(in.ID); !slices.Equal(a, []string{"task.start=ok", "task.end=ok"}) {
		t.Errorf("audit %v", a)
	}
}

func TestProgressThrottled(t *testing.T) {
	e := newEnv(t, Options{ProgressEvery: time.Hour})
	k := Register(e.r, "test.many", func(ctx context.Context, tk *T, _ struct{}) error {
		for i := range 1000 {
			tk.Progress(i/10, "busy")
		}
		return nil
	})
	in, _ := k.Submit(context.Background(), spec, struct{}{})
	e.wait(in.ID)
	// Start, one progress update (the first is due), end.
	if n := len(e.changesOf(in.ID)); n > 4 {
		t.Fatalf("%d announcements for 1000 updates in an hour's window", n)
	}
	if last := e.changesOf(in.ID); last[len(last)-1].Status != store.TaskDone {
		t.Fatal("final state not announced")
	}
}

func TestFailureUndoesInReverse(t *testing.T) {
	e := newEnv(t, Options{})
	var mu sync.Mutex
	var undone []string
	cleaned := make(chan string, 4)
	e.r.RegisterCleaner("thing", func(ctx context.Context, r store.TaskResource) error {
		cleaned <- r.Ident
		return nil
	})
	boom := fault.Define("test_boom", fault.Conflict)
	k := Register(e.r, "test.fail", func(ctx context.Context, tk *T, _ struct{}) error {
		for _, n := range []string{"a", "b", "c"} {
			if err := tk.Record(ctx, "thing", n); err != nil {
				return err
			}
			err := tk.Step(ctx, n, func(ctx context.Context) (Undo, error) {
				return func(ctx context.Context) error {
					if ctx.Err() != nil {
						return ctx.Err() // the undo's context is a fresh one
					}
					mu.Lock()
					undone = append(undone, n)
					mu.Unlock()
					return nil
				}, nil
			})
			if err != nil {
				return err
			}
		}
		return boom.New("step d failed")
	})
	in, _ := k.Submit(context.Background(), spec, struct{}{})
	got := e.wait(in.ID)
	if got.Status != store.TaskFailed || got.ErrorCode != "test_boom" || got.ErrorMessage != "step d failed" {
		t.Fatalf("task %+v", got)
	}
	if !slices.Equal(undone, []string{"c", "b", "a"}) {
		t.Fatalf("undone %v", undone)
	}
	if len(cleaned) != 3 {
		t.Fatalf("cleaned %d records", len(cleaned))
	}
	if recs, _ := e.st.TaskResources(context.Background(), in.ID); len(recs) != 0 {
		t.Fatalf("records left: %+v", recs)
	}
	if a := e.auditOf(in.ID); !slices.Equal(a, []string{"task.start=ok", "task.end=error:test_boom"}) {
		t.Errorf("audit %v", a)
	}
}

func TestInternalErrorIsOpaque(t *testing.T) {
	e := newEnv(t, Options{})
	k := Register(e.r, "test.internal", func(ctx context.Context, tk *T, panics bool) error {
		if panics {
			panic("boom /etc/shadow")
		}
		return errors.New("secret path /etc/shadow")
	})
	for _, panics := range []bool{false, true} {
		in, _ := k.Submit(context.Background(), spec, panics)
		got := e.wait(in.ID)
		if got.Status != store.TaskFailed || got.ErrorCode != "internal" || got.ErrorMessage != "internal error" {
			t.Fatalf("task %+v", got)
		}
	}
}

func TestCancelRunning(t *testing.T) {
	e := newEnv(t, Options{})
	started := make(chan struct{})
	var undone bool
	k := Register(e.r, "test.block", func(ctx context.Context, tk *T, _ struct{}) error {
		if err := tk.Step(ctx, "one", func(context.Context) (Undo, error) {
			return func(context.Context) error { undone = true; return nil }, nil
		}); err != nil {
			return err
		}
		close(started)
		<-ctx.Done()
		return context.Cause(ctx)
	})
	in, _ := k.Submit(context.Background(), spec, struct{}{})
	<-started
	if _, err := e.r.Cancel(context.Background(), in.ID); err != nil {
		t.Fatal(err)
	}
	got := e.wait(in.ID)
	if got.Status != store.TaskCancelled || got.ErrorCode != "cancelled" || !undone {
		t.Fatalf("task %+v undone %v", got, undone)
	}
	if _, err := e.r.Cancel(context.Background(), in.ID); !fault.Is(err, CodeTaskEnded) {
		t.Fatalf("second cancel: %v", err)
	}
	if _, err := e.r.Cancel(context.Background(), 4242); !fault.Is(err, store.CodeTaskNotFound) {
		t.Fatalf("cancel of nothing: %v", err)
	}
	if a := e.auditOf(in.ID); !slices.Equal(a, []string{"task.start=ok", "task.end=error:cancelled"}) {
		t.Errorf("audit %v", a)
	}
}

func TestCapsAndQueue(t *testing.T) {
	e := newEnv(t, Options{PerHost: 3, PerUser: 2})
	release := map[string]chan struct{}{}
	running := make(chan string, 16)
	k := Register(e.r, "test.hold", func(ctx context.Context, tk *T, name string) error {
		running <- name
		select {
		case <-release[name]:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	names := []string{"a1", "a2", "a3", "b1", "b2", "c1"}
	owners := map[string]string{"a": "pam:alice", "b": "pam:bob", "c": "pam:carol"}
	ids := map[string]int64{}
	for _, n := range names {
		release[n] = make(chan struct{})
	}
	for _, n := range names {
		in, err := k.Submit(context.Background(), Spec{Owner: owners[n[:1]], Host: "local", Target: "vm:" + n}, n)
		if err != nil {
			t.Fatal(err)
		}
		ids[n] = in.ID
	}
	// alice may run 2, the host 3: a1, a2, b1 run; a3, b2, c1 queue in order.
	got := []string{<-running, <-running, <-running}
	slices.Sort(got)
	if !slices.Equal(got, []string{"a1", "a2", "b1"}) {
		t.Fatalf("running %v", got)
	}
	pos := func(n string) int {
		in, err := e.r.Get(context.Background(), ids[n])
		if err != nil {
			t.Fatal(err)
		}
		return in.QueuePosition
	}
	if pos("a3") != 1 || pos("b2") != 2 || pos("c1") != 3 || pos("a1") != 0 {
		t.Fatalf("positions a3=%d b2=%d c1=%d", pos("a3"), pos("b2"), pos("c1"))
	}
	// b1 ends: the host has room, alice has none, so b2 (the oldest allowed) runs.
	close(release["b1"])
	if n := <-running; n != "b2" {
		t.Fatalf("after b1 %s ran", n)
	}
	if pos("a3") != 1 || pos("c1") != 2 {
		t.Fatalf("positions a3=%d c1=%d", pos("a3"), pos("c1"))
	}
	// Cancelling a queued task ends it at once and moves the others up.
	if _, err := e.r.Cancel(context.Background(), ids["a3"]); err != nil {
		t.Fatal(err)
	}
	if st := e.wait(ids["a3"]); st.Status != store.TaskCancelled || !st.Started.IsZero() {
		t.Fatalf("queued cancel: %+v", st)
	}
	if pos("c1") != 1 {
		t.Fatalf("c1 at %d", pos("c1"))
	}
	close(release["a1"])
	if n := <-running; n != "c1" {
		t.Fatalf("after a1 %s ran", n)
	}
	for _, n := range []string{"a2", "b2", "c1"} {
		close(release[n])
	}
	for _, n := range []string{"a1", "a2", "b1", "b2", "c1"} {
		if st := e.wait(ids[n]); st.Status != store.TaskDone {
			t.Fatalf("%s: %+v", n, st)
		}
	}
	// Queue positions were announced as they changed.
	var saw bool
	for _, c := range e.changesOf(ids["c1"]) {
		saw = saw || c.QueuePosition == 1
	}
	if !saw {
		t.Error("c1's move to position 1 was not announced")
	}
}

func TestStartSweepsCrashedTasks(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := context.Background()
	// What a killed process left: a running task with two records, a
	// queued one, and a done one that must stay as it is.
	run, _ := e.st.CreateTask(ctx, store.Task{Kind: "x", Owner: "pam:alice", Status: store.TaskRunning})
	queued, _ := e.st.CreateTask(ctx, store.Task{Kind: "x", Owner: "pam:alice", Status: store.TaskQueued})
	done, _ := e.st.CreateTask(ctx, store.Task{Kind: "x", Owner: "pam:alice", Status: store.TaskDone})
	_, _ = e.st.AddTaskResource(ctx, store.TaskResource{TaskID: run.ID, Kind: "thing", Ident: "one"})
	_, _ = e.st.AddTaskResource(ctx, store.TaskResource{TaskID: run.ID, Kind: "thing", Ident: "bad"})
	_, _ = e.st.AddTaskResource(ctx, store.TaskResource{TaskID: run.ID, Kind: "thing", Ident: "after-bad"})
	_, _ = e.st.AddTaskResource(ctx, store.TaskResource{TaskID: queued.ID, Kind: "unknown", Ident: "z"})
	_, _ = e.st.AddTaskResource(ctx, store.TaskResource{TaskID: queued.ID, Kind: "thing", Ident: "after-unknown"})
	_, _ = e.st.AddTaskResource(ctx, store.TaskResource{TaskID: done.ID, Kind: "thing", Ident: "two"})
	var cleaned []string
	e.r.RegisterCleaner("thing", func(ctx context.Context, r store.TaskResource) error {
		if r.Ident == "bad" {
			return errors.New("cannot")
		}
		cleaned = append(cleaned, r.Ident)
		return nil
	})
	if err := e.r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{run.ID, queued.ID} {
		got, _ := e.st.GetTask(ctx, id)
		if got.Status != store.TaskFailed || got.ErrorCode != "interrupted" || got.Finished.IsZero() {
			t.Fatalf("task %d: %+v", id, got)
		}
		if a := e.auditOf(id); !slices.Equal(a, []string{"task.end=error:interrupted"}) {
			t.Errorf("audit %v", a)
		}
	}
	if got, _ := e.st.GetTask(ctx, done.ID); got.Status != store.TaskDone {
		t.Fatalf("done task changed: %+v", got)
	}
	// Each task's records in order; a failure holds back that task's later ones.
	if !slices.Equal(cleaned, []string{"one", "two"}) {
		t.Fatalf("cleaned %v", cleaned)
	}
	// What could not be cleaned stays for the next start.
	recs, _ := e.st.TaskResources(ctx, 0)
	var left []string
	for _, r := range recs {
		left = append(left, r.Ident)
	}
	if !slices.Equal(left, []string{"bad", "after-bad", "z", "after-unknown"}) {
		t.Fatalf("records left %v", left)
	}
}

func TestCloseInterrupts(t *testing.T) {
	e := newEnv(t, Options{PerUser: 1})
	started := make(chan struct{}, 1)
	k := Register(e.r, "test.long", func(ctx context.Context, tk *T, _ struct{}) error {
		started <- struct{}{}
		<-ctx.Done()
		return context.Cause(ctx)
	})
	a, _ := k.Submit(context.Background(), spec, struct{}{})
	b, _ := k.Submit(context.Background(), spec, struct{}{})
	<-started
	e.r.Close(context.Background())
	for _, id := range []int64{a.ID, b.ID} {
		if got := e.wait(id); got.Status != store.TaskFailed || got.ErrorCode != "interrupted" {
			t.Fatalf("task %d: %+v", id, got)
		}
	}
	if _, err := k.Submit(context.Background(), spec, struct{}{}); !fault.Is(err, CodeClosed) {
		t.Fatalf("submit after close: %v", err)
	}
}
