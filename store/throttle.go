package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Throttle is the failed-login state of one key.
type Throttle struct {
	Key      string
	Failures int
	// First is the first failure of the current window, Last the latest.
	First time.Time
	Last  time.Time
}

// GetThrottle returns the state of key; an unknown key has 0 failures, no error.
func (s *Store) GetThrottle(ctx context.Context, key string) (Throttle, error) {
	t := Throttle{Key: key}
	var first, last int64
	err := s.r.QueryRowContext(ctx,
		`SELECT failures, first_at, last_at FROM login_throttle WHERE throttle_key = ?`,
		key).Scan(&t.Failures, &first, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return t, nil
	}
	if err != nil {
		return Throttle{}, fmt.Errorf("store: get throttle: %w", err)
	}
	t.First, t.Last = fromNS(first), fromNS(last)
	return t, nil
}

// AddFailure counts a failure at now, restarting at 1 if the last is older than window.
func (s *Store) AddFailure(ctx context.Context, key string, now time.Time, window time.Duration) (Throttle, error) {
	n := toNS(now)
	cutoff := toNS(now.Add(-window))
	// One upsert, so that concurrent failures (even from another process)
	// are never lost to a read-modify-write race. SET expressions see the
	// old row in both SQLite and PostgreSQL.
	t := Throttle{Key: key}
	var first, last int64
	err := s.w.QueryRowContext(ctx,
		`INSERT INTO login_throttle (throttle_key, failures, first_at, last_at)
		 VALUES (?, 1, ?, ?)
		 ON CONFLICT (throttle_key) DO UPDATE SET
		   failures = CASE WHEN login_throttle.last_at < ? THEN 1
		                   ELSE login_throttle.failures + 1 END,
		   first_at = CASE WHEN login_throttle.last_at < ? THEN excluded.first_at
		                   ELSE login_throttle.first_at END,
		   last_at  = CASE WHEN login_throttle.last_at < excluded.last_at THEN excluded.last_at
		                   ELSE login_throttle.last_at END
		 RETURNING failures, first_at, last_at`,
		key, n, n, cutoff, cutoff).Scan(&t.Failures, &first, &last)
	if err != nil {
		return Throttle{}, fmt.Errorf("store: add failure: %w", err)
	}
	t.First, t.Last = fromNS(first), fromNS(last)
	return t, nil
}

// ResetThrottle forgets key, typically after a successful login.
func (s *Store) ResetThrottle(ctx context.Context, key string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM login_throttle WHERE throttle_key = ?`, key); err != nil {
		return fmt.Errorf("store: reset throttle: %w", err)
	}
	return nil
}

// PurgeThrottle deletes keys whose last failure is older than before.
func (s *Store) PurgeThrottle(ctx context.Context, before time.Time) (int, error) {
	return s.execCount(ctx, "purge throttle",
		`DELETE FROM login_throttle WHERE last_at < ?`, toNS(before))
}

// ReserveThrottle is one login attempt against several keys, atomically: in
// one write transaction it reads the keys' states (an unknown key, or one
// whose last failure is older than window, has 0 failures) and asks decide;
// when decide answers true, every key is counted as failed at now before the
// transaction commits. So concurrent attempts can never all see the same
// count: each one's reservation is visible to the next. decide must be quick
// and pure; it runs with the write lock held.
func (s *Store) ReserveThrottle(ctx context.Context, keys []string, now time.Time, window time.Duration,
	decide func([]Throttle) bool) (bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("store: reserve throttle: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	states := make([]Throttle, len(keys))
	for i, key := range keys {
		t := Throttle{Key: key}
		var first, last int64
		err := tx.QueryRowContext(ctx,
			`SELECT failures, first_at, last_at FROM login_throttle WHERE throttle_key = ?`,
			key).Scan(&t.Failures, &first, &last)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return false, fmt.Errorf("store: reserve throttle: %w", err)
		case now.Sub(fromNS(last)) > window:
			t.Failures = 0 // forgotten: the window has passed
		default:
			t.First, t.Last = fromNS(first), fromNS(last)
		}
		states[i] = t
	}
	if !decide(states) {
		return false, nil
	}
	n, cutoff := toNS(now), toNS(now.Add(-window))
	for _, key := range keys {
		if _, err := tx.ExecContext(ctx, addFailureSQL, key, n, n, cutoff, cutoff); err != nil {
			return false, fmt.Errorf("store: reserve throttle: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("store: reserve throttle: %w", err)
	}
	return true, nil
}

// addFailureSQL counts one failure of a key (parameters: key, now, now,
// cutoff, cutoff).
const addFailureSQL = `INSERT INTO login_throttle (throttle_key, failures, first_at, last_at)
	 VALUES (?, 1, ?, ?)
	 ON CONFLICT (throttle_key) DO UPDATE SET
	   failures = CASE WHEN login_throttle.last_at < ? THEN 1
	                   ELSE login_throttle.failures + 1 END,
	   first_at = CASE WHEN login_throttle.last_at < ? THEN excluded.first_at
	                   ELSE login_throttle.first_at END,
	   last_at  = CASE WHEN login_throttle.last_at < excluded.last_at THEN excluded.last_at
	                   ELSE login_throttle.last_at END`

// RefundThrottle takes back one reserved failure of each key (an attempt
// that turned out not to be a failed guess: a success, a directory outage).
func (s *Store) RefundThrottle(ctx context.Context, keys ...string) error {
	for _, key := range keys {
		if _, err := s.w.ExecContext(ctx,
			`UPDATE login_throttle SET failures = failures - 1 WHERE throttle_key = ? AND failures > 0`, key); err != nil {
			return fmt.Errorf("store: refund throttle: %w", err)
		}
	}
	return nil
}

// ResetThrottlePrefix forgets key and every key starting with prefix.
func (s *Store) ResetThrottlePrefix(ctx context.Context, key, prefix string) (int, error) {
	return s.execCount(ctx, "reset throttle",
		`DELETE FROM login_throttle WHERE throttle_key = ? OR `+prefixCond("throttle_key"),
		append([]any{key}, prefixArgs(prefix)...)...)
}
