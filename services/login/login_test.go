package login

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
)

// fakeRealm stands beside the real realms to count password checks: owner
// has password "right"; "down" is a directory outage; the rest fail.
type fakeRealm struct {
	mu              sync.Mutex
	calls, inflight int
	maxInflight     int
	perUser         map[string]int
	gate            chan struct{} // when set, each check waits for it to close
}

func (f *fakeRealm) Name() string  { return "fake" }
func (f *fakeRealm) Label() string { return "Fake" }
func (f *fakeRealm) Authenticate(_ context.Context, user, pw string) (rbac.Principal, error) {
	f.mu.Lock()
	f.calls++
	f.inflight++
	f.maxInflight = max(f.maxInflight, f.inflight)
	if f.perUser == nil {
		f.perUser = map[string]int{}
	}
	f.perUser[user]++
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	f.inflight--
	f.mu.Unlock()
	switch {
	case user == "down":
		return rbac.Principal{}, auth.Fail(auth.ReasonUnavailable, errors.New("directory down"))
	case user == "owner" && pw == "right":
		return rbac.Principal{Realm: "fake", Name: user, Roles: []string{rbac.RoleAdmin}}, nil
	case user == "owner":
		return rbac.Principal{}, auth.Fail(auth.ReasonBadPassword, nil)
	}
	return rbac.Principal{}, auth.Fail(auth.ReasonUnknownUser, nil)
}

func (f *fakeRealm) stats() (calls, maxInflight int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls, f.maxInflight
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newService returns a service over a fresh store and the fake realm, its
// clock at *now.
func newService(t testing.TB, o Options) (*Service, *fakeRealm, *store.Store, *time.Time) {
	t.Helper()
	st := openStore(t)
	f := &fakeRealm{}
	realms, err := auth.NewRealms(f)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	o.Now = func() time.Time { return now }
	return New(realms, NewThrottle(st), o), f, st, &now
}

func try(s *Service, user, pw, addr string) error {
	_, err := s.Login(context.Background(), Attempt{Realm: "fake", Username: user, Password: pw, Addr: addr})
	return err
}

func wantCode(t *testing.T, err error, code fault.Code) {
	t.Helper()
	if code == (fault.Code{}) {
		if err != nil {
			t.Fatalf("got %v, want success", err)
		}
		return
	}
	if !fault.Is(err, code) {
		t.Fatalf("got %v, want %s", err, code.Name)
	}
}

// Regression (issue 8 §7): 100 parallel wrong passwords for one user got 94
// password checks (6 × 429) and 1.7 GB of argon2id memory.
func TestParallelWrongPasswordsReserveFirst(t *testing.T) {
	s, f, _, _ := newService(t, Options{MaxConcurrent: 2, MaxQueue: 100})
	var wg sync.WaitGroup
	errs := make([]error, 100)
	for i := range errs {
		wg.Go(func() { errs[i] = try(s, "owner", fmt.Sprint("wrong", i), "192.0.2.1") })
	}
	wg.Wait()
	count := map[string]int{}
	for _, err := range errs {
		count[fault.As(err).Code.Name]++
	}
	calls, maxIn := f.stats()
	if calls != s.throttle.IdentityLimit || count["unauthorized"] != calls || count["too_many_requests"] != 100-calls {
		t.Fatalf("%d password checks, answers %v; want %d checks and the rest 429", calls, count, s.throttle.IdentityLimit)
	}
	if maxIn > 2 {
		t.Fatalf("%d checks ran at once, cap 2", maxIn)
	}
	for _, err := range errs {
		if fe := fault.As(err); fe.Code == fault.CodeRateLimited && fe.RetryAfter < 1 {
			t.Fatalf("429 without Retry-After: %+v", fe)
		}
	}
}

// The cap on password checks holds whoever the users are (existing or not):
// MaxConcurrent run, MaxQueue wait, the rest are busy at once.
func TestPasswordCheckCap(t *testing.T) {
	s, f, _, _ := newService(t, Options{MaxConcurrent: 2, MaxQueue: 3, QueueWait: time.Hour})
	f.gate = make(chan struct{})
	queued := make(chan struct{}, 10)
	s.queued = func() { queued <- struct{}{} }
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	start := func(i int) {
		wg.Go(func() { errs <- try(s, fmt.Sprint("user", i), "pw", fmt.Sprint("192.0.2.", i)) })
	}
	for i := range 2 {
		start(i)
	}
	for range 3 {
		start(10 + len(queued))
		<-queued
	}
	// Two in the realm (they hold the gate), three waiting: the rest are
	// refused without touching the realm.
	for i := range 5 {
		wantCode(t, try(s, fmt.Sprint("late", i), "pw", "198.51.100.1"), CodeBusy)
	}
	close(f.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		wantCode(t, err, fault.CodeUnauthorized)
	}
	if calls, maxIn := f.stats(); calls != 5 || maxIn != 2 {
		t.Fatalf("%d checks, %d at once; want 5 and 2", calls, maxIn)
	}
	// A busy refusal judged no password: it does not count as a failure.
	th, _ := s.throttle.st.(*store.Store).GetThrottle(context.Background(), "id:fake:late0")
	if th.Failures != 0 {
		t.Fatalf("busy attempt counted: %+v", th)
	}
}

// An unknown user takes the same path as a known one: reserved, queued,
// checked by the realm (which spends a real check's time), then 401.
func TestUnknownUserSamePath(t *testing.T) {
	s, f, _, _ := newService(t, Options{})
	wantCode(t, try(s, "nobody", "pw", "192.0.2.1"), fault.CodeUnauthorized)
	wantCode(t, try(s, "owner", "pw", "192.0.2.2"), fault.CodeUnauthorized)
	if f.perUser["nobody"] != 1 || f.perUser["owner"] != 1 {
		t.Fatalf("realm checks %v", f.perUser)
	}
	// A name of the wrong shape never reaches the realm, but counts.
	wantCode(t, try(s, "a*)(uid=*", "pw", "192.0.2.3"), fault.CodeUnauthorized)
	if calls, _ := f.stats(); calls != 2 {
		t.Fatalf("a malformed name reached the realm")
	}
}

// Regression (issue 8 §7): failures for a known user from rotating
// addresses locked the real owner out for up to 900 s.
func TestRotatingAddressesDoNotLockOutOwner(t *testing.T) {
	s, _, st, now := newService(t, Options{})
	for i := range 60 {
		wantCode(t, try(s, "owner", "guess", fmt.Sprintf("203.0.113.%d", i)), fault.CodeUnauthorized)
	}
	t.Run("a clean address gets in", func(t *testing.T) {
		wantCode(t, try(s, "owner", "right", "192.0.2.7"), fault.Code{})
	})
	t.Run("a failed address waits out the identity's delay", func(t *testing.T) {
		wantCode(t, try(s, "owner", "right", "203.0.113.5"), fault.CodeRateLimited)
	})
	t.Run("the identity is forgotten after the window", func(t *testing.T) {
		*now = t0.Add(s.throttle.Window + time.Second)
		defer func() { *now = t0 }()
		wantCode(t, try(s, "owner", "right", "203.0.113.6"), fault.Code{})
	})
	t.Run("clearing forgets every address", func(t *testing.T) {
		n, err := s.Throttle().Clear(context.Background(), "fake", "OWNER")
		if err != nil || n != 60 {
			t.Fatalf("cleared %d keys, %v; want the identity and its 59 failed addresses left", n, err)
		}
		wantCode(t, try(s, "owner", "right", "203.0.113.5"), fault.Code{})
		// Keys of another identity sharing the prefix stay.
		if _, err := st.AddFailure(context.Background(), "pair:fake:owner2|x", t0, time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Throttle().Clear(context.Background(), "fake", "owner"); err != nil {
			t.Fatal(err)
		}
		if th, _ := st.GetThrottle(context.Background(), "pair:fake:owner2|x"); th.Failures != 1 {
			t.Fatalf("clear of owner removed a key of owner2")
		}
	})
}

// Successes and outages take their reservation back: an office of people
// behind one address, or a directory outage, never adds up to a lock-out.
func TestReservationsTakenBack(t *testing.T) {
	s, _, _, _ := newService(t, Options{})
	for range 3 * s.throttle.AddressLimit {
		wantCode(t, try(s, "owner", "right", "192.0.2.1"), fault.Code{})
	}
	for range 3 * s.throttle.IdentityLimit {
		wantCode(t, try(s, "down", "pw", "192.0.2.2"), auth.CodeRealmUnavailable)
	}
	th, _ := s.throttle.st.(*store.Store).GetThrottle(context.Background(), "addr:192.0.2.2")
	if th.Failures != 0 {
		t.Fatalf("outages counted as failures: %+v", th)
	}
}

func TestUnknownRealm(t *testing.T) {
	s, _, _, _ := newService(t, Options{})
	out, err := s.Login(context.Background(), Attempt{Realm: strings.Repeat("r", 100), Username: "owner", Password: "right"})
	wantCode(t, err, auth.CodeUnknownRealm)
	if out.Actor != "" || len(fault.As(err).Message) > 64 {
		t.Fatalf("outcome %+v, %v", out, err)
	}
}

// The delays of the rule in Throttle's doc, step by step.
func TestThrottleDelays(t *testing.T) {
	th := NewThrottle(openStore(t))
	ctx := context.Background()
	// reserve tries one attempt at at and returns its wait (0: counted).
	reserve := func(user, addr string, at time.Time) time.Duration {
		t.Helper()
		_, w, err := th.Reserve(ctx, "local", user, addr, at)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for i := range 5 {
		if w := reserve("Alice", "10.0.0.1", t0); w != 0 {
			t.Fatalf("attempt %d waits %v", i+1, w)
		}
	}
	for _, c := range []struct {
		name, user, addr string
		at               time.Duration
		want             time.Duration
	}{
		{"names differ only in case: one identity", "ALICE", "10.0.0.1", 0, time.Second},
		{"a clean address is not held back", "alice", "10.0.0.9", 0, 0},
		{"once it failed, the identity's delay applies", "alice", "10.0.0.9", 0, 2 * time.Second},
		{"the delay passes", "alice", "10.0.0.9", 2 * time.Second, 0},
		{"and doubles", "alice", "10.0.0.9", 2 * time.Second, 4 * time.Second},
		{"an IPv6 client counts as its /64", "bob", "2001:db8::1", 0, 0},
		{"forgotten after the window", "alice", "10.0.0.1", th.Window + 3*time.Second, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if w := reserve(c.user, c.addr, t0.Add(c.at)); w != c.want {
				t.Fatalf("wait %v, want %v", w, c.want)
			}
		})
	}
	t.Run("an address that failed for many names waits", func(t *testing.T) {
		for i := range th.AddressLimit {
			reserve(fmt.Sprint("u", i), "2001:db8::2", t0)
		}
		if w := reserve("carol", "2001:db8:0:0:ffff::9", t0); w == 0 {
			t.Fatal("another address of the same /64 is not throttled")
		}
	})
	t.Run("a 10 kB name makes a bounded key and still throttles", func(t *testing.T) {
		long := strings.Repeat("x", 10<<10)
		for range th.IdentityLimit {
			reserve(long, "10.0.0.2", t0)
		}
		if w := reserve(long, "10.0.0.2", t0); w == 0 {
			t.Fatal("long name not throttled")
		}
	})
	t.Run("the delay is capped", func(t *testing.T) {
		for range 40 {
			_, _ = th.st.(*store.Store).AddFailure(ctx, "pair:local:dave|10.0.0.3", t0, th.Window)
		}
		if w := reserve("dave", "10.0.0.3", t0); w != th.MaxDelay {
			t.Fatalf("cap: %v", w)
		}
	})
}
