package stats

import (
	"encoding/binary"
	"math"
)

// The metrics of every subject, in this order in memory and in the
// database. A host's memory is its used share (MemAvailable's complement).
const (
	MetricCPU = iota
	MetricMem
	MetricDiskRead
	MetricDiskWrite
	MetricNetRx
	MetricNetTx
	NumMetrics
)

// MetricNames are the metrics' names in the API.
var MetricNames = [NumMetrics]string{"cpu_percent", "mem_percent", "disk_read_bps", "disk_write_bps", "net_rx_bps", "net_tx_bps"}

// Values are one sample's metrics.
type Values [NumMetrics]float32

// Vec is a metric vector in full precision, for aggregates.
type Vec [NumMetrics]float64

// Agg is the minimum, mean and maximum of each metric over N samples.
type Agg struct {
	T              int64 // unix seconds at the bucket's start
	N              int
	Min, Mean, Max Vec
}

// add folds a sample into a running aggregate (Mean holds the sum until
// finish).
func (a *Agg) add(v *Values) {
	for i := range v {
		x := float64(v[i])
		if a.N == 0 || x < a.Min[i] {
			a.Min[i] = x
		}
		if a.N == 0 || x > a.Max[i] {
			a.Max[i] = x
		}
		a.Mean[i] += x
	}
	a.N++
}

// merge folds another aggregate in, weighting its mean by its samples
// (Mean holds the weighted sum until finish).
func (a *Agg) merge(b *Agg) {
	if b.N <= 0 {
		return
	}
	for i := range b.Min {
		if a.N == 0 || b.Min[i] < a.Min[i] {
			a.Min[i] = b.Min[i]
		}
		if a.N == 0 || b.Max[i] > a.Max[i] {
			a.Max[i] = b.Max[i]
		}
	}
	for i := range b.Mean {
		a.Mean[i] += b.Mean[i] * float64(b.N)
	}
	a.N += b.N
}

// finish turns the sum in Mean into the mean.
func (a *Agg) finish() {
	if a.N == 0 {
		return
	}
	for i := range a.Mean {
		a.Mean[i] /= float64(a.N)
	}
}

// Downsample merges minute aggregates (oldest first) into buckets of step
// seconds (a multiple of 60) aligned on multiples of step: the minimum of
// the minima, the maximum of the maxima, and the mean of the means
// weighted by their samples, so the result is the aggregate of the 1 s
// samples themselves. It appends to dst.
func Downsample(dst []Agg, rows []Agg, step int64) []Agg {
	for i := range rows {
		r := &rows[i]
		b := floorDiv(r.T, step) * step
		if len(dst) == 0 || dst[len(dst)-1].T != b {
			if len(dst) > 0 {
				dst[len(dst)-1].finish()
			}
			dst = append(dst, Agg{T: b})
		}
		dst[len(dst)-1].merge(r)
	}
	if len(dst) > 0 {
		dst[len(dst)-1].finish()
	}
	return dst
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// packedSize is the bytes of one packed aggregate: min, mean, max of each
// metric as little-endian float32.
const packedSize = NumMetrics * 3 * 4

// pack appends a's values to dst.
func pack(dst []byte, a *Agg) []byte {
	for i := range NumMetrics {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(a.Min[i])))
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(a.Mean[i])))
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(float32(a.Max[i])))
	}
	return dst
}

// unpack reads what pack wrote; false for a blob of another size.
func unpack(b []byte, a *Agg) bool {
	if len(b) != packedSize {
		return false
	}
	for i := range NumMetrics {
		o := i * 12
		a.Min[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[o:])))
		a.Mean[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[o+4:])))
		a.Max[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(b[o+8:])))
	}
	return true
}

// SyntheticRow packs a minute whose every metric is v (benchmarks fill a
// database with it).
func SyntheticRow(v float64) []byte {
	a := Agg{N: 60}
	for i := range NumMetrics {
		a.Min[i], a.Mean[i], a.Max[i] = v, v, v
	}
	return pack(nil, &a)
}
