package stats

// LiveSeconds is the history kept in memory at 1 s.
const LiveSeconds = 3600

// ring holds a subject's last hour of 1 s samples, a slot per second of
// the clock (t mod LiveSeconds): a put never allocates, a gap leaves old
// slots that the stamp check skips.
type ring struct {
	ts      [LiveSeconds]int64 // the sample's unix second; 0: empty
	v       [LiveSeconds]Values
	last    int64 // the newest sample's second
	lastVal Values
}

func (r *ring) put(t int64, v *Values) {
	i := t % LiveSeconds
	r.ts[i], r.v[i] = t, *v
	if t >= r.last {
		r.last, r.lastVal = t, *v
	}
}

// get returns the sample of second t, if it is in the ring.
func (r *ring) get(t int64) (*Values, bool) {
	if t <= 0 {
		return nil, false
	}
	i := t % LiveSeconds
	if r.ts[i] != t {
		return nil, false
	}
	return &r.v[i], true
}

// aggregate folds the samples of [from, to) into a (at most an hour).
func (r *ring) aggregate(from, to int64, a *Agg) {
	for t := from; t < to; t++ {
		if v, ok := r.get(t); ok {
			a.add(v)
		}
	}
}
