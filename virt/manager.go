package virt

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/virt/osinfo"
)

// Config of the manager.
type Config struct {
	// URI is the libvirt URI, e.g. "test:///abs/path.xml" or "qemu:///system".
	URI string
	// Host is the host's short name in the portal; default DefaultHost.
	// Every guest of the index carries it, and grants are looked up by it.
	Host string
	// StatsInterval is the bulk statistics sampling period; default 1s.
	StatsInterval time.Duration
	// ResyncInterval is the period of the full index rebuild that backs up
	// events; default 60s.
	ResyncInterval time.Duration
	// Logger receives connection changes and causes of internal errors.
	Logger *slog.Logger
	// OSInfo is the osinfo database ISOs are recognised by; nil: every
	// ISO's OS is unknown, reason osinfo_unavailable.
	OSInfo *osinfo.DB
	// StreamUploads sends every upload through libvirt's volume stream,
	// also where the portal could write a local file pool's volume itself
	// (uploadfile.go): what a remote host does, for tests and for sites
	// that want it.
	StreamUploads bool
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
	Kind string // defined, undefined, state, metadata, resync; pool, network
	Name string // the guest (pool, network); "" for resync
	// Change is what happened to a pool or network (defined, started, …).
	Change string
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
	resCBs resourceCallbacks // pool and network events
	lost   chan struct{}     // a hint that the connection may be gone
	drop   chan struct{}     // reconnect now, alive or not

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

	vols volCache // recent volume listings (volcache.go)

	limits settingsLimits // the host's bounds for guest settings (settings.go)

	pendMu  sync.Mutex
	pending map[string]refreshKind
	kick    chan struct{}

	grantLocks grantLocks
	shots      shotCache
	osCache    osCache // ISO descriptors by volume key, size and mtime

	subMu  sync.Mutex
	subs   map[uint64]func(Event)
	subSeq uint64

	statsMu    sync.Mutex
	prev       map[string]statSample
	statsFlags libvirt.ConnectGetAllDomainStatsFlags
	rates      []GuestRate  // reused by every sample for the OnStats hook
	statsHook  atomic.Value // func(time.Time, []GuestRate)

	observer atomic.Value // CallObserver (observe.go)

	factsMu sync.Mutex // the host facts cache (hostfacts.go)
	facts   *api.HostFacts
	factsAt time.Time
}

// New returns a Manager for cfg; nothing happens until Start.
func New(cfg Config) *Manager {
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = time.Second
	}
	if cfg.ResyncInterval <= 0 {
		cfg.ResyncInterval = 60 * time.Second
	}
	if cfg.Host == "" {
		cfg.Host = DefaultHost
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		cfg:        cfg,
		log:        log.With("host", cfg.Host, "libvirt_uri", cfg.URI),
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

// DefaultHost is the name of the host when the config names none.
const DefaultHost = "local"

// HostName is the short name of the manager's host.
func (m *Manager) HostName() string { return m.cfg.Host }

// Ref names the guest name of this manager's host.
func (m *Manager) Ref(name string) api.GuestRef { return api.GuestRef{Host: m.cfg.Host, Name: name} }

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
