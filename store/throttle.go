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
