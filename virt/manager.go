package virt

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/fault"
)

// Config of the manager.
type Config struct {
	// URI is the libvirt URI, e.g. "test:///abs/path.xml" or "qemu:///system".
	URI string
	// StatsInterval is the bulk statistics sampling period; default 2s.
	StatsInterval time.Duration
	// ResyncInterval is the period of the full index rebuild that backs up
	// events; default 60s.
	ResyncInterval time.Duration
	// Logger receives connection changes and causes of internal errors.
	Logger *slog.Logger
}

// Kinds of Event.
const (
	EventDefined   = "defined"
	EventUndefined = "undefined"
	EventState     = "state"
	EventMetadata  = "metadata"
	EventResync    = "resync"
)

// Event tells a subscriber that the index changed. It names what changed,
// not the new value: read that with Grants, Exists or List.
type Event struct {
	Kind string // defined, undefined, state, metadata, resync
	Name string // the guest; "" for resync
}

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

// Manager owns one libvirt connection (one host URI), reconnects when it
// breaks, and keeps an in-memory index of that host's guests.
type Manager struct {
	cfg Config
	log *slog.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	started bool
	closed  bool
	done    chan struct{} // closed by Close
	lifeMu  sync.Mutex    // guards started, closed

	// connMu guards the current connection; callers take their own
	// reference (acquire) so a reconnect never closes it under them.
	connMu sync.Mutex
	conn   *libvirt.Connect
	cbIDs  []int
	lost   chan struct{} // a hint that the connection may be gone
	drop   chan struct{} // reconnect now, alive or not

	// beforeConnect, when set (tests only), runs before every connection
	// attempt; the test driver reconnects faster than a poll can see.
	beforeConnect atomic.Pointer[func()]

	// mu guards the index and the ready state.
	mu        sync.RWMutex
	byName    map[string]*entry
	grantees  grantIndex
	sorted    []*entry // by name; List walks it without sorting
	connected bool
	ready     bool
	readyCh   chan struct{} // closed while ready

	// refreshMu makes "read libvirt, then write the index" atomic, so an
	// older read can never overwrite a newer one.
	refreshMu sync.Mutex

	pendMu  sync.Mutex
	pending map[string]refreshKind
	kick    chan struct{}

	grantLocks grantLocks
	shots      shotCache

	subMu  sync.Mutex
	subs   map[uint64]func(Event)
	subSeq uint64

	statsMu    sync.Mutex
	prev       map[string]statSample
	statsFlags libvirt.ConnectGetAllDomainStatsFlags
}

// New returns a Manager for cfg; nothing happens until Start.
func New(cfg Config) *Manager {
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = 2 * time.Second
	}
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = 60 * time.Second
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		cfg:        cfg,
		log:        log.With("libvirt_uri", cfg.URI),
		done:       make(chan struct{}),
		lost:       make(chan struct{}, 1),
		drop:       make(chan struct{}, 1),
		byName:     make(map[string]*entry),
		grantees:   grantIndex{},
		readyCh:    make(chan struct{}),
		pending:    make(map[string]refreshKind),
		kick:       make(chan struct{}, 1),
		subs:       make(map[uint64]func(Event)),
		prev:       make(map[string]statSample),
		statsFlags: libvirt.CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT,
	}
}

// URI returns the libvirt URI the manager connects to.
func (m *Manager) URI() string { return m.cfg.URI }

// Start connects in the background (retrying with backoff) and returns at
// once; WaitReady or Ready tell when the index is usable. Cancelling ctx
// stops the background work like Close does, except that Close also
// releases the connection.
func (m *Manager) Start(ctx context.Context) error {
	if m.cfg.URI == "" {
		return errors.New("virt: no libvirt URI configured")
	}
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.closed {
		return errors.New("virt: manager closed")
	}
	if m.started {
		return errors.New("virt: manager already started")
	}
	if err := startEventLoop(); err != nil {
		return err
	}
	m.started = true
	m.ctx, m.cancel = context.WithCancel(ctx)
	m.wg.Add(3)
	go m.connLoop()
	go m.refreshWorker()
	go m.statsLoop()
	return nil
}

// WaitReady blocks until the manager is connected and indexed, ctx ends or
// the manager is closed.
func (m *Manager) WaitReady(ctx context.Context) error {
	for {
		m.mu.RLock()
		ready, ch := m.ready, m.readyCh
		m.mu.RUnlock()
		if ready {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-m.done:
			return errUnavailable()
		}
	}
}

// Ready returns nil when connected and indexed, else an Unavailable fault.
func (m *Manager) Ready() error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.readyLocked()
}

// readyLocked is Ready for callers holding m.mu.
func (m *Manager) readyLocked() error {
	switch {
	case m.ready:
		return nil
	case m.connected:
		return CodeIndexBuilding.New("the guest index is being built")
	default:
		return errUnavailable()
	}
}

// Close deregisters events, stops the background work and closes the
// connection. It is safe to call more than once.
func (m *Manager) Close() error {
	m.lifeMu.Lock()
	if m.closed {
		m.lifeMu.Unlock()
		return nil
	}
	m.closed = true
	close(m.done)
	started := m.started
	m.lifeMu.Unlock()
	if started {
		m.cancel()
		m.wg.Wait()
	}
	m.disconnect()
	return nil
}

// Subscribe calls fn after each change of the index, from whichever
// goroutine made it and with no lock held: fn must be quick and safe for
// concurrent use; it may call the manager's readers.
func (m *Manager) Subscribe(fn func(Event)) (cancel func()) {
	m.subMu.Lock()
	m.subSeq++
	id := m.subSeq
	m.subs[id] = fn
	m.subMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.subMu.Lock()
			delete(m.subs, id)
			m.subMu.Unlock()
		})
	}
}

func (m *Manager) publish(events []Event) {
	if len(events) == 0 {
		return
	}
	m.subMu.Lock()
	fns := make([]func(Event), 0, len(m.subs))
	for _, fn := range m.subs {
		fns = append(fns, fn)
	}
	m.subMu.Unlock()
	for _, ev := range events {
		for _, fn := range fns {
			fn(ev)
		}
	}
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
	m.connMu.Lock()
	m.conn, m.cbIDs = c, ids
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
	c, ids := m.conn, m.cbIDs
	m.conn, m.cbIDs = nil, nil
	m.connMu.Unlock()
	if c == nil {
		return
	}
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

type refreshKind uint8

const (
	refreshMeta refreshKind = iota + 1
	refreshFull
)

// enqueue coalesces: a burst of events for one guest costs one refresh.
func (m *Manager) enqueue(name string, kind refreshKind) {
	m.pendMu.Lock()
	if m.pending[name] < kind {
		m.pending[name] = kind
	}
	m.pendMu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Manager) refreshWorker() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.kick:
		}
		m.pendMu.Lock()
		jobs := m.pending
		m.pending = make(map[string]refreshKind)
		m.pendMu.Unlock()
		for name, kind := range jobs {
			if m.ctx.Err() != nil {
				return
			}
			if err := m.refresh(name, kind); err != nil {
				if isConnErr(err) || fault.IsKind(err, fault.Unavailable) {
					// The reconnect's rebuild covers what is dropped here.
					m.signalLost()
					continue
				}
				m.log.Error("guest refresh failed", "guest", name, "err", err)
			}
		}
	}
}
