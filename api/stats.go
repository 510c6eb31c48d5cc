package api

import "time"

// StatsNow is GET /api/v1/hosts/{host}/stats and /api/v1/vms/{name}/stats:
// the latest 1 s sample. Available is false when there is none (a remote
// host's /proc is not read; a guest that is off or reports no usage).
type StatsNow struct {
	At            time.Time `json:"at"`
	Available     bool      `json:"available"`
	CPUPercent    float64   `json:"cpu_percent"`
	MemPercent    float64   `json:"mem_percent"`
	MemUsedBytes  uint64    `json:"mem_used_bytes,omitempty"`  // host
	MemTotalBytes uint64    `json:"mem_total_bytes,omitempty"` // host
	DiskReadBps   float64   `json:"disk_read_bps"`
	DiskWriteBps  float64   `json:"disk_write_bps"`
	NetRxBps      float64   `json:"net_rx_bps"`
	NetTxBps      float64   `json:"net_tx_bps"`
	Interfaces    []NICRate `json:"interfaces,omitempty"` // host: each physical interface
}

// NICRate is one physical interface's traffic.
type NICRate struct {
	Name  string  `json:"name"`
	RxBps float64 `json:"rx_bps"`
	TxBps float64 `json:"tx_bps"`
}

// StatsSeries is one metric over the points of a StatsHistory.
type StatsSeries struct {
	Min  []float64 `json:"min"`
	Mean []float64 `json:"mean"`
	Max  []float64 `json:"max"`
}

// StatsHistory is …/stats/history: points at T (unix seconds, each the
// start of a step-long bucket; buckets without samples are left out) and
// per metric (cpu_percent, mem_percent, disk_read_bps, disk_write_bps,
// net_rx_bps, net_tx_bps) the minimum, mean and maximum of the 1 s samples
// in each bucket.
type StatsHistory struct {
	From   int64                  `json:"from"`
	To     int64                  `json:"to"`
	Step   int64                  `json:"step"`
	T      []int64                `json:"t"`
	Series map[string]StatsSeries `json:"series"`
	// Interfaces is the host's per-interface traffic (net_rx_bps,
	// net_tx_bps), each with its own points.
	Interfaces map[string]NICHistory `json:"interfaces,omitempty"`
}

// NICHistory is one interface's traffic over time.
type NICHistory struct {
	T     []int64     `json:"t"`
	RxBps StatsSeries `json:"rx_bps"`
	TxBps StatsSeries `json:"tx_bps"`
}
