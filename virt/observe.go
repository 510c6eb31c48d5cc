package virt

import "time"

// CallObserver receives libvirt calls for metrics: the operation (a fixed
// name, never a guest's), how long it took (0 when only its failure is
// known) and its error.
type CallObserver func(op string, d time.Duration, err error)

// ObserveCalls makes fn receive the manager's libvirt calls: the bulk
// statistics, the index rebuild's listing and the host facts by duration,
// and every failure by operation.
func (m *Manager) ObserveCalls(fn CallObserver) { m.observer.Store(fn) }

// observe reports one call that began at start.
func (m *Manager) observe(op string, start time.Time, err error) {
	if fn, _ := m.observer.Load().(CallObserver); fn != nil {
		var d time.Duration
		if !start.IsZero() {
			d = time.Since(start)
		}
		fn(op, d, err)
	}
}
