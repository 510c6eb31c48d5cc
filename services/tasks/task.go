// The running task: its steps, undos, records and progress.

package tasks

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
)

// T is a running task, handed to its kind's function.
type T struct {
	r     *Runner
	rn    *run
	undos []step
}

type step struct {
	name string
	undo Undo
}

// Undo reverses a step; it runs on a fresh, bounded context.
type Undo func(ctx context.Context) error

// ID is the task's id.
func (t *T) ID() int64 { return t.rn.t.ID }

// Host is the host the task runs on.
func (t *T) Host() string { return t.rn.snapshot().Host }

// call runs the kind's function, turning a panic into an internal error.
func (t *T) call(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			t.r.log.Error("task panicked", "task", t.ID(), "panic", v, "stack", string(debug.Stack()))
			err = fault.Internalf(fmt.Errorf("panic: %v", v))
		}
	}()
	return t.rn.fn(ctx, t)
}

// Step runs fn unless the task is already cancelled; when fn succeeds
// with an undo, the undo runs (in reverse order of the steps) should a
// later step fail or the task be cancelled.
func (t *T) Step(ctx context.Context, name string, fn func(ctx context.Context) (Undo, error)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	undo, err := fn(ctx)
	if err != nil {
		return err
	}
	if undo != nil {
		t.undos = append(t.undos, step{name: name, undo: undo})
	}
	return nil
}

// unwind runs the undos in reverse, then the cleaners of what is still
// recorded, on a fresh context bounded by UndoTimeout.
func (t *T) unwind() {
	ctx, cancel := context.WithTimeout(context.Background(), t.r.opt.UndoTimeout)
	defer cancel()
	for i := len(t.undos) - 1; i >= 0; i-- {
		if err := t.undos[i].undo(ctx); err != nil {
			t.r.log.Error("task: undo failed", "task", t.ID(), "step", t.undos[i].name, "err", err)
		}
	}
	recs, err := t.r.st.TaskResources(ctx, t.ID())
	if err != nil {
		t.r.log.Error("task: reading records", "task", t.ID(), "err", err)
		return
	}
	t.r.clean(ctx, recs)
}

// Record stores, before it is created, something the task is about to make
// outside the database (kind "volume", "domain", "file"; ident e.g.
// "pool/volume", a domain name, a path). After a crash, or when the task
// fails, the cleaner of its kind removes it. Records go when the task succeeds.
func (t *T) Record(ctx context.Context, kind, ident string) error {
	_, err := t.r.st.AddTaskResource(ctx, store.TaskResource{TaskID: t.ID(), Kind: kind, Host: t.Host(), Ident: ident})
	return err
}

// Forget drops every record of the task: for a step that failed before
// it changed anything, so that nothing is "cleaned" that was never touched.
func (t *T) Forget(ctx context.Context) error {
	return t.r.st.ClearTaskResources(ctx, t.ID())
}

// Progress sets the progress (0–100) and its message. Stored and announced
// at most once per ProgressEvery; the final state always is.
func (t *T) Progress(pct int, msg string) {
	pct = min(max(pct, 0), 100)
	rn := t.rn
	rn.mu.Lock()
	rn.t.Progress, rn.t.Message = pct, msg
	now := t.r.opt.Now()
	due := now.Sub(rn.lastWrite) >= t.r.opt.ProgressEvery
	if due {
		rn.lastWrite = now
	}
	snap := rn.t
	rn.mu.Unlock()
	if due {
		t.r.persist(snap)
		t.r.publish(Info{Task: snap})
	}
}

// SetResult names the resource the task produced ("vm:web01").
func (t *T) SetResult(result string) {
	t.rn.mu.Lock()
	t.rn.t.Result = result
	t.rn.mu.Unlock()
}
