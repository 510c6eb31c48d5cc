package auth

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/store"
)

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %s", h)
	}
	h2, _ := HashPassword("s3cret")
	if h == h2 {
		t.Fatal("no salt")
	}
	cases := []struct {
		name, hash, pw string
		ok             bool
		err            bool
	}{
		{"right", h, "s3cret", true, false},
		{"wrong", h, "s3cret!", false, false},
		{"empty", h, "", false, false},
		{"not argon2id", "$2y$10$abc", "s3cret", false, true},
		{"huge memory", strings.Replace(h, "m=19456", "m=99999999", 1), "s3cret", false, true},
		{"garbage", "$argon2id$v=19$m=1,t=1,p=1$!!$!!", "x", false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := VerifyPassword(tc.hash, tc.pw)
			if ok != tc.ok || (err != nil) != tc.err {
				t.Fatalf("got %v %v", ok, err)
			}
		})
	}
}

func TestValidUsername(t *testing.T) {
	for name, want := range map[string]bool{
		"alice": true, "a.b-c_d": true, "alice@example.org": true, "Bob2": true,
		"": false, "*": false, "a*": false, ")(uid=*": false, `a\b`: false, "a\x00": false, "a b": false,
		"-rf": false, ".hidden": false, "a/b": false, "caf\xe9": false, strings.Repeat("a", 257): false,
	} {
		if got := ValidUsername(name); got != want {
			t.Errorf("ValidUsername(%q) = %v", name, got)
		}
	}
}

func TestThrottleDelays(t *testing.T) {
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	th := NewThrottle(st)
	ctx := context.Background()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	fail := func(n int, at time.Time) {
		for range n {
			if err := th.Failed(ctx, "local", "Alice", "10.0.0.1", at); err != nil {
				t.Fatal(err)
			}
		}
	}
	fail(4, t0)
	if w, _ := th.Check(ctx, "local", "alice", "10.0.0.1", t0); w != 0 {
		t.Fatalf("throttled after 4 failures: %v", w)
	}
	fail(1, t0)
	// Names differ only in case: one identity.
	if w, _ := th.Check(ctx, "local", "ALICE", "10.0.0.9", t0); w != time.Second {
		t.Fatalf("after 5: wait %v, want 1s", w)
	}
	fail(3, t0)
	if w, _ := th.Check(ctx, "local", "alice", "10.0.0.9", t0); w != 8*time.Second {
		t.Fatalf("after 8: wait %v, want 8s", w)
	}
	if w, _ := th.Check(ctx, "local", "alice", "10.0.0.9", t0.Add(8*time.Second)); w != 0 {
		t.Fatalf("delay did not pass: %v", w)
	}
	fail(40, t0)
	if w, _ := th.Check(ctx, "local", "alice", "10.0.0.9", t0); w != th.MaxDelay {
		t.Fatalf("cap: %v", w)
	}
	if w, _ := th.Check(ctx, "local", "alice", "10.0.0.9", t0.Add(th.Window+time.Second)); w != 0 {
		t.Fatalf("window did not forget: %v", w)
	}
	if w, _ := th.Check(ctx, "local", "bob", "10.0.0.1", t0); w == 0 {
		t.Fatal("the address that failed 48 times is not throttled")
	}
	if err := th.Succeeded(ctx, "local", "alice"); err != nil {
		t.Fatal(err)
	}
	if w, _ := th.Check(ctx, "local", "alice", "10.0.0.9", t0); w != 0 {
		t.Fatalf("success did not reset the identity: %v", w)
	}
	// A 10 kB name makes a bounded key and still throttles.
	long := strings.Repeat("x", 10<<10)
	fail2 := func() { _ = th.Failed(ctx, "local", long, "10.0.0.2", t0) }
	for range 5 {
		fail2()
	}
	if w, _ := th.Check(ctx, "local", long, "10.0.0.3", t0); w == 0 {
		t.Fatal("long name not throttled")
	}
}
