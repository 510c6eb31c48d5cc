package store

import (
	"context"
	"fmt"
	"time"
)

// TaskCount is how many tasks of one kind have one status.
type TaskCount struct {
	Kind, Status string
	N            int
}

// Gauges are the counts /metrics reports from the database.
type Gauges struct {
	Sessions       int         // live browser sessions
	Tasks          []TaskCount // every task kept, by kind and status
	Uploads        int         // uploads not yet complete
	UploadsPending int64       // their bytes still to come
}

// MetricGauges reads the counts /metrics reports, in one read each.
func (s *Store) MetricGauges(ctx context.Context, now time.Time) (Gauges, error) {
	var g Gauges
	n := toNS(now)
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sessions WHERE idle_expires_at > ? AND abs_expires_at > ?`, n, n).Scan(&g.Sessions); err != nil {
		return g, fmt.Errorf("store: gauges: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(size - "offset"), 0) FROM uploads WHERE "offset" < size`).Scan(&g.Uploads, &g.UploadsPending); err != nil {
		return g, fmt.Errorf("store: gauges: %w", err)
	}
	rows, err := s.r.QueryContext(ctx, `SELECT kind, status, COUNT(*) FROM tasks GROUP BY kind, status ORDER BY kind, status`)
	if err != nil {
		return g, fmt.Errorf("store: gauges: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t TaskCount
		if err := rows.Scan(&t.Kind, &t.Status, &t.N); err != nil {
			return g, fmt.Errorf("store: gauges: %w", err)
		}
		g.Tasks = append(g.Tasks, t)
	}
	return g, rows.Err()
}
