package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/virtportal/virtportal/services/stats"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// benchStats measures the statistics of issue 12:
//
//   - the sampler's cost at guests guests on the test driver: the server's
//     CPU time over window with the sampler (the host's /proc each second,
//     the guests' bulk statistics each second into the ring buffers and
//     the minute rows) against the same fixture served with both off
//     (stats.sampler=false, libvirt.stats_interval=1h), in the same run;
//     budget ≤ 1% of one core;
//   - a guest's 7-day history at 1-minute steps from a database filled
//     with 7 days of rows for others guests too: p50 ≤ 20 ms.
func benchStats(bin string, guests int, window time.Duration, queries int) error {
	fx := virt.FixtureOptions{Guests: guests, Seed: 12}
	cost := func(args ...string) (time.Duration, error) {
		p, err := startPortalArgs(bin, fx, args...)
		if err != nil {
			return 0, err
		}
		defer p.stop()
		time.Sleep(3 * time.Second) // past the start's own work
		u, err := measureCPU(p.cmd.Process.Pid, func() error { time.Sleep(window); return nil })
		return u.server, err
	}
	idle, err := cost("--stats-sampler=false", "--libvirt-stats-interval=1h")
	if err != nil {
		return err
	}
	busy, err := cost()
	if err != nil {
		return err
	}
	share := float64(busy-idle) / float64(window) * 100
	fmt.Printf("statistics sampler, %d guests (test driver), %s: server CPU %s with it, %s without: %.2f%% of one core (budget ≤ 1%%)\n",
		guests, window, busy.Round(time.Millisecond), idle.Round(time.Millisecond), share)

	p50, fill, err := historyQuery(queries)
	if err != nil {
		return err
	}
	fmt.Printf("7-day history at 1 min of one guest (%d points, database filled in %s): p50 %s (budget ≤ 20 ms)\n",
		7*24*60, fill.Round(time.Millisecond), ms(p50))
	var failed []string
	if share > 1 {
		failed = append(failed, fmt.Sprintf("sampler %.2f%% of a core > 1%%", share))
	}
	if p50 > 20*time.Millisecond {
		failed = append(failed, fmt.Sprintf("history p50 %s > 20 ms", ms(p50)))
	}
	if len(failed) > 0 {
		return fmt.Errorf("over budget: %v", failed)
	}
	return nil
}

// startPortalArgs is startPortal with extra server arguments.
func startPortalArgs(bin string, fx virt.FixtureOptions, args ...string) (*portal, error) {
	dir, err := os.MkdirTemp("", "virtportal-bench-")
	if err != nil {
		return nil, err
	}
	fixture := filepath.Join(dir, "host.xml")
	fx.ImagesDir = filepath.Join(dir, "images")
	if err := virt.WriteFixture(fixture, fx); err != nil {
		return nil, err
	}
	return startPortalIn(bin, dir, "test://"+fixture, map[string]bool{"bench": true}, 2*time.Minute, args...)
}

// historyQuery fills a database with 7 days of minute rows for 10 guests
// and the host, then times the service's 7-day query of one guest.
func historyQuery(queries int) (p50, fill time.Duration, err error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "virtportal-bench-stats-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	st, err := store.Open(ctx, filepath.Join(dir, "db.sqlite"))
	if err != nil {
		return 0, 0, err
	}
	defer st.Close()
	now := time.Now()
	end := now.Unix() / 60 * 60
	const minutes = 7 * 24 * 60
	start := time.Now()
	subjects := []string{"host"}
	for i := range 10 {
		subjects = append(subjects, fmt.Sprintf("vm:00000000-0000-4000-8000-%012d", i))
	}
	rows := make([]store.StatsRow, 0, 1440)
	for _, sub := range subjects {
		for m := int64(0); m < minutes; m += 1440 {
			rows = rows[:0]
			for k := m; k < min(m+1440, minutes); k++ {
				rows = append(rows, store.StatsRow{Host: "local", Subject: sub, Minute: end - (minutes-k)*60, N: 60, V: stats.SyntheticRow(float64(k % 100))})
			}
			if err := st.PutStats(ctx, rows); err != nil {
				return 0, 0, err
			}
		}
	}
	fill = time.Since(start)
	s := stats.New(st, stats.Options{Host: "local"})
	defer s.Close()
	q, err := stats.ParseQuery(fmt.Sprint(end-minutes*60), "", "60s", now)
	if err != nil {
		return 0, 0, err
	}
	times := make([]time.Duration, 0, queries)
	for range queries {
		t0 := time.Now()
		h, err := s.GuestHistory(ctx, "00000000-0000-4000-8000-000000000003", q)
		if err != nil {
			return 0, 0, err
		}
		times = append(times, time.Since(t0))
		if len(h.T) != minutes {
			return 0, 0, fmt.Errorf("the query answered %d points, want %d", len(h.T), minutes)
		}
	}
	return percentile(times, 0.5), fill, nil
}
