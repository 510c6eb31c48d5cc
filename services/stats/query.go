package stats

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
)

// MaxPoints is the most points one history answer has: a week at one
// minute and the minute in progress, so the 7-day chart needs no coarser
// step (a cap of 2,000 would make it ask for 5-minute steps).
const MaxPoints = 7*24*60 + 1

// Codes of statistics queries.
var (
	CodeBadQuery      = fault.Define("stats_bad_query", fault.Unprocessable)
	CodeTooManyPoints = fault.Define("stats_too_many_points", fault.Unprocessable)
)

// Query is a checked history request: [From, To) in unix seconds by Step.
type Query struct {
	From, To, Step int64
}

func bad(field, format string, args ...any) error {
	e := CodeBadQuery.New(format, args...)
	return e.WithDetails([]fault.Detail{{Field: field, Message: e.Message}})
}

// parseTime takes RFC 3339 or unix seconds.
func parseTime(field, v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<40 {
		return n, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return 0, bad(field, "%s must be an RFC 3339 time or unix seconds", field)
	}
	return t.Unix(), nil
}

// parseStep takes a duration ("1s", "5m", "1h") or seconds ("60").
func parseStep(v string) (int64, error) {
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		return n, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d%time.Second != 0 || strings.HasPrefix(v, "-") {
		return 0, bad("step", "step must be whole seconds, e.g. 1s, 60s, 5m or 1h")
	}
	return int64(d / time.Second), nil
}

// ParseQuery checks from, to and step (each may be empty) at now. By
// default to is now (this second included), from an hour before, and step 1 s within the last
// hour, else the smallest multiple of a minute within MaxPoints.
func ParseQuery(from, to, step string, now time.Time) (Query, error) {
	q := Query{To: now.Unix() + 1} // to is exclusive: this second included
	var err error
	if to != "" {
		if q.To, err = parseTime("to", to); err != nil {
			return Query{}, err
		}
		q.To = min(q.To, now.Unix()+1) // nothing lies ahead
	}
	q.From = q.To - LiveSeconds
	if from != "" {
		if q.From, err = parseTime("from", from); err != nil {
			return Query{}, err
		}
	}
	if q.From >= q.To {
		return Query{}, bad("from", "from must be before to")
	}
	live := q.From >= now.Unix()-LiveSeconds
	if step != "" {
		if q.Step, err = parseStep(step); err != nil {
			return Query{}, err
		}
		switch {
		case q.Step <= 0 || q.Step != 1 && q.Step%60 != 0:
			return Query{}, bad("step", "step must be 1 s or a multiple of 60 s")
		case q.Step > int64(Retention/time.Second):
			return Query{}, bad("step", "step must be at most 7 days")
		case q.Step == 1 && !live:
			return Query{}, bad("from", "1 s steps cover the last hour only: use a step of 60 s or more for older times")
		}
	} else if live {
		q.Step = 1
	} else {
		q.Step = max(1, (q.To-q.From+60*MaxPoints-1)/(60*MaxPoints)) * 60
	}
	if q.Step == 1 {
		if n := q.To - q.From; n > MaxPoints {
			return Query{}, tooMany(n)
		}
	} else {
		q.From = floorDiv(q.From, q.Step) * q.Step // whole buckets
		if n := (q.To - q.From + q.Step - 1) / q.Step; n > MaxPoints {
			return Query{}, tooMany(n)
		}
	}
	return q, nil
}

func tooMany(n int64) error {
	e := CodeTooManyPoints.New("the answer would have %d points, more than %d: choose a larger step or a shorter range", n, MaxPoints)
	return e.WithDetails([]fault.Detail{{Field: "step", Message: e.Message}})
}

// HostNow is the host's latest sample.
func (s *Service) HostNow() api.StatsNow {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.host == nil {
		return api.StatsNow{}
	}
	n := nowOf(&s.host.ring)
	n.MemUsedBytes, n.MemTotalBytes = s.hostMem[0], s.hostMem[1]
	for name, ser := range s.nics {
		if ser.last == s.host.last {
			n.Interfaces = append(n.Interfaces, api.NICRate{Name: name, RxBps: float64(ser.lastVal[MetricNetRx]), TxBps: float64(ser.lastVal[MetricNetTx])})
		}
	}
	sortNICs(n.Interfaces)
	return n
}

// GuestNow is the latest sample of the guest with this UUID; none when it
// has not reported for a few seconds (off, or no usage reported).
func (s *Service) GuestNow(uuid string) api.StatsNow {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ser := s.guests[uuid]
	if ser == nil || s.opt.Now().Unix()-ser.last > staleAfter {
		return api.StatsNow{}
	}
	return nowOf(&ser.ring)
}

// staleAfter is how old a guest's last sample may be to count as now.
const staleAfter = 10

func nowOf(r *ring) api.StatsNow {
	v := &r.lastVal
	return api.StatsNow{At: time.Unix(r.last, 0).UTC(), Available: true, CPUPercent: float64(v[MetricCPU]), MemPercent: float64(v[MetricMem]),
		DiskReadBps: float64(v[MetricDiskRead]), DiskWriteBps: float64(v[MetricDiskWrite]), NetRxBps: float64(v[MetricNetRx]), NetTxBps: float64(v[MetricNetTx])}
}

func sortNICs(ns []api.NICRate) {
	for i := 1; i < len(ns); i++ {
		for j := i; j > 0 && ns[j].Name < ns[j-1].Name; j-- {
			ns[j], ns[j-1] = ns[j-1], ns[j]
		}
	}
}

// HostHistory answers the host's history, with each interface's traffic.
func (s *Service) HostHistory(ctx context.Context, q Query) (api.StatsHistory, error) {
	aggs, err := s.history(ctx, "host", func() *series { return s.host }, q)
	if err != nil {
		return api.StatsHistory{}, err
	}
	h := render(q, aggs)
	s.mu.RLock()
	names := make([]string, 0, len(s.nics))
	for name := range s.nics {
		names = append(names, name)
	}
	s.mu.RUnlock()
	// Interfaces gone from memory still have their minutes in the store,
	// but the live ones are those worth charting.
	h.Interfaces = map[string]api.NICHistory{}
	for _, name := range names {
		a, err := s.history(ctx, "nic:"+name, func() *series { return s.nics[name] }, q)
		if err != nil {
			return api.StatsHistory{}, err
		}
		r := render(q, a)
		h.Interfaces[name] = api.NICHistory{T: r.T, RxBps: r.Series[MetricNames[MetricNetRx]], TxBps: r.Series[MetricNames[MetricNetTx]]}
	}
	return h, nil
}

// GuestHistory answers the history of the guest with this UUID.
func (s *Service) GuestHistory(ctx context.Context, uuid string, q Query) (api.StatsHistory, error) {
	aggs, err := s.history(ctx, "vm:"+uuid, func() *series { return s.guests[uuid] }, q)
	if err != nil {
		return api.StatsHistory{}, err
	}
	return render(q, aggs), nil
}

// history reads 1 s steps from memory and longer ones from the store.
// live is called under the read lock.
func (s *Service) history(ctx context.Context, subject string, live func() *series, q Query) ([]Agg, error) {
	if q.Step == 1 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		ser := live()
		if ser == nil {
			return nil, nil
		}
		out := make([]Agg, 0, min(q.To-q.From, LiveSeconds))
		for t := q.From; t < q.To; t++ {
			if v, ok := ser.get(t); ok {
				a := Agg{T: t}
				a.add(v)
				out = append(out, a)
			}
		}
		return out, nil
	}
	rows := make([]Agg, 0, min((q.To-q.From)/60+1, MaxPoints))
	err := s.st.StatsRange(ctx, s.opt.Host, subject, q.From, q.To, func(r store.StatsRow) error {
		a := Agg{T: r.Minute, N: r.N}
		if unpack(r.V, &a) && a.N > 0 {
			rows = append(rows, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if q.Step == 60 {
		return rows, nil
	}
	return Downsample(nil, rows, q.Step), nil
}

func render(q Query, aggs []Agg) api.StatsHistory {
	h := api.StatsHistory{From: q.From, To: q.To, Step: q.Step, T: make([]int64, len(aggs)), Series: make(map[string]api.StatsSeries, NumMetrics)}
	for i := range aggs {
		h.T[i] = aggs[i].T
	}
	for m, name := range MetricNames {
		ser := api.StatsSeries{Min: make([]float64, len(aggs)), Mean: make([]float64, len(aggs)), Max: make([]float64, len(aggs))}
		for i := range aggs {
			ser.Min[i], ser.Mean[i], ser.Max[i] = aggs[i].Min[m], aggs[i].Mean[m], aggs[i].Max[m]
		}
		h.Series[name] = ser
	}
	return h
}
