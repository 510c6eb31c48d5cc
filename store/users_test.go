package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
)

// wantOK fails on any error.
func wantOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

// wantCode fails unless err carries code c; the zero Code wants no error.
func wantCode(t *testing.T, err error, c fault.Code) {
	t.Helper()
	if c == (fault.Code{}) {
		wantOK(t, err)
		return
	}
	if !fault.Is(err, c) {
		t.Fatalf("error %v, want code %s", err, c.Name)
	}
}

func testUsers(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	alice := User{Name: "alice", Hash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", Created: base}
	if err := s.CreateUser(ctx, alice); err != nil {
		t.Fatal(err)
	}

	t.Run("get round-trips", func(t *testing.T) {
		u, err := s.GetUser(ctx, "alice")
		wantOK(t, err)
		if u.Name != alice.Name || u.Hash != alice.Hash || u.Admin || u.Disabled {
			t.Errorf("got %+v", u)
		}
		if !u.Created.Equal(base) || !u.Updated.Equal(base) || u.Created.Location() != time.UTC {
			t.Errorf("times %v %v", u.Created, u.Updated)
		}
	})

	t.Run("create defaults times", func(t *testing.T) {
		before := time.Now()
		wantOK(t, s.CreateUser(ctx, User{Name: "bob", Hash: "h", Admin: true, Disabled: true}))
		u, err := s.GetUser(ctx, "bob")
		wantOK(t, err)
		if u.Created.Before(before.Add(-time.Second)) || !u.Updated.Equal(u.Created) || !u.Admin || !u.Disabled {
			t.Errorf("got %+v", u)
		}
	})

	for _, c := range []struct {
		name string
		op   func() error
		code fault.Code
	}{
		{"create duplicate", func() error { return s.CreateUser(ctx, User{Name: "alice", Hash: "other"}) }, CodeUserExists},
		{"get missing", func() error { _, err := s.GetUser(ctx, "nobody"); return err }, CodeUserNotFound},
		{"update password missing", func() error { return s.UpdatePassword(ctx, "nobody", "h") }, CodeUserNotFound},
		{"set admin missing", func() error { return s.SetAdmin(ctx, "nobody", true) }, CodeUserNotFound},
		{"set disabled missing", func() error { return s.SetDisabled(ctx, "nobody", true) }, CodeUserNotFound},
		{"delete missing", func() error { return s.DeleteUser(ctx, "nobody") }, CodeUserNotFound},
		{"get is case-sensitive", func() error { _, err := s.GetUser(ctx, "Alice"); return err }, CodeUserNotFound},
		{"update password", func() error { return s.UpdatePassword(ctx, "alice", "newhash") }, fault.Code{}},
		{"set admin", func() error { return s.SetAdmin(ctx, "alice", true) }, fault.Code{}},
		{"set disabled", func() error { return s.SetDisabled(ctx, "alice", true) }, fault.Code{}},
	} {
		t.Run(c.name, func(t *testing.T) { wantCode(t, c.op(), c.code) })
	}

	t.Run("changes kept", func(t *testing.T) {
		u, err := s.GetUser(ctx, "alice")
		wantOK(t, err)
		if u.Hash != "newhash" || !u.Admin || !u.Disabled || !u.Created.Equal(base) || !u.Updated.After(base) {
			t.Errorf("got %+v", u)
		}
		// the duplicate create must not have overwritten anything
		if u.Hash == "other" {
			t.Error("conflicting create overwrote the hash")
		}
	})

	t.Run("delete", func(t *testing.T) {
		wantOK(t, s.DeleteUser(ctx, "alice"))
		_, err := s.GetUser(ctx, "alice")
		wantCode(t, err, CodeUserNotFound)
		wantCode(t, s.DeleteUser(ctx, "alice"), CodeUserNotFound)
	})
}

func testCountAdmins(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	steps := []struct {
		name string
		op   func() error
		want int
	}{
		{"empty", func() error { return nil }, 0},
		{"plain user", func() error { return s.CreateUser(ctx, User{Name: "u", Hash: "h"}) }, 0},
		{"admin", func() error { return s.CreateUser(ctx, User{Name: "a1", Hash: "h", Admin: true}) }, 1},
		{"second admin", func() error { return s.CreateUser(ctx, User{Name: "a2", Hash: "h", Admin: true}) }, 2},
		{"promote", func() error { return s.SetAdmin(ctx, "u", true) }, 3},
		{"disabled admin does not count", func() error { return s.SetDisabled(ctx, "a2", true) }, 2},
		{"demote", func() error { return s.SetAdmin(ctx, "a1", false) }, 1},
		{"delete", func() error { return s.DeleteUser(ctx, "u") }, 0},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			wantOK(t, st.op())
			n, err := s.CountAdmins(ctx)
			wantOK(t, err)
			if n != st.want {
				t.Errorf("CountAdmins = %d, want %d", n, st.want)
			}
		})
	}
}

func userNames(us []User) []string {
	names := make([]string, len(us))
	for i, u := range us {
		names[i] = u.Name
	}
	return names
}

func testListUsers(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	// LIKE metacharacters in names, plus names they would wrongly match.
	for _, n := range []string{"zed", "alice", "Bob", "a%b", "axb", "a_b", `a\b`, `a\\b`, "100%", "1000", "_x", "yx"} {
		if err := s.CreateUser(ctx, User{Name: n, Hash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		q     string
		limit int
		want  []string
	}{
		{"", 0, []string{"100%", "1000", "Bob", "_x", "a%b", `a\\b`, `a\b`, "a_b", "alice", "axb", "yx", "zed"}},
		{"%", 0, []string{"100%", "a%b"}},
		{"_", 0, []string{"_x", "a_b"}},
		{`\`, 0, []string{`a\\b`, `a\b`}},
		{`\\`, 0, []string{`a\\b`}},
		{"a%b", 0, []string{"a%b"}},
		{"a_b", 0, []string{"a_b"}},
		{`a\b`, 0, []string{`a\b`}},
		{"0%", 0, []string{"100%"}},
		{"_x", 0, []string{"_x"}},
		{"bob", 0, []string{"Bob"}},
		{"LIC", 0, []string{"alice"}},
		{"z", 0, []string{"zed"}},
		{"nothing", 0, []string{}},
		{"", 2, []string{"100%", "1000"}},
		{"a", 3, []string{"a%b", `a\\b`, `a\b`}},
	} {
		t.Run(fmt.Sprintf("q=%q limit=%d", c.q, c.limit), func(t *testing.T) {
			us, err := s.ListUsers(ctx, c.q, c.limit)
			wantOK(t, err)
			if got := userNames(us); !slices.Equal(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func testListUsersLimits(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	for i := range 1005 {
		if err := s.CreateUser(ctx, User{Name: fmt.Sprintf("u%04d", i), Hash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct{ limit, want int }{
		{0, 100}, {-1, 100}, {7, 7}, {1000, 1000}, {1001, 1000}, {1 << 30, 1000},
	} {
		t.Run(fmt.Sprint(c.limit), func(t *testing.T) {
			us, err := s.ListUsers(ctx, "u", c.limit)
			wantOK(t, err)
			if len(us) != c.want {
				t.Fatalf("%d users, want %d", len(us), c.want)
			}
			if !slices.IsSortedFunc(us, func(a, b User) int { return strings.Compare(a.Name, b.Name) }) || us[0].Name != "u0000" {
				t.Error("not sorted by name from the start")
			}
		})
	}
}
