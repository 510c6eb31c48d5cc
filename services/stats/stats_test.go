package stats

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

func vals(x float32) Values {
	var v Values
	for i := range v {
		v[i] = x
	}
	return v
}

func agg(t int64, n int, lo, mean, hi float64) Agg {
	a := Agg{T: t, N: n}
	for i := range NumMetrics {
		a.Min[i], a.Mean[i], a.Max[i] = lo, mean, hi
	}
	return a
}

// TestDownsample: buckets aligned on the step, minima of minima, maxima of
// maxima, means weighted by their samples: exactly the 1 s aggregate.
func TestDownsample(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows []Agg
		step int64
		want []Agg
	}{
		{name: "empty", step: 300},
		{name: "one minute stays", rows: []Agg{agg(600, 60, 1, 2, 3)}, step: 300, want: []Agg{agg(600, 60, 1, 2, 3)}},
		{name: "five minutes into one", step: 300,
			rows: []Agg{agg(600, 60, 1, 2, 3), agg(660, 60, 0, 4, 9), agg(720, 60, 2, 6, 7), agg(780, 60, 1, 8, 8), agg(840, 60, 5, 10, 12)},
			want: []Agg{agg(600, 300, 0, 6, 12)}},
		{name: "weighted by samples", step: 120,
			rows: []Agg{agg(0, 60, 1, 1, 1), agg(60, 20, 5, 5, 5)},
			want: []Agg{agg(0, 80, 1, 2, 5)}},
		{name: "gap makes a bucket of its own", step: 120,
			rows: []Agg{agg(60, 60, 1, 1, 1), agg(360, 60, 3, 3, 3), agg(420, 30, 6, 6, 6)},
			want: []Agg{agg(0, 60, 1, 1, 1), agg(360, 90, 3, 4, 6)}},
		{name: "unaligned first minute", step: 3600,
			rows: []Agg{agg(3540, 60, 2, 2, 2), agg(3600, 60, 4, 4, 4)},
			want: []Agg{agg(0, 60, 2, 2, 2), agg(3600, 60, 4, 4, 4)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Downsample(nil, tc.rows, tc.step)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d buckets %+v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("bucket %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestMinuteAggregate: the 1 s samples of a minute become its row.
func TestMinuteAggregate(t *testing.T) {
	var r ring
	for i := int64(0); i < 60; i++ {
		v := vals(float32(i))
		r.put(120+i, &v)
	}
	v := vals(1000)
	r.put(180, &v) // the next minute
	a := Agg{T: 120}
	r.aggregate(120, 180, &a)
	a.finish()
	if a != agg(120, 60, 0, 29.5, 59) {
		t.Fatalf("got %+v", a)
	}
	var b Agg
	if !unpack(pack(nil, &a), &b) || b.Mean != a.Mean || b.Min != a.Min || b.Max != a.Max {
		t.Fatalf("pack/unpack: %+v", b)
	}
}

func TestParseQuery(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := now.Unix()
	for _, tc := range []struct {
		name           string
		from, to, step string
		want           Query
		code           fault.Code
		field          string
	}{
		{name: "defaults: the last hour at 1 s", want: Query{From: n + 1 - 3600, To: n + 1, Step: 1}},
		{name: "a week at a minute", from: "1799395200", step: "1m", want: Query{From: 1799395200, To: n + 1, Step: 60}},
		{name: "a week, default step", from: "1799395260", want: Query{From: 1799395260, To: n + 1, Step: 60}},
		{name: "two weeks, default step", from: "1798790400", want: Query{From: 1798790400, To: n + 1, Step: 120}},
		{name: "RFC 3339", from: "2027-01-15T07:00:00Z", to: "2027-01-15T08:00:00Z", step: "300",
			want: Query{From: 1800000000 - 1800000000%300 - 0, To: 1800000000 - 800, Step: 300}},
		{name: "from after to", from: "100", to: "50", code: CodeBadQuery, field: "from"},
		{name: "bad from", from: "yesterday", code: CodeBadQuery, field: "from"},
		{name: "bad to", to: "soon", code: CodeBadQuery, field: "to"},
		{name: "bad step", step: "7s", code: CodeBadQuery, field: "step"},
		{name: "negative step", step: "-60s", code: CodeBadQuery, field: "step"},
		{name: "zero step", step: "0", code: CodeBadQuery, field: "step"},
		{name: "1 s beyond the hour", from: "1799990000", step: "1s", code: CodeBadQuery, field: "from"},
		{name: "too many points", from: "1790000000", step: "60", code: CodeTooManyPoints, field: "step"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, err := ParseQuery(tc.from, tc.to, tc.step, now)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "RFC 3339" {
					from, _ := time.Parse(time.RFC3339, "2027-01-15T07:00:00Z")
					to, _ := time.Parse(time.RFC3339, "2027-01-15T08:00:00Z")
					tc.want = Query{From: from.Unix() - from.Unix()%300, To: to.Unix(), Step: 300}
				}
				if q != tc.want {
					t.Fatalf("got %+v, want %+v", q, tc.want)
				}
				return
			}
			e := fault.As(err)
			if !fault.Is(err, tc.code) || e == nil || len(e.Details) != 1 || e.Details[0].Field != tc.field {
				t.Fatalf("err = %#v, want %s on %s", err, tc.code, tc.field)
			}
		})
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openStore(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestHistorySurvivesRestart records two minutes of a guest, stops the
// service and closes the store, then a new service on the same file
// answers the same minutes; the guest's history follows its UUID through
// a rename, and another guest of the same name does not mix in.
func TestHistorySurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db.sqlite")
	start := time.Unix(1_800_000_000, 0) // a minute boundary
	c := &clock{t: start}
	st := openStore(t, path)
	s := New(st, Options{Host: "local", Now: c.now})
	s.flushed = start.Unix() - 60
	const a, b = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
	for i := range int64(120) {
		c.t = start.Add(time.Duration(i) * time.Second)
		name := "web"
		if i >= 60 {
			name = "web-renamed"
		}
		s.RecordGuests(c.t, []virt.GuestRate{
			{UUID: a, Name: name, CPUPercent: float64(i % 60), MemPercent: 50, NetRxBps: 1000},
			{UUID: b, Name: "web", CPUPercent: 99},
		})
		s.Tick(ctx)
	}
	c.t = start.Add(125 * time.Second)
	s.Tick(ctx)
	if got := s.GuestNow(a); !got.Available || got.CPUPercent != 59 {
		t.Fatalf("now = %+v", got)
	}
	s.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st = openStore(t, path)
	defer st.Close()
	c.t = start.Add(200 * time.Second)
	s2 := New(st, Options{Host: "local", Now: c.now})
	defer s2.Close()
	q, err := ParseQuery("1800000000", "", "60", c.t)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s2.GuestHistory(ctx, a, q)
	if err != nil {
		t.Fatal(err)
	}
	cpu := h.Series["cpu_percent"]
	if len(h.T) != 2 || h.T[0] != 1_800_000_000 || h.T[1] != 1_800_000_060 {
		t.Fatalf("points at %v", h.T)
	}
	for i := range 2 {
		if cpu.Min[i] != 0 || cpu.Max[i] != 59 || cpu.Mean[i] != 29.5 || h.Series["mem_percent"].Mean[i] != 50 || h.Series["net_rx_bps"].Max[i] != 1000 {
			t.Fatalf("minute %d: cpu %+v", i, cpu)
		}
	}
	q5, _ := ParseQuery("1800000000", "", "300", c.t)
	h5, err := s2.GuestHistory(ctx, a, q5)
	if err != nil || len(h5.T) != 1 || h5.Series["cpu_percent"].Mean[0] != 29.5 {
		t.Fatalf("5 min: %+v, %v", h5, err)
	}
	hb, err := s2.GuestHistory(ctx, b, q)
	if err != nil || len(hb.T) != 2 || hb.Series["cpu_percent"].Min[0] != 99 {
		t.Fatalf("the other guest: %+v, %v", hb, err)
	}
	// The 1 s history is memory's: a new process starts it afresh.
	if h1, err := s2.GuestHistory(ctx, a, Query{From: c.t.Unix() - 300, To: c.t.Unix(), Step: 1}); err != nil || len(h1.T) != 0 {
		t.Fatalf("1 s after restart: %+v, %v", h1, err)
	}
}

// TestLiveHistory answers 1 s steps from memory, and purges old minutes.
func TestLiveHistory(t *testing.T) {
	ctx := context.Background()
	st := openStore(t, filepath.Join(t.TempDir(), "db.sqlite"))
	defer st.Close()
	start := time.Unix(1_800_000_000, 0)
	c := &clock{t: start}
	s := New(st, Options{Host: "local", Now: c.now})
	defer s.Close()
	const a = "11111111-1111-4111-8111-111111111111"
	for i := range int64(10) {
		c.t = start.Add(time.Duration(i) * time.Second)
		s.RecordGuests(c.t, []virt.GuestRate{{UUID: a, Name: "web", CPUPercent: float64(i)}})
	}
	h, err := s.GuestHistory(ctx, a, Query{From: start.Unix() + 2, To: start.Unix() + 5, Step: 1})
	if err != nil || len(h.T) != 3 || h.Series["cpu_percent"].Mean[2] != 4 {
		t.Fatalf("%+v, %v", h, err)
	}
	if err := st.PutStats(ctx, []store.StatsRow{{Host: "local", Subject: "vm:" + a, Minute: start.Unix() - 8*24*3600, N: 1, V: pack(nil, &Agg{})}}); err != nil {
		t.Fatal(err)
	}
	s.purge(ctx)
	n := 0
	_ = st.StatsRange(ctx, "local", "vm:"+a, 0, start.Unix(), func(store.StatsRow) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d rows older than a week remain", n)
	}
}

// TestHostSample reads a /proc fixture twice with counters moved on.
func TestHostSample(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join("..", "..", "internal", "procstat", "testdata", "root")
	for _, f := range []string{"proc/meminfo", "proc/diskstats", "proc/net/dev"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, f), string(b))
	}
	write(t, filepath.Join(root, "proc/stat"), "cpu 100 0 100 800 0 0 0 0 0 0\n")
	if err := os.MkdirAll(filepath.Join(root, "sys/block/vda/device"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "sys/class/net"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../devices/pci0000:00/net/eth0", filepath.Join(root, "sys/class/net/eth0")); err != nil {
		t.Fatal(err)
	}
	st := openStore(t, filepath.Join(t.TempDir(), "db.sqlite"))
	defer st.Close()
	s := New(st, Options{Host: "local", Local: true, ProcRoot: root})
	defer s.Close()
	s.sampleHost()
	write(t, filepath.Join(root, "proc/stat"), "cpu 200 0 200 1400 0 0 0 0 0 0\n") // 200 busy of 800
	s.sampleHost()
	n := s.HostNow()
	if !n.Available || n.CPUPercent != 25 || n.MemPercent != 25 || n.MemTotalBytes != 16384000*1024 {
		t.Fatalf("now = %+v", n)
	}
	if len(n.Interfaces) != 1 || n.Interfaces[0].Name != "eth0" {
		t.Fatalf("interfaces %+v", n.Interfaces)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
