package store

import (
	"testing"
	"time"
)

func testThrottle(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	const window = 15 * time.Minute
	const key = "id:local:alice"

	t.Run("absent is zero", func(t *testing.T) {
		th, err := s.GetThrottle(ctx, key)
		wantOK(t, err)
		if th != (Throttle{Key: key}) {
			t.Errorf("got %+v", th)
		}
	})

	// Each step adds one failure at the given offset from base and expects
	// the resulting count and window start.
	for _, st := range []struct {
		name      string
		at        time.Duration
		failures  int
		firstAt   time.Duration
		lastAt    time.Duration
		resetting bool
	}{
		{name: "first failure", at: 0, failures: 1, firstAt: 0, lastAt: 0},
		{name: "inside window", at: 5 * time.Minute, failures: 2, firstAt: 0, lastAt: 5 * time.Minute},
		{name: "exactly window after last still counts", at: 20 * time.Minute, failures: 3, firstAt: 0, lastAt: 20 * time.Minute},
		{name: "window measured from last, not first", at: 34 * time.Minute, failures: 4, firstAt: 0, lastAt: 34 * time.Minute},
		{name: "older than window restarts", at: 49*time.Minute + 1, failures: 1, firstAt: 49*time.Minute + 1, lastAt: 49*time.Minute + 1},
		{name: "counts again after restart", at: 50 * time.Minute, failures: 2, firstAt: 49*time.Minute + 1, lastAt: 50 * time.Minute},
		{name: "late report does not move last back", at: 49*time.Minute + 2, failures: 3, firstAt: 49*time.Minute + 1, lastAt: 50 * time.Minute},
	} {
		t.Run(st.name, func(t *testing.T) {
			th, err := s.AddFailure(ctx, key, base.Add(st.at), window)
			wantOK(t, err)
			want := Throttle{Key: key, Failures: st.failures, First: base.Add(st.firstAt), Last: base.Add(st.lastAt)}
			if th.Key != want.Key || th.Failures != want.Failures || !th.First.Equal(want.First) || !th.Last.Equal(want.Last) {
				t.Errorf("AddFailure = %+v, want %+v", th, want)
			}
			got, err := s.GetThrottle(ctx, key)
			wantOK(t, err)
			if got != th || got.Last.Location() != time.UTC {
				t.Errorf("GetThrottle = %+v, AddFailure said %+v", got, th)
			}
		})
	}

	t.Run("keys are independent", func(t *testing.T) {
		th, err := s.AddFailure(ctx, "addr:10.0.0.1", base, window)
		wantOK(t, err)
		if th.Failures != 1 {
			t.Errorf("got %+v", th)
		}
	})

	t.Run("reset", func(t *testing.T) {
		wantOK(t, s.ResetThrottle(ctx, key))
		wantOK(t, s.ResetThrottle(ctx, "never-seen"))
		th, err := s.GetThrottle(ctx, key)
		wantOK(t, err)
		if th.Failures != 0 {
			t.Errorf("after reset %+v", th)
		}
		th, err = s.AddFailure(ctx, key, base.Add(51*time.Minute), window)
		wantOK(t, err)
		if th.Failures != 1 || !th.First.Equal(base.Add(51*time.Minute)) {
			t.Errorf("after reset %+v", th)
		}
	})
}

func testPurgeThrottle(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	for i, k := range []string{"a", "b", "c", "d"} {
		_, err := s.AddFailure(ctx, k, base.Add(time.Duration(i)*time.Hour), time.Hour)
		wantOK(t, err)
	}
	for _, c := range []struct {
		name   string
		before time.Time
		want   int
	}{
		{"none", base, 0},
		{"last older than before", base.Add(2 * time.Hour), 2},
		{"again", base.Add(2 * time.Hour), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := s.PurgeThrottle(ctx, c.before)
			wantOK(t, err)
			if n != c.want {
				t.Errorf("purged %d, want %d", n, c.want)
			}
		})
	}
	for k, want := range map[string]int{"a": 0, "b": 0, "c": 1, "d": 1} {
		th, err := s.GetThrottle(ctx, k)
		wantOK(t, err)
		if th.Failures != want {
			t.Errorf("%s: %d failures, want %d", k, th.Failures, want)
		}
	}
}
