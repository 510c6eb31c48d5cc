package virt

import (
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
)

// statSample is one guest's cumulative counters at one instant.
type statSample struct {
	at       time.Time
	cpuNs    uint64
	hasCPU   bool
	vcpus    int
	rd, wr   uint64
	rx, tx   uint64
	memPct   float64
	hasMem   bool
	state    string
	hasState bool
}

const statsTypes = libvirt.DOMAIN_STATS_STATE | libvirt.DOMAIN_STATS_CPU_TOTAL |
	libvirt.DOMAIN_STATS_BALLOON | libvirt.DOMAIN_STATS_VCPU |
	libvirt.DOMAIN_STATS_INTERFACE | libvirt.DOMAIN_STATS_BLOCK

func (m *Manager) statsLoop() {
	defer m.wg.Done()
	t := time.NewTicker(m.cfg.StatsInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		if m.Ready() != nil {
			continue
		}
		if err := m.sampleStats(); err != nil {
			if isConnErr(err) {
				m.signalLost()
				continue
			}
			m.log.Warn("statistics sample failed", "err", err)
		}
	}
}

// sampleStats takes one bulk sample of every guest and turns the deltas
// since the previous sample into rates in the index.
func (m *Manager) sampleStats() error {
	c, err := m.acquire()
	if err != nil {
		return nil // not connected: the connection loop deals with it
	}
	defer release(c)

	m.statsMu.Lock()
	defer m.statsMu.Unlock()
	start := time.Now()
	recs, err := c.GetAllDomainStats(nil, statsTypes, m.statsFlags)
	if err != nil && m.statsFlags != 0 && isUnsupportedFlags(err) {
		// NOWAIT (skip guests busy with a job) is not known everywhere.
		m.statsFlags = 0
		recs, err = c.GetAllDomainStats(nil, statsTypes, 0)
	}
	m.observe("domain stats", start, err)
	if err != nil {
		return err
	}
	now := time.Now()
	cur := make(map[string]statSample, len(recs))
	for i := range recs {
		r := &recs[i]
		name, nerr := r.Domain.GetName()
		_ = r.Domain.Free()
		if nerr != nil {
			continue
		}
		cur[name] = sampleOf(r, now)
	}

	var drifted []string
	hook, _ := m.statsHook.Load().(func(time.Time, []GuestRate))
	m.rates = m.rates[:0]
	m.mu.Lock()
	for _, e := range m.sorted {
		s, ok := cur[e.vm.Name]
		if !ok || !isActiveState(e.vm.State) {
			zeroRates(&e.vm)
		} else {
			setRates(&e.vm, m.prev[e.vm.Name], s)
		}
		if ok && s.hasState && s.state != e.vm.State {
			drifted = append(drifted, e.vm.Name)
		}
		if hook != nil && e.vm.UsageReported {
			v := &e.vm
			m.rates = append(m.rates, GuestRate{UUID: v.UUID, Name: v.Name, State: v.State, CPUPercent: v.CPUPercent, MemPercent: v.MemPercent,
				DiskReadBps: v.DiskReadBps, DiskWriteBps: v.DiskWriteBps, NetRxBps: v.NetRxBps, NetTxBps: v.NetTxBps})
		}
	}
	m.mu.Unlock()
	m.prev = cur
	if hook != nil {
		hook(now, m.rates) // statsMu still held: m.rates is stable during the call
	}

	// An event may have been lost (or is on its way); a refresh is cheap
	// and idempotent.
	for _, name := range drifted {
		m.enqueue(name, refreshFull)
	}
	return nil
}

// GuestRate is one guest's rates from one bulk sample, as the index has them.
type GuestRate struct {
	UUID, Name, State                             string
	CPUPercent, MemPercent                        float64
	DiskReadBps, DiskWriteBps, NetRxBps, NetTxBps float64
}

// OnStats makes fn receive, after every bulk statistics sample, the rates
// of the guests that report usage. The slice is reused: fn copies what it
// keeps and returns quickly (it runs on the sampling goroutine).
func (m *Manager) OnStats(fn func(at time.Time, rates []GuestRate)) { m.statsHook.Store(fn) }

// StatsInterval is how often the guests are sampled.
func (m *Manager) StatsInterval() time.Duration { return m.cfg.StatsInterval }

// OnThisMachine reports whether libvirt runs on the machine the portal runs
// on (a local URI, or the test driver of a demo), so /proc describes it.
func (m *Manager) OnThisMachine() bool { return remoteHost(m.cfg.URI) == "" }

func sampleOf(r *libvirt.DomainStats, at time.Time) statSample {
	s := statSample{at: at}
	if r.State != nil && r.State.StateSet {
		s.state, s.hasState = stateName(r.State.State), true
	}
	if r.Cpu != nil && r.Cpu.TimeSet {
		s.cpuNs, s.hasCPU = r.Cpu.Time, true
	}
	for _, v := range r.Vcpu {
		if v.StateSet || v.TimeSet {
			s.vcpus++
		}
	}
	for _, b := range r.Block {
		s.rd += b.RdBytes
		s.wr += b.WrBytes
	}
	for _, n := range r.Net {
		s.rx += n.RxBytes
		s.tx += n.TxBytes
	}
	if b := r.Balloon; b != nil {
		switch {
		case b.AvailableSet && b.UnusedSet && b.Available > 0:
			used := float64(b.Available) - float64(b.Unused)
			s.memPct, s.hasMem = clampPct(used/float64(b.Available)*100), true
		case b.RssSet && b.CurrentSet && b.Current > 0:
			s.memPct, s.hasMem = clampPct(float64(b.Rss)/float64(b.Current)*100), true
		}
	}
	return s
}

func setRates(vm *api.VM, prev, cur statSample) {
	vm.UsageReported = cur.hasCPU || cur.hasMem
	vm.MemPercent = 0
	if cur.hasMem {
		vm.MemPercent = cur.memPct
	}
	if prev.at.IsZero() {
		vm.CPUPercent, vm.DiskReadBps, vm.DiskWriteBps, vm.NetRxBps, vm.NetTxBps = 0, 0, 0, 0, 0
		return
	}
	wall := cur.at.Sub(prev.at).Seconds()
	if wall <= 0 {
		return
	}
	vm.CPUPercent = 0
	if cur.hasCPU && prev.hasCPU && cur.cpuNs >= prev.cpuNs {
		vcpus := cur.vcpus
		if vcpus <= 0 {
			vcpus = max(vm.VCPUs, 1)
		}
		vm.CPUPercent = clampPct(float64(cur.cpuNs-prev.cpuNs) / (wall * 1e9 * float64(vcpus)) * 100)
	}
	vm.DiskReadBps = rate(prev.rd, cur.rd, wall)
	vm.DiskWriteBps = rate(prev.wr, cur.wr, wall)
	vm.NetRxBps = rate(prev.rx, cur.rx, wall)
	vm.NetTxBps = rate(prev.tx, cur.tx, wall)
}

// rate is 0 when a counter went backwards (the guest restarted or a
// device was unplugged).
func rate(prev, cur uint64, wall float64) float64 {
	if cur < prev {
		return 0
	}
	return float64(cur-prev) / wall
}

func zeroRates(vm *api.VM) {
	vm.UsageReported = false
	vm.CPUPercent, vm.MemPercent = 0, 0
	vm.DiskReadBps, vm.DiskWriteBps, vm.NetRxBps, vm.NetTxBps = 0, 0, 0, 0
}

func clampPct(p float64) float64 {
	switch {
	case p != p || p < 0: // NaN or negative
		return 0
	case p > 100:
		return 100
	}
	return p
}
