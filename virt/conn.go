package virt

import (
	"context"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
)

const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// The event loop implementation is process-wide in libvirt and must be
// registered before the first connection; it is the only package state.
var (
	eventImplOnce sync.Once
	eventImplErr  error
)

func startEventLoop() error {
	eventImplOnce.Do(func() {
		if eventImplErr = libvirt.EventRegisterDefaultImpl(); eventImplErr != nil {
			return
		}
		go func() {
			for {
				if err := libvirt.EventRunDefaultImpl(); err != nil {
					// Never spin on a broken loop.
					time.Sleep(100 * time.Millisecond)
				}
			}
		}()
	})
	return eventImplErr
}

// acquire returns a private reference to the current connection; the
// caller must release it. A copy of the handle is returned because the
// binding clears the handle's pointer on the last Close.
func (m *Manager) acquire() (*libvirt.Connect, error) {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	if m.conn == nil {
		return nil, errUnavailable()
	}
	c := new(libvirt.Connect)
	*c = *m.conn
	if err := c.Ref(); err != nil {
		return nil, errUnavailable()
	}
	return c, nil
}

// release drops a reference taken by acquire. Its error is ignored: a dead
// connection refuses even this, and there is nothing left to do then.
func release(c *libvirt.Connect) { _, _ = c.Close() }

// Reconnect drops the connection and connects again, rebuilding the index,
// as after a libvirtd restart; for operators and tests.
func (m *Manager) Reconnect() {
	select {
	case m.drop <- struct{}{}:
	default:
	}
}

// signalLost asks the connection loop to check the connection. It never
// blocks, so libvirt's event loop may call it.
func (m *Manager) signalLost() {
	select {
	case m.lost <- struct{}{}:
	default:
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// connLoop connects, serves until the connection is lost, and starts over
// with exponential backoff.
func (m *Manager) connLoop() {
	defer m.wg.Done()
	backoff := minBackoff
	for m.ctx.Err() == nil {
		for _, ch := range []chan struct{}{m.lost, m.drop} {
			select {
			case <-ch: // stale requests about the previous connection
			default:
			}
		}
		if hook := m.beforeConnect.Load(); hook != nil {
			(*hook)()
		}
		if err := m.connect(); err != nil {
			if m.ctx.Err() != nil {
				return
			}
			m.log.Warn("libvirt connection failed; retrying", "err", err, "retry_in", backoff)
			if !sleepCtx(m.ctx, backoff) {
				return
			}
			backoff = min(backoff*2, maxBackoff)
			continue
		}
		backoff = minBackoff
		m.serve()
		m.disconnect()
		if m.ctx.Err() == nil {
			m.log.Warn("libvirt connection lost; reconnecting")
		}
	}
}

// serve runs while the connection is healthy: it checks suspected losses
// and rebuilds the index every ResyncInterval in case an event was missed.
func (m *Manager) serve() {
	resync := time.NewTicker(m.cfg.ResyncInterval)
	defer resync.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.lost:
			if !m.alive() {
				return
			}
		case <-m.drop:
			return
		case <-resync.C:
			if err := m.rebuild(false); err != nil {
				if !m.alive() {
					return
				}
				m.log.Error("periodic guest index rebuild failed", "err", err)
			}
		}
	}
}

func (m *Manager) alive() bool {
	c, err := m.acquire()
	if err != nil {
		return false
	}
	defer release(c)
	ok, err := c.IsAlive()
	return err == nil && ok
}

func (m *Manager) connect() error {
	c, err := libvirt.NewConnect(m.cfg.URI)
	if err != nil {
		return err
	}
	// Local drivers have no close callback to offer; the remote driver does,
	// and that is the case that matters.
	if err := c.RegisterCloseCallback(func(*libvirt.Connect, libvirt.ConnectCloseReason) { m.signalLost() }); err != nil {
		m.log.Debug("no close callback on this driver", "err", err)
	}
	var ids []int
	id, err := c.DomainEventLifecycleRegister(nil, m.onLifecycle)
	if err == nil {
		ids = append(ids, id)
		id, err = c.DomainEventMetadataChangeRegister(nil, m.onMetadataChange)
		if err == nil {
			ids = append(ids, id)
		}
	}
	var res resourceCallbacks
	if err == nil {
		res = m.registerResourceEvents(c)
	}
	m.connMu.Lock()
	m.conn, m.cbIDs, m.resCBs = c, ids, res
	m.connMu.Unlock()
	if err != nil {
		m.disconnect()
		return err
	}
	m.mu.Lock()
	m.connected = true
	m.mu.Unlock()
	// Events are registered first so nothing that happens during the
	// rebuild is missed; they queue and apply after it.
	if err := m.rebuild(true); err != nil {
		m.disconnect()
		return err
	}
	m.mu.Lock()
	if !m.ready {
		m.ready = true
		close(m.readyCh)
	}
	m.mu.Unlock()
	m.log.Info("libvirt connected and guests indexed", "guests", m.count())
	return nil
}

func (m *Manager) disconnect() {
	m.mu.Lock()
	if m.ready {
		m.readyCh = make(chan struct{})
	}
	m.ready, m.connected = false, false
	m.mu.Unlock()

	m.connMu.Lock()
	c, ids, res := m.conn, m.cbIDs, m.resCBs
	m.conn, m.cbIDs, m.resCBs = nil, nil, resourceCallbacks{}
	m.connMu.Unlock()
	if c == nil {
		return
	}
	m.deregisterResourceEvents(c, res)
	for _, id := range ids {
		if err := c.DomainEventDeregister(id); err != nil {
			m.log.Debug("event deregistration failed", "err", err)
		}
	}
	if err := c.UnregisterCloseCallback(); err != nil {
		m.log.Debug("close callback deregistration failed", "err", err)
	}
	release(c)

	m.statsMu.Lock()
	clear(m.prev)
	m.statsMu.Unlock()
}

// Event callbacks run on libvirt's event loop: they only queue work. GetName
// reads the handle and makes no call to the daemon.
func (m *Manager) onLifecycle(_ *libvirt.Connect, d *libvirt.Domain, _ *libvirt.DomainEventLifecycle) {
	if name, err := d.GetName(); err == nil {
		m.enqueue(name, refreshFull)
	}
}

func (m *Manager) onMetadataChange(_ *libvirt.Connect, d *libvirt.Domain, ev *libvirt.DomainEventMetadataChange) {
	if ev.Type != libvirt.DOMAIN_METADATA_ELEMENT || (ev.NSURI != MetadataNS && ev.NSURI != KimchiNS) {
		return
	}
	if name, err := d.GetName(); err == nil {
		m.enqueue(name, refreshMeta)
	}
}
