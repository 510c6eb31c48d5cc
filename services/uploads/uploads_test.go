package uploads

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks/taskstest"
	"github.com/virtportal/virtportal/virt"
)

// env is the service over the test driver's sample host (demo mode: the
// driver keeps no contents) with a clock the test moves.
type env struct {
	*taskstest.Env
	s   *Service
	now time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: taskstest.New(t), now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e.s = New("local", e.M, e.St, Options{Expiry: time.Hour, Demo: true}, slog.New(slog.DiscardHandler))
	e.s.now = func() time.Time { return e.now }
	return e
}

func (e *env) exists(name string) bool {
	e.T.Helper()
	_, err := e.M.Volume(context.Background(), virt.FixturePoolDefault, name)
	if err != nil && !fault.Is(err, virt.CodeVolumeNotFound) {
		e.T.Fatal(err)
	}
	return err == nil
}

func TestSweepDeletesExpired(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old, err := e.s.Create(ctx, virt.FixturePoolDefault, "local:admin", Request{Size: 100, Name: "old.img"})
	if err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(30 * time.Minute)
	fresh, err := e.s.Create(ctx, virt.FixturePoolDefault, "local:admin", Request{Size: 100, Name: "fresh.img"})
	if err != nil {
		t.Fatal(err)
	}
	// Writing to old at +50 min moves its expiry to +110 min.
	e.now = e.now.Add(20 * time.Minute)
	if n, err := e.s.Write(ctx, old, 0, strings.NewReader("0123456789")); n != 10 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	e.now = e.now.Add(45 * time.Minute) // +95 min: fresh (due +90) expired, old not
	if n := e.s.Sweep(ctx); n != 1 {
		t.Fatalf("swept %d, want 1", n)
	}
	if e.exists("fresh.img") || !e.exists("old.img") {
		t.Fatalf("after sweep: fresh %v old %v", e.exists("fresh.img"), e.exists("old.img"))
	}
	if _, err := e.s.Get(ctx, "", fresh.ID); !fault.Is(err, CodeNotFound) {
		t.Fatalf("fresh's record: %v", err)
	}
	u, err := e.s.Get(ctx, "", old.ID)
	if err != nil || u.Offset != 10 {
		t.Fatalf("old: %+v, %v", u, err)
	}
	// An upload being written is left for the next sweep.
	e.now = e.now.Add(time.Hour)
	unlock, err := e.s.Lock(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.s.Sweep(ctx); n != 0 || !e.exists("old.img") {
		t.Fatalf("swept a locked upload: %d", n)
	}
	unlock()
	if n := e.s.Sweep(ctx); n != 1 || e.exists("old.img") {
		t.Fatalf("second sweep: %d, exists %v", n, e.exists("old.img"))
	}
}

func TestCreateLeavesNothingOnFailure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// The fixture's volume exists: the record made first is removed again.
	vols, err := e.M.ListVolumes(ctx, virt.FixturePoolDefault)
	if err != nil || len(vols) == 0 {
		t.Fatal(vols, err)
	}
	_, err = e.s.Create(ctx, virt.FixturePoolDefault, "local:admin", Request{Size: 1, Name: vols[0].Name})
	if !fault.Is(err, virt.CodeVolumeExists) {
		t.Fatalf("err %v, want volume_exists", err)
	}
	if us, _ := e.s.List(ctx, ""); len(us) != 0 {
		t.Fatalf("records left: %+v", us)
	}
}

// A waiter asks the holder to stop and gets the lock once it is released.
func TestLockAsksHolderToStop(t *testing.T) {
	var lt lockTable
	lt.m = map[string]*idLock{}
	stopped := make(chan struct{})
	release, err := lt.lock(context.Background(), "a", func() { close(stopped) })
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		r2, err := lt.lock(context.Background(), "a", nil)
		if err != nil {
			t.Error(err)
			return
		}
		r2()
	})
	<-stopped
	release()
	wg.Wait()
	// A bounded wait on a held lock ends with the context.
	release, _ = lt.lock(context.Background(), "a", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := lt.lock(ctx, "a", nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	release()
	if len(lt.m) != 0 {
		t.Fatalf("locks left: %v", lt.m)
	}
}

// failing yields n bytes, then an error: a client that hung up.
type failing struct{ n int }

func (f *failing) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	k := min(len(p), f.n)
	f.n -= k
	return k, nil
}

func TestWriteRecordsWhatArrivedOnError(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	u, err := e.s.Create(ctx, virt.FixturePoolDefault, "local:admin", Request{Size: 1000, Name: "cut.img"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := e.s.Write(ctx, u, 0, &failing{n: 300})
	if n != 300 || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Write = %d, %v", n, err)
	}
	got, _ := e.s.Get(ctx, "", u.ID)
	if got.Offset != 300 {
		t.Fatalf("offset %d, want 300", got.Offset)
	}
}
