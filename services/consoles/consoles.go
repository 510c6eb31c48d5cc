// Package consoles is browser consoles (DESIGN.md §6) below the HTTP
// layer: one-time console tokens, the hub of live consoles (caps, serial
// exclusivity, ending them when the guest stops, the grant goes, the
// session or API token ends, or the server shuts down) and the proxy
// between a WebSocket and the guest's display or serial port. handlers
// keeps the parsing, the WebSocket upgrade and the audit records.
package consoles

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// Codes of this package.
var (
	CodeTokenSession = fault.Define("token_session", fault.Forbidden)
	CodeNeedsBinding = fault.Define("console_needs_session", fault.Forbidden)
	// CodeShuttingDown: the server is closing its consoles.
	CodeShuttingDown = fault.Define("shutting_down", fault.Unavailable)
	// CodeConsoleLimit: the caller or the guest has the most consoles allowed open.
	CodeConsoleLimit = fault.Define("console_limit", fault.RateLimited)
)

// Options configure consoles and screenshots; zero fields take the defaults.
type Options struct {
	TokenTTL         time.Duration // how long a console token waits for its WebSocket; default 30 s
	IdleTimeout      time.Duration // a console with no byte either way for this long closes; default 15 min
	Keepalive        time.Duration // ping period; a ping unanswered within one period closes; default 20 s
	MaxPerUser       int           // live consoles per user; default 8
	MaxPerGuest      int           // live consoles per guest; default 4
	ScreenshotCache  time.Duration // how long a guest's screenshot is reused; default 5 s
	SpicePasswordTTL time.Duration // validity of a one-time SPICE password; default 60 s
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o Options) WithDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.TokenTTL, 30*time.Second)
	def(&o.IdleTimeout, 15*time.Minute)
	def(&o.Keepalive, 20*time.Second)
	def(&o.ScreenshotCache, 5*time.Second)
	def(&o.SpicePasswordTTL, 60*time.Second)
	if o.MaxPerUser <= 0 {
		o.MaxPerUser = 8
	}
	if o.MaxPerGuest <= 0 {
		o.MaxPerGuest = 4
	}
	return o
}

// Opener opens the guest side of consoles; *virt.Manager is the real one,
// tests put a fake in its place.
type Opener interface {
	// ConsoleCapable says whether this host can open consoles at all, so a
	// token is never handed out for a console that cannot exist.
	ConsoleCapable() error
	OpenGraphics(ctx context.Context, name string) (io.ReadWriteCloser, error)
	OpenSerial(ctx context.Context, name string) (io.ReadWriteCloser, error)
}

// ErrBindingEnded is what a Binder answers when the session or API token
// a console is bound to no longer exists.
var ErrBindingEnded = errors.New("consoles: binding ended")

// Binder re-reads what a live console is bound to (a session id, an API
// token's binding) every keepalive period: the caller as it stands now,
// ErrBindingEnded when it has gone. lastActivity is the time of the
// console's last byte, so that a console's use may count as the session's
// activity. Another error keeps the previous caller (and is logged); a
// caller with a name alongside it replaces the previous one.
type Binder func(ctx context.Context, binding string, lastActivity time.Time) (rbac.Principal, error)

// Deps are what the service drives.
type Deps struct {
	Virt   *virt.Manager // guest state, existence, console checks and events
	Authz  *rbac.Authorizer
	Guests Decider      // who may see and use which guest
	Store  *store.Store // console tokens
	Opener Opener       // default Virt
	Binder Binder
	Logger *slog.Logger
	Now    func() time.Time
}

// Decider allows a permission on a guest or refuses it: 404 to who may
// not see the guest, 403 to who sees it (services/guests).
type Decider interface {
	Decide(p rbac.Principal, perm rbac.Permission, g api.GuestRef) error
}

// Service issues console tokens and runs live consoles.
type Service struct {
	d   Deps
	o   Options
	hub *hub
}

var permConsole = rbac.Permission{Object: "vm", Action: "console"}

// New returns the service and, when there is a guest index, subscribes it
// to grant and state changes, which re-check the live consoles of the
// guest concerned.
func New(o Options, d Deps) *Service {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Service{d: d, o: o.WithDefaults(), hub: newHub()}
	if d.Virt == nil {
		return s
	}
	if s.d.Opener == nil {
		s.d.Opener = d.Virt
	}
	s.hub.unsub = append(s.hub.unsub, d.Virt.Subscribe(func(e virt.Event) {
		switch e.Kind {
		case virt.EventMetadata, virt.EventUndefined, virt.EventState: // grants, undefine, power
			s.Recheck(e.Name)
		case virt.EventResync:
			s.Recheck("")
		}
	}))
	return s
}

// Options returns the options in force, defaults applied.
func (s *Service) Options() Options { return s.o }

// UseOpener replaces the guest side's opener; tests call it before any
// console opens.
func (s *Service) UseOpener(o Opener) { s.d.Opener = o }

// Count is the number of live consoles.
func (s *Service) Count() int { return s.hub.count() }

// Prepare checks a console request before anything is issued: the kind is
// known, this host can open consoles, and the caller is bound to a session
// or an API token (binding non-empty).
func (s *Service) Prepare(kind, binding string) error {
	if !slices.Contains(virt.ConsoleKinds, kind) {
		if len(kind) > 16 {
			kind = kind[:16] + "…"
		}
		return virt.CodeUnknownConsoleKind.New("unknown console kind %q; use %s", kind, strings.Join(virt.ConsoleKinds, ", "))
	}
	if err := s.d.Opener.ConsoleCapable(); err != nil {
		return err
	}
	if binding == "" {
		return CodeNeedsBinding.New("consoles need a browser session or an API token")
	}
	return nil
}

// Ticket is an issued console token: the secret goes to the caller once.
type Ticket struct {
	Token   string
	Kind    string
	Expires time.Time
}

// Issue makes a one-time token for p's console of kind on guest, bound to
// binding (after Prepare; not for SPICE, which has no WebSocket).
func (s *Service) Issue(ctx context.Context, p rbac.Principal, binding, guest, kind string) (Ticket, error) {
	if err := s.d.Virt.CheckConsole(ctx, guest, kind); err != nil {
		return Ticket{}, err
	}
	// Refuse early what the WebSocket would refuse; it checks again.
	if err := s.hub.precheck(p.ID(), guest, kind, s.o); err != nil {
		return Ticket{}, err
	}
	now := s.d.Now()
	token := auth.RandomToken(32)
	t := store.ConsoleToken{Identity: p.ID(), SessionHash: store.SessionHash(binding), Guest: guest, Kind: kind,
		Created: now, Expires: now.Add(s.o.TokenTTL)}
	if err := s.d.Store.CreateConsoleToken(ctx, token, t); err != nil {
		return Ticket{}, fault.Internalf(err)
	}
	return Ticket{Token: token, Kind: kind, Expires: t.Expires.UTC()}, nil
}

// Console is an admitted console whose guest side is open: Run proxies
// it; Release, which must follow, frees its place. The caller releases
// after recording the console's end, so that Close (the shutdown) waits
// for that record too.
type Console struct {
	Guest  string
	Kind   string
	Opened time.Time
	s      *Service
	lc     *live
	side   io.ReadWriteCloser
}

// Open spends token for p, bound to binding, and opens the guest side.
// The guest's name is returned whenever the token named one, so that a
// refusal can be recorded against it.
func (s *Service) Open(ctx context.Context, p rbac.Principal, binding, token string) (*Console, string, error) {
	tok, err := s.d.Store.ConsumeConsoleToken(ctx, token, s.d.Now())
	if err != nil {
		if fault.As(err) == nil {
			err = fault.Internalf(err)
		}
		return nil, tok.Guest, err
	}
	// Spent either way: a token that leaked is useless after one try.
	if !tok.IssuedTo(binding) {
		return nil, tok.Guest, CodeTokenSession.New("this console token was issued to another session")
	}
	if err := s.decide(p, tok.Guest); err != nil {
		return nil, tok.Guest, err
	}
	lc := &live{identity: p.ID(), binding: binding, bindHash: tok.SessionHash, guest: tok.Guest, kind: tok.Kind, opened: s.d.Now()}
	lc.principal.Store(&p)
	lc.ctx, lc.cancel = context.WithCancelCause(context.Background())
	if err := s.hub.admit(lc, s.o); err != nil {
		return nil, tok.Guest, err
	}
	// The grant may have gone between the check and the admission, when no
	// re-check could see this console yet.
	if err := s.decide(p, tok.Guest); err != nil {
		s.hub.done(lc)
		return nil, tok.Guest, err
	}
	octx, cancel := context.WithTimeout(ctx, 15*time.Second)
	var side io.ReadWriteCloser
	if tok.Kind == virt.ConsoleSerial {
		side, err = s.d.Opener.OpenSerial(octx, tok.Guest)
	} else {
		side, err = s.d.Opener.OpenGraphics(octx, tok.Guest)
	}
	cancel()
	if err != nil {
		s.hub.done(lc)
		if fault.As(err) == nil {
			err = fault.Internalf(err)
		}
		return nil, tok.Guest, err
	}
	return &Console{Guest: tok.Guest, Kind: tok.Kind, Opened: lc.opened, s: s, lc: lc, side: side}, tok.Guest, nil
}

// Release closes the guest side (if Run did not) and frees the console's
// place in the caps; calling it again does nothing.
func (c *Console) Release() {
	_ = c.side.Close()
	c.s.hub.done(c.lc)
}

// Run proxies between ws and the guest side until the console ends.
func (c *Console) Run(ws *websocket.Conn) PipeResult {
	return Pipe(c.lc.ctx, ws, c.side, PipeOptions{
		Keepalive:  c.s.o.Keepalive,
		Idle:       c.s.o.IdleTimeout,
		GuestEnded: func(error) *CloseReason { return c.s.guestEnded(c.Guest) },
		Tick:       func(last time.Time) *CloseReason { return c.s.tick(c.lc, last) },
	})
}

// decide allows p's console on guest, or refuses it (404 for a guest p
// may not see).
func (s *Service) decide(p rbac.Principal, guest string) error {
	return s.d.Guests.Decide(p, permConsole, s.ref(guest))
}

// ref names a guest of the service's host (Deps.Virt's): console tokens
// and live consoles hold names of that one host, while grants are asked
// by host and name.
func (s *Service) ref(guest string) api.GuestRef {
	host := virt.DefaultHost
	if s.d.Virt != nil {
		host = s.d.Virt.HostName()
	}
	return api.GuestRef{Host: host, Name: guest}
}

// Recheck re-decides the live consoles of guest ("" for all): a guest
// without a live process ends them with "guest stopped", a caller no
// longer allowed vm:console with "access revoked" (an rbac error also
// revokes: fail closed).
func (s *Service) Recheck(guest string) {
	s.hub.closeIf(func(lc *live) *CloseReason {
		if guest != "" && lc.guest != guest {
			return nil
		}
		if !s.d.Virt.Active(lc.guest) {
			return ReasonGuestStopped
		}
		ok, err := s.d.Authz.AllowedOn(*lc.principal.Load(), permConsole, s.ref(lc.guest))
		if err != nil {
			s.d.Logger.Error("console re-check", "guest", lc.guest, "user", lc.identity, "err", err)
		}
		if err != nil || !ok {
			return ReasonRevoked
		}
		return nil
	})
}

// End ends the consoles bound to binding (a logout, a revoked API token).
func (s *Service) End(binding string, r *CloseReason) { s.hub.endBinding(binding, r) }

// Close ends every live console with "server shutting down" and waits, up
// to 10 s, until each has sent its close frame and been audited; new
// consoles are refused from then on.
func (s *Service) Close() {
	h := s.hub
	h.mu.Lock()
	h.closing = true
	unsub := h.unsub
	h.unsub = nil
	h.mu.Unlock()
	for _, f := range unsub {
		f()
	}
	h.closeIf(func(*live) *CloseReason { return ReasonShutdown })
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.d.Logger.Warn("consoles still closing after 10 s", "open", h.count())
	}
}

// guestEnded names why a console's guest side ended: the guest stopped,
// or (while it runs) the display or port went away. The guest's process
// may take a moment to be reported gone, so libvirt is asked for a second.
func (s *Service) guestEnded(guest string) *CloseReason {
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		active, err := s.d.Virt.GuestActive(ctx, guest)
		cancel()
		if err == nil && !active {
			return ReasonGuestStopped
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ReasonGuestClosed
}

// tick runs every keepalive period of a live console: what it is bound to
// must still exist (a session deleted by a logout elsewhere, an expiry or
// a disabled user; a revoked API token: "session ended"); the binder may
// count the console's traffic as the session's activity; and the grant is
// decided again with the caller as the binder sees them now.
func (s *Service) tick(lc *live, last time.Time) *CloseReason {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.d.Binder != nil {
		p, err := s.d.Binder(ctx, lc.binding, last)
		if errors.Is(err, ErrBindingEnded) {
			return ReasonSessionEnded
		}
		if err != nil {
			s.d.Logger.Warn("console binding check", "guest", lc.guest, "err", err)
		}
		if p.Name != "" {
			lc.principal.Store(&p)
		}
	}
	if ok, err := s.d.Authz.AllowedOn(*lc.principal.Load(), permConsole, s.ref(lc.guest)); err != nil || !ok {
		return ReasonRevoked
	}
	return nil
}
