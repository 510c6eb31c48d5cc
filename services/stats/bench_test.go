package stats

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtportal/virtportal/store"
)

// BenchmarkWeekHistory is one guest's 7 days at 1 minute from the store.
func BenchmarkWeekHistory(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "db.sqlite"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	now := time.Unix(1_800_000_000, 0)
	const minutes = 7 * 24 * 60
	end := now.Unix()
	rows := make([]store.StatsRow, 0, minutes)
	for k := int64(0); k < minutes; k++ {
		rows = append(rows, store.StatsRow{Host: "local", Subject: "vm:x", Minute: end - (minutes-k)*60, N: 60, V: SyntheticRow(float64(k % 100))})
	}
	if err := st.PutStats(ctx, rows); err != nil {
		b.Fatal(err)
	}
	s := New(st, Options{Host: "local", Now: func() time.Time { return now }})
	q, err := ParseQuery("1799395200", "", "60s", now)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.GuestHistory(ctx, "x", q); err != nil {
			b.Fatal(err)
		}
	}
}
