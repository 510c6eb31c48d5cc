package tokens

import (
	"context"
	"errors"
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

// flakyRealm is a fake realm beside the real ones: a refresher whose
// directory can be taken down, to test what a token does then.
type flakyRealm struct {
	mu    sync.Mutex
	down  bool
	roles []string
}

func (r *flakyRealm) Name() string  { return "flaky" }
func (r *flakyRealm) Label() string { return "Flaky" }
func (r *flakyRealm) Authenticate(context.Context, string, string) (rbac.Principal, error) {
	return rbac.Principal{}, auth.Fail(auth.ReasonBadPassword, nil)
}

func (r *flakyRealm) Refresh(_ context.Context, user string) (rbac.Principal, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return rbac.Principal{}, auth.Fail(auth.ReasonUnavailable, errors.New("directory down"))
	}
	return rbac.Principal{Realm: "flaky", Name: user, Roles: r.roles}, nil
}

func (r *flakyRealm) set(down bool, roles ...string) {
	r.mu.Lock()
	r.down, r.roles = down, roles
	r.mu.Unlock()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func setup(t *testing.T) (*Service, *store.Store, *flakyRealm, *clock) {
	t.Helper()
	st, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "db", "v.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	flaky := &flakyRealm{roles: []string{rbac.RoleUser}}
	realms, err := auth.NewRealms(flaky, auth.NewLocal(st))
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	return New(st, realms, Options{Refresh: 5 * time.Minute, Now: clk.now}), st, flaky, clk
}

func TestValidName(t *testing.T) {
	for name, ok := range map[string]bool{
		"ci": true, "nightly backup": true, "Überwachung 監視": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "a\tb": false, "a\u200Fb": false, "a\u202Eb": false,
		" x": false, "x ": false, "\xff": false, "a\x00": false,
	} {
		if err := ValidName(name); (err == nil) != ok {
			t.Errorf("ValidName(%q) = %v, want ok=%t", name, err, ok)
		}
	}
}

func TestExpiry(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := now.Add(d); return &x }
	cases := []struct {
		name string
		at   *time.Time
		days int
		want time.Time
		ok   bool
	}{
		{"default", nil, 0, now.Add(DefaultLifetime), true},
		{"days", nil, 7, now.Add(7 * 24 * time.Hour), true},
		{"max days", nil, 365, now.Add(MaxLifetime), true},
		{"too many days", nil, 366, time.Time{}, false},
		{"time", at(time.Hour), 0, now.Add(time.Hour), true},
		{"past", at(-time.Second), 0, time.Time{}, false},
		{"now", at(0), 0, time.Time{}, false},
		{"too far", at(MaxLifetime + time.Second), 0, time.Time{}, false},
		{"both", at(time.Hour), 1, time.Time{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Expiry(now, tc.at, tc.days)
			if (err == nil) != tc.ok || !got.Equal(tc.want) {
				t.Fatalf("got %v %v", got, err)
			}
			if err != nil && !fault.Is(err, CodeBadExpiry) {
				t.Fatalf("code of %v", err)
			}
		})
	}
}

func TestOwnerWhileRealmIsDown(t *testing.T) {
	s, _, flaky, clk := setup(t)
	ctx := t.Context()
	p := rbac.Principal{Realm: "flaky", Name: "bob"}
	_, secret, err := s.Create(ctx, p, "ci", clk.now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Never seen, realm down: unavailable (503), not a refusal of the token.
	flaky.set(true)
	if _, err := s.Authenticate(ctx, secret); !fault.Is(err, CodeUnavailable) {
		t.Fatalf("got %v", err)
	}
	flaky.set(false, rbac.RoleAdmin)
	u, err := s.Authenticate(ctx, secret)
	if err != nil || u.Principal.Roles[0] != rbac.RoleAdmin || u.Principal.ID() != "flaky:bob" {
		t.Fatalf("got %+v %v", u, err)
	}
	// Seen before, realm down past the interval: the last roles stay.
	flaky.set(true)
	clk.add(10 * time.Minute)
	if u, err := s.Authenticate(ctx, secret); err != nil || u.Principal.Roles[0] != rbac.RoleAdmin {
		t.Fatalf("got %+v %v", u, err)
	}
	// Back up, a minute later: asked again, the new roles apply.
	flaky.set(false, rbac.RoleUser)
	clk.add(61 * time.Second)
	if u, err := s.Authenticate(ctx, secret); err != nil || u.Principal.Roles[0] != rbac.RoleUser {
		t.Fatalf("got %+v %v", u, err)
	}
}

func TestLastUsedWrittenAtMostOncePerMinute(t *testing.T) {
	s, st, _, clk := setup(t)
	ctx := t.Context()
	t0 := clk.now()
	tok, secret, err := s.Create(ctx, rbac.Principal{Realm: "flaky", Name: "bob"}, "ci", t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	lastUsed := func() time.Time {
		got, err := st.Token(ctx, tok.ID)
		if err != nil {
			t.Fatal(err)
		}
		return got.LastUsed
	}
	for _, step := range []struct {
		after time.Duration
		want  time.Duration
	}{{0, 0}, {30 * time.Second, 0}, {31 * time.Second, 61 * time.Second}, {10 * time.Second, 61 * time.Second}} {
		clk.add(step.after)
		if _, err := s.Authenticate(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if got := lastUsed(); !got.Equal(t0.Add(step.want)) {
			t.Fatalf("last used %v, want %v", got, t0.Add(step.want))
		}
	}
}

func TestCreateAndRevoke(t *testing.T) {
	s, _, _, clk := setup(t)
	ctx := t.Context()
	bob := rbac.Principal{Realm: "flaky", Name: "bob"}
	tok, secret, err := s.Create(ctx, bob, "ci", clk.now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(secret) != secretLen || !strings.HasPrefix(secret, SecretPrefix) || strings.Contains(secret, tok.ID) {
		t.Fatalf("secret %q for id %q", secret, tok.ID)
	}
	if _, err := s.Revoke(ctx, tok.ID, "flaky:eve"); !fault.Is(err, store.CodeTokenNotFound) {
		t.Fatalf("someone else revoked: %v", err)
	}
	if _, err := s.Revoke(ctx, tok.ID, "flaky:bob"); err != nil {
		t.Fatal(err)
	}
	u, err := s.Authenticate(ctx, secret)
	if !fault.Is(err, CodeInvalid) || u.Reason != ReasonRevoked || u.Token.ID != tok.ID {
		t.Fatalf("revoked token: %+v %v", u, err)
	}
	if _, err := s.Check(ctx, tok.ID); !fault.Is(err, CodeInvalid) {
		t.Fatalf("check of a revoked token: %v", err)
	}
	if _, _, err := s.Create(ctx, bob, "ci", clk.now().Add(MaxLifetime+2*time.Minute)); !fault.Is(err, CodeBadExpiry) {
		t.Fatalf("too long accepted: %v", err)
	}
	if _, _, err := s.Create(ctx, rbac.Principal{Realm: "nope", Name: "bob"}, "x", clk.now().Add(time.Hour)); !fault.Is(err, CodeRealm) {
		t.Fatalf("unknown realm: %v", err)
	}
}
