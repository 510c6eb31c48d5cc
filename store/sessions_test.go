package store

import (
	"bytes"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
)

func newSession(id, identity string, at time.Time) Session {
	return Session{
		ID:          id,
		Identity:    identity,
		Data:        []byte{0, 1, 2, 0xff, 'x'},
		Created:     at,
		LastSeen:    at,
		IdleExpires: at.Add(30 * time.Minute),
		AbsExpires:  at.Add(8 * time.Hour),
	}
}

func sameSession(a, b Session) bool {
	return a.ID == b.ID && a.Identity == b.Identity && bytes.Equal(a.Data, b.Data) &&
		a.Created.Equal(b.Created) && a.LastSeen.Equal(b.LastSeen) &&
		a.IdleExpires.Equal(b.IdleExpires) && a.AbsExpires.Equal(b.AbsExpires)
}

func testSessionSaveGet(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	sess := newSession("sid-1", "pam:alice", base)
	wantOK(t, s.SaveSession(ctx, sess))

	got, err := s.GetSession(ctx, "sid-1", base.Add(time.Minute))
	wantOK(t, err)
	if !sameSession(got, sess) || got.Created.Location() != time.UTC {
		t.Fatalf("got %+v, want %+v", got, sess)
	}

	t.Run("id is not stored in clear", func(t *testing.T) {
		if n := look(t, s).count(t, `SELECT COUNT(*) FROM sessions WHERE id_hash = ?`, "sid-1"); n != 0 {
			t.Error("session id stored as is")
		}
	})

	t.Run("upsert replaces", func(t *testing.T) {
		upd := newSession("sid-1", "pam:alice", base)
		upd.Data = []byte("new data")
		upd.AbsExpires = base.Add(time.Hour)
		wantOK(t, s.SaveSession(ctx, upd))
		got, err := s.GetSession(ctx, "sid-1", base)
		wantOK(t, err)
		if !sameSession(got, upd) {
			t.Errorf("got %+v, want %+v", got, upd)
		}
		if n := look(t, s).rows(t, "sessions"); n != 1 {
			t.Errorf("%d rows after upsert, want 1", n)
		}
	})

	t.Run("nil data", func(t *testing.T) {
		e := newSession("sid-empty", "local:admin", base)
		e.Data = nil
		wantOK(t, s.SaveSession(ctx, e))
		got, err := s.GetSession(ctx, "sid-empty", base)
		wantOK(t, err)
		if len(got.Data) != 0 {
			t.Errorf("data %q", got.Data)
		}
	})
}

func testSessionExpiry(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	sess := newSession("sid", "ldap:bob", base) // idle +30m, absolute +8h
	wantOK(t, s.SaveSession(ctx, sess))

	for _, c := range []struct {
		name string
		now  time.Time
		code fault.Code
	}{
		{"fresh", base, fault.Code{}},
		{"just before idle expiry", base.Add(30*time.Minute - 1), fault.Code{}},
		{"at idle expiry", base.Add(30 * time.Minute), CodeSessionNotFound},
		{"past idle expiry", base.Add(time.Hour), CodeSessionNotFound},
		{"unknown id", base, CodeSessionNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := "sid"
			if c.name == "unknown id" {
				id = "other"
			}
			_, err := s.GetSession(ctx, id, c.now)
			wantCode(t, err, c.code)
		})
	}

	t.Run("touch extends idle", func(t *testing.T) {
		seen := base.Add(20 * time.Minute)
		wantOK(t, s.TouchSession(ctx, "sid", seen, seen.Add(30*time.Minute)))
		got, err := s.GetSession(ctx, "sid", base.Add(45*time.Minute))
		wantOK(t, err)
		if !got.LastSeen.Equal(seen) || !got.IdleExpires.Equal(seen.Add(30*time.Minute)) {
			t.Errorf("got %+v", got)
		}
	})

	t.Run("touch cannot pass absolute expiry", func(t *testing.T) {
		// Keep the session idle-alive up to and past its absolute expiry.
		for at := base.Add(40 * time.Minute); at.Before(base.Add(8 * time.Hour)); at = at.Add(20 * time.Minute) {
			wantOK(t, s.TouchSession(ctx, "sid", at, at.Add(30*time.Minute)))
		}
		_, err := s.GetSession(ctx, "sid", base.Add(8*time.Hour-1))
		wantOK(t, err)
		_, err = s.GetSession(ctx, "sid", base.Add(8*time.Hour))
		wantCode(t, err, CodeSessionNotFound)
		at := base.Add(8 * time.Hour)
		wantCode(t, s.TouchSession(ctx, "sid", at, at.Add(30*time.Minute)), CodeSessionNotFound)
	})

	t.Run("touch does not revive an idle-expired session", func(t *testing.T) {
		wantOK(t, s.SaveSession(ctx, newSession("idle", "pam:carol", base)))
		late := base.Add(31 * time.Minute)
		wantCode(t, s.TouchSession(ctx, "idle", late, late.Add(30*time.Minute)), CodeSessionNotFound)
		_, err := s.GetSession(ctx, "idle", late)
		wantCode(t, err, CodeSessionNotFound)
	})

	t.Run("touch unknown", func(t *testing.T) {
		wantCode(t, s.TouchSession(ctx, "nope", base, base.Add(time.Minute)), CodeSessionNotFound)
	})
}

func testSessionDelete(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	for _, x := range []struct{ id, who string }{
		{"a1", "pam:alice"}, {"a2", "pam:alice"}, {"a3", "pam:alice"},
		{"b1", "ldap:alice"}, {"c1", "local:admin"},
	} {
		wantOK(t, s.SaveSession(ctx, newSession(x.id, x.who, base)))
	}

	t.Run("delete one", func(t *testing.T) {
		wantOK(t, s.DeleteSession(ctx, "c1"))
		_, err := s.GetSession(ctx, "c1", base)
		wantCode(t, err, CodeSessionNotFound)
	})
	t.Run("delete absent is fine", func(t *testing.T) {
		wantOK(t, s.DeleteSession(ctx, "c1"))
		wantOK(t, s.DeleteSession(ctx, "never"))
	})
	for _, c := range []struct {
		identity string
		want     int
	}{
		{"pam:alice", 3}, // the same name in another realm is another person
		{"pam:alice", 0},
		{"nobody", 0},
	} {
		t.Run("delete of "+c.identity, func(t *testing.T) {
			n, err := s.DeleteSessionsOf(ctx, c.identity)
			wantOK(t, err)
			if n != c.want {
				t.Errorf("deleted %d, want %d", n, c.want)
			}
		})
	}
	if _, err := s.GetSession(ctx, "b1", base); err != nil {
		t.Errorf("ldap:alice's session went too: %v", err)
	}
}

func testPurgeSessions(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	mk := func(id string, idle, abs time.Duration) Session {
		x := newSession(id, "pam:u", base)
		x.IdleExpires, x.AbsExpires = base.Add(idle), base.Add(abs)
		return x
	}
	for _, x := range []Session{
		mk("live", time.Hour, 2*time.Hour),
		mk("idle-gone", time.Minute, 2*time.Hour),
		mk("abs-gone", time.Hour, time.Minute),
		mk("at-edge", 10*time.Minute, time.Hour),
	} {
		wantOK(t, s.SaveSession(ctx, x))
	}
	for _, c := range []struct {
		name string
		now  time.Time
		want int
	}{
		{"nothing expired yet", base, 0},
		{"idle and absolute expiries", base.Add(5 * time.Minute), 2},
		{"expiry instant counts as expired", base.Add(10 * time.Minute), 1},
		{"again", base.Add(10 * time.Minute), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := s.PurgeSessions(ctx, c.now)
			wantOK(t, err)
			if n != c.want {
				t.Errorf("purged %d, want %d", n, c.want)
			}
		})
	}
	if _, err := s.GetSession(ctx, "live", base.Add(10*time.Minute)); err != nil {
		t.Error(err)
	}
	if n := look(t, s).rows(t, "sessions"); n != 1 {
		t.Errorf("%d sessions left, want 1", n)
	}
}
