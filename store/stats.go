package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// StatsRow is one subject's aggregate of one minute.
type StatsRow struct {
	Host    string
	Subject string // "host", "nic:<interface>", "vm:<uuid>"
	Minute  int64  // unix seconds at the minute's start
	N       int    // samples in the minute
	V       []byte // packed values (services/stats owns the layout)
}

// Stats keeps the per-minute statistics history.
type Stats interface {
	// PutStats stores rows (one transaction); a row for a subject and
	// minute already there is replaced.
	PutStats(ctx context.Context, rows []StatsRow) error
	// StatsRange calls fn for the subject's rows with from ≤ minute < to,
	// oldest first; the row's V is valid only during the call.
	StatsRange(ctx context.Context, host, subject string, from, to int64, fn func(StatsRow) error) error
	// PurgeStats removes the rows of minutes before before.
	PurgeStats(ctx context.Context, before time.Time) (int, error)
}

var _ Stats = (*Store)(nil)

// PutStats implements Stats.
func (s *Store) PutStats(ctx context.Context, rows []StatsRow) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: put stats: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	st, err := tx.PrepareContext(ctx, `INSERT INTO stats_minute (host, subject, minute, n, v) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (host, subject, minute) DO UPDATE SET n = excluded.n, v = excluded.v`)
	if err != nil {
		return fmt.Errorf("store: put stats: %w", err)
	}
	defer st.Close()
	for _, r := range rows {
		if _, err := st.ExecContext(ctx, r.Host, r.Subject, r.Minute, r.N, r.V); err != nil {
			return fmt.Errorf("store: put stats: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: put stats: %w", err)
	}
	return nil
}

// StatsRange implements Stats.
func (s *Store) StatsRange(ctx context.Context, host, subject string, from, to int64, fn func(StatsRow) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT minute, n, v FROM stats_minute
		WHERE host = ? AND subject = ? AND minute >= ? AND minute < ? ORDER BY minute`, host, subject, from, to)
	if err != nil {
		return fmt.Errorf("store: stats range: %w", err)
	}
	defer rows.Close()
	r := StatsRow{Host: host, Subject: subject}
	var raw sql.RawBytes // no copy: fn reads it before the next row
	for rows.Next() {
		if err := rows.Scan(&r.Minute, &r.N, &raw); err != nil {
			return fmt.Errorf("store: stats range: %w", err)
		}
		r.V = raw
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: stats range: %w", err)
	}
	return nil
}

// PurgeStats implements Stats.
func (s *Store) PurgeStats(ctx context.Context, before time.Time) (int, error) {
	return s.execCount(ctx, "purge stats", `DELETE FROM stats_minute WHERE minute < ?`, before.Unix())
}
