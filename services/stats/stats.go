// Package stats keeps the statistics of the host and its guests: a sampler
// once a second (the local host from /proc, the guests from the bulk
// statistics the virt manager already takes), the last hour at 1 s in ring
// buffers, and 1-minute aggregates in the store for a week.
package stats

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/virtportal/virtportal/internal/procstat"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// Retention is how long the minute aggregates are kept.
const Retention = 7 * 24 * time.Hour

// grace is how long after a minute ends its late samples are awaited
// before the minute is written.
const grace = 2

// Options configure the service.
type Options struct {
	Host     string // the host's short name
	Local    bool   // the host is this machine: sample /proc
	ProcRoot string // where /proc and /sys are; default "/"
	Now      func() time.Time
	Logger   *slog.Logger
}

// series is one subject's live hour.
type series struct {
	ring
	name string // the guest's name (for metrics) or the interface's
}

// Service samples and answers statistics. It is safe for concurrent use.
type Service struct {
	opt Options
	st  store.Stats

	mu      sync.RWMutex
	host    *series            // nil until the first host sample
	nics    map[string]*series // by interface name
	guests  map[string]*series // by domain UUID
	hostMem [2]uint64          // used, total bytes of the last sample
	flushed int64              // the last minute written (its start)

	proc      *procstat.Reader
	prev, cur procstat.Sample
	havePrev  bool
	rows      []store.StatsRow
	blob      []byte
	lastPurge time.Time
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New makes the service over st; Start begins sampling.
func New(st store.Stats, opt Options) *Service {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.ProcRoot == "" {
		opt.ProcRoot = "/"
	}
	s := &Service{opt: opt, st: st, nics: map[string]*series{}, guests: map[string]*series{}}
	if opt.Local {
		s.proc = procstat.NewReader(opt.ProcRoot)
	}
	s.flushed = minuteOf(opt.Now().Unix()) - 60
	return s
}

// Attach makes the service record m's guest samples (m's own bulk
// statistics loop: libvirt is not asked twice).
func (s *Service) Attach(m *virt.Manager) {
	m.OnStats(s.RecordGuests)
}

// Start samples the host once a second and writes each minute until
// Close.
func (s *Service) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go s.run(ctx)
}

// Close stops the sampler and writes the minute in progress.
func (s *Service) Close() {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
			<-s.done
		}
		now := s.opt.Now().Unix()
		s.flushUpTo(context.Background(), now+60) // the current minute, partial
		if s.proc != nil {
			_ = s.proc.Close()
		}
	})
}

func (s *Service) run(ctx context.Context) {
	defer close(s.done)
	s.purge(ctx)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.Tick(ctx)
	}
}

// Tick takes one host sample and writes the minutes that have ended; the
// sampler calls it each second (tests call it directly).
func (s *Service) Tick(ctx context.Context) {
	if s.proc != nil {
		s.sampleHost()
	}
	now := s.opt.Now()
	s.flushUpTo(ctx, now.Unix()-grace)
	if now.Sub(s.lastPurge) > time.Hour {
		s.purge(ctx)
	}
}

func (s *Service) purge(ctx context.Context) {
	now := s.opt.Now()
	s.lastPurge = now
	if _, err := s.st.PurgeStats(ctx, now.Add(-Retention)); err != nil && ctx.Err() == nil {
		s.opt.Logger.Warn("statistics purge failed", "err", err)
	}
}

// sampleHost reads /proc and records the rates since the last read.
func (s *Service) sampleHost() {
	if err := s.proc.Read(&s.cur); err != nil {
		s.opt.Logger.Warn("host statistics", "err", err)
		return
	}
	defer func() { s.prev, s.cur, s.havePrev = s.cur, s.prev, true }()
	if !s.havePrev {
		return
	}
	wall := s.cur.At.Sub(s.prev.At).Seconds()
	if wall <= 0 {
		return
	}
	var v Values
	if dt := s.cur.CPU.Total - s.prev.CPU.Total; s.cur.CPU.Total > s.prev.CPU.Total && s.cur.CPU.Busy >= s.prev.CPU.Busy {
		v[MetricCPU] = float32(min(100, float64(s.cur.CPU.Busy-s.prev.CPU.Busy)/float64(dt)*100))
	}
	used := s.cur.Memory.Total - s.cur.Memory.Available
	if s.cur.Memory.Total > 0 {
		v[MetricMem] = float32(float64(used) / float64(s.cur.Memory.Total) * 100)
	}
	rd, wr := deltas(s.prev.Disks, s.cur.Disks)
	v[MetricDiskRead], v[MetricDiskWrite] = float32(rd/wall), float32(wr/wall)
	t := s.cur.At.Unix()

	s.mu.Lock()
	defer s.mu.Unlock()
	s.hostMem = [2]uint64{used, s.cur.Memory.Total}
	var rxAll, txAll float64
	for i := range s.cur.NICs {
		c := &s.cur.NICs[i]
		p := find(s.prev.NICs, c.Name)
		if p == nil {
			continue
		}
		var n Values
		n[MetricNetRx], n[MetricNetTx] = float32(delta(p.In, c.In)/wall), float32(delta(p.Out, c.Out)/wall)
		rxAll, txAll = rxAll+float64(n[MetricNetRx]), txAll+float64(n[MetricNetTx])
		ser := s.nics[c.Name]
		if ser == nil {
			ser = &series{name: c.Name}
			s.nics[c.Name] = ser
		}
		ser.put(t, &n)
	}
	v[MetricNetRx], v[MetricNetTx] = float32(rxAll), float32(txAll)
	if s.host == nil {
		s.host = &series{name: s.opt.Host}
	}
	s.host.put(t, &v)
}

func find(cs []procstat.Counter, name string) *procstat.Counter {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

// delta is 0 when a counter went backwards (a device came back).
func delta(prev, cur uint64) float64 {
	if cur < prev {
		return 0
	}
	return float64(cur - prev)
}

func deltas(prev, cur []procstat.Counter) (in, out float64) {
	for i := range cur {
		if p := find(prev, cur[i].Name); p != nil {
			in += delta(p.In, cur[i].In)
			out += delta(p.Out, cur[i].Out)
		}
	}
	return in, out
}

// RecordGuests records one bulk sample of the guests (virt's OnStats hook).
func (s *Service) RecordGuests(at time.Time, rates []virt.GuestRate) {
	t := at.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range rates {
		r := &rates[i]
		if r.UUID == "" {
			continue
		}
		ser := s.guests[r.UUID]
		if ser == nil {
			ser = &series{name: r.Name}
			s.guests[r.UUID] = ser
		}
		if ser.name != r.Name {
			ser.name = r.Name // renamed: same guest, same history
		}
		v := Values{float32(r.CPUPercent), float32(r.MemPercent), float32(r.DiskReadBps), float32(r.DiskWriteBps), float32(r.NetRxBps), float32(r.NetTxBps)}
		ser.put(t, &v)
	}
}

func minuteOf(t int64) int64 { return floorDiv(t, 60) * 60 }

// flushUpTo writes every minute that ended by second upTo and was not yet
// written, and forgets subjects silent for an hour.
func (s *Service) flushUpTo(ctx context.Context, upTo int64) {
	for m := s.flushed + 60; m+60 <= upTo; m += 60 {
		if upTo-m > LiveSeconds { // nothing older is in memory
			s.flushed = minuteOf(upTo) - 120
			m = s.flushed
			continue
		}
		s.flushMinute(ctx, m)
		s.flushed = m
	}
}

func (s *Service) flushMinute(ctx context.Context, m int64) {
	s.rows, s.blob = s.rows[:0], s.blob[:0]
	s.mu.Lock()
	add := func(subject string, ser *series) {
		a := Agg{T: m}
		ser.aggregate(m, m+60, &a)
		if a.N == 0 {
			return
		}
		a.finish()
		start := len(s.blob)
		s.blob = pack(s.blob, &a)
		s.rows = append(s.rows, store.StatsRow{Host: s.opt.Host, Subject: subject, Minute: m, N: a.N, V: s.blob[start:len(s.blob):len(s.blob)]})
	}
	if s.host != nil {
		add("host", s.host)
	}
	for name, ser := range s.nics {
		add("nic:"+name, ser)
		if ser.last < m-LiveSeconds {
			delete(s.nics, name)
		}
	}
	for uuid, ser := range s.guests {
		add("vm:"+uuid, ser)
		if ser.last < m-LiveSeconds {
			delete(s.guests, uuid)
		}
	}
	s.mu.Unlock()
	if err := s.st.PutStats(ctx, s.rows); err != nil && ctx.Err() == nil {
		s.opt.Logger.Warn("statistics write failed", "minute", m, "err", err)
	}
}
