package handlers

// Browser consoles (DESIGN.md §6): one-time tokens, the WebSocket proxy to
// the guest's display or serial port, the hub that ends live consoles when
// their reason to exist goes away, and screenshots (cached by virt).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/tokens"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// ConsoleOptions configure consoles and screenshots; zero fields take the defaults.
type ConsoleOptions struct {
	TokenTTL         time.Duration // how long a console token waits for its WebSocket; default 30 s
	IdleTimeout      time.Duration // a console with no byte either way for this long closes; default 15 min
	Keepalive        time.Duration // ping period; a ping unanswered within one period closes; default 20 s
	MaxPerUser       int           // live consoles per user; default 8
	MaxPerGuest      int           // live consoles per guest; default 4
	ScreenshotCache  time.Duration // how long a guest's screenshot is reused; default 5 s
	SpicePasswordTTL time.Duration // validity of a one-time SPICE password; default 60 s
}

func (o *ConsoleOptions) applyDefaults() {
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
}

// CloseReason is why a console ended: the WebSocket close code and the
// short text the browser shows.
type CloseReason struct {
	Code websocket.StatusCode
	Text string
}

func (r *CloseReason) Error() string { return r.Text }

// Close codes of consoles the portal ends; 4000–4999 is the range RFC 6455
// leaves to applications. The server's shutdown uses 1001 (going away), a
// console whose guest side ended while the guest runs 1000.
const (
	CloseGuestStopped  websocket.StatusCode = 4001
	CloseAccessRevoked websocket.StatusCode = 4003
	CloseLoggedOut     websocket.StatusCode = 4004
	CloseSessionEnded  websocket.StatusCode = 4005
	CloseIdle          websocket.StatusCode = 4008
)

var (
	reasonGuestStopped = &CloseReason{CloseGuestStopped, "guest stopped"}
	reasonRevoked      = &CloseReason{CloseAccessRevoked, "access revoked"}
	reasonLoggedOut    = &CloseReason{CloseLoggedOut, "logged out"}
	reasonSessionEnded = &CloseReason{CloseSessionEnded, "session ended"}
	reasonIdle         = &CloseReason{CloseIdle, "idle"}
	reasonShutdown     = &CloseReason{websocket.StatusGoingAway, "server shutting down"}
	reasonGuestClosed  = &CloseReason{websocket.StatusNormalClosure, "console closed"}
	// The two below are never sent: the browser is gone or closed first.
	reasonClientClosed = &CloseReason{websocket.StatusNormalClosure, "closed by the browser"}
	reasonNoPong       = &CloseReason{websocket.StatusGoingAway, "keepalive timeout"}
)

var permConsole = rbac.Permission{Object: "vm", Action: "console"}

// AcceptConsole completes a console's WebSocket handshake, for the console
// route and the benchmark alike: the "binary" subprotocol noVNC asks for
// (xterm-based clients ask for none), no compression (framebuffer updates
// are compressed already, and it would cost a copy per message), and the
// library's own Origin check after the caller's (OriginPatterns unset, so
// only the request's host). The library writes each message through the
// server's 4 KiB buffer: the header and the first 4 KiB, then the rest
// straight from the caller's slice. A buffer holding whole messages was
// measured slower here (an extra copy of every byte costs more than the
// saved write).
func AcceptConsole(w http.ResponseWriter, r *http.Request) (*websocket.Conn, error) {
	return websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"binary"}})
}

// causeReason is the *CloseReason a context was cancelled with.
func causeReason(ctx context.Context) *CloseReason {
	var r *CloseReason
	if errors.As(context.Cause(ctx), &r) {
		return r
	}
	return reasonShutdown
}

// liveConsole is one open console.
type liveConsole struct {
	identity  string
	principal atomic.Pointer[rbac.Principal] // refreshed from the session while it runs
	sessionID string
	sessHash  string
	guest     string
	kind      string
	opened    time.Time
	ctx       context.Context
	cancel    context.CancelCauseFunc
}

// consoleHub knows every live console of this server: it enforces the caps
// and ends consoles when their guest stops, their grant goes, their session
// ends or the server shuts down. Consoles are process-local by nature (a
// hijacked connection), so this state is not shared between replicas.
type consoleHub struct {
	mu      sync.Mutex
	live    map[*liveConsole]struct{}
	closing bool
	wg      sync.WaitGroup
	unsub   []func()
}

func newConsoleHub() *consoleHub { return &consoleHub{live: make(map[*liveConsole]struct{})} }

// check refuses a console the caps do not allow; the caller holds h.mu.
func (h *consoleHub) check(identity, guest, kind string, o ConsoleOptions) error {
	if h.closing {
		return api.Unavailable("the server is shutting down")
	}
	perUser, perGuest := 0, 0
	for lc := range h.live {
		if lc.identity == identity {
			perUser++
		}
		if lc.guest == guest {
			perGuest++
			if kind == virt.ConsoleSerial && lc.kind == virt.ConsoleSerial {
				// One writer per serial port: two keyboards on one terminal
				// interleave keystrokes, and libvirt hands out one stream.
				return api.Conflict("the serial console of guest %q is already open (by %s since %s); only one session may use it at a time",
					guest, lc.identity, lc.opened.UTC().Format("15:04:05 UTC"))
			}
		}
	}
	if perUser >= o.MaxPerUser {
		return api.TooManyRequests("you have %d consoles open, the most allowed; close one first", perUser)
	}
	if perGuest >= o.MaxPerGuest {
		return api.TooManyRequests("guest %q has %d consoles open, the most allowed", guest, perGuest)
	}
	return nil
}

func (h *consoleHub) precheck(identity, guest, kind string, o ConsoleOptions) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.check(identity, guest, kind, o)
}

// admit registers lc if the caps allow it; done must follow.
func (h *consoleHub) admit(lc *liveConsole, o ConsoleOptions) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(lc.identity, lc.guest, lc.kind, o); err != nil {
		return err
	}
	h.live[lc] = struct{}{}
	h.wg.Add(1)
	return nil
}

func (h *consoleHub) done(lc *liveConsole) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.live[lc]; ok {
		delete(h.live, lc)
		lc.cancel(nil)
		h.wg.Done()
	}
}

func (h *consoleHub) snapshot() []*liveConsole {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*liveConsole, 0, len(h.live))
	for lc := range h.live {
		out = append(out, lc)
	}
	return out
}

// closeIf ends the consoles for which reason returns non-nil. reason runs
// without the hub's lock, so it may ask rbac and the guest index.
func (h *consoleHub) closeIf(reason func(*liveConsole) *CloseReason) {
	for _, lc := range h.snapshot() {
		if r := reason(lc); r != nil {
			lc.cancel(r)
		}
	}
}

func (h *consoleHub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.live)
}

// initConsoles wires the hub to the guest index: grant changes and state
// changes re-check the live consoles of the guest concerned.
func (s *Server) initConsoles() {
	s.consoles = newConsoleHub()
	s.opener = s.d.Virt
	if s.d.Virt == nil {
		return
	}
	s.consoles.unsub = append(s.consoles.unsub,
		s.OnAccessChange(s.recheckConsoles), // grants, undefine, resync
		s.d.Virt.Subscribe(func(e virt.Event) {
			if e.Kind == virt.EventState {
				s.recheckConsoles(e.Name)
			}
		}))
}

// recheckConsoles re-decides the live consoles of guest ("" for all): a
// guest without a live process ends them with "guest stopped", a caller
// no longer allowed vm:console with "access revoked" (an rbac error also
// revokes: fail closed).
func (s *Server) recheckConsoles(guest string) {
	s.consoles.closeIf(func(lc *liveConsole) *CloseReason {
		if guest != "" && lc.guest != guest {
			return nil
		}
		if !s.d.Virt.Active(lc.guest) {
			return reasonGuestStopped
		}
		ok, err := s.d.Authz.AllowedOn(*lc.principal.Load(), permConsole, lc.guest)
		if err != nil {
			s.log.Error("console re-check", "guest", lc.guest, "user", lc.identity, "err", err)
		}
		if err != nil || !ok {
			return reasonRevoked
		}
		return nil
	})
}

// endSessionConsoles ends the consoles opened by one session.
func (s *Server) endSessionConsoles(sessionID string, r *CloseReason) {
	if sessionID == "" {
		return
	}
	h := store.SessionHash(sessionID)
	s.consoles.closeIf(func(lc *liveConsole) *CloseReason {
		if lc.sessHash == h {
			return r
		}
		return nil
	})
}

// CloseConsoles ends every live console with "server shutting down" and
// waits, up to 10 s, until each has sent its close frame and been audited;
// new consoles are refused from then on. http.Server.Shutdown does not
// touch hijacked connections, so serve registers this with
// RegisterOnShutdown and calls it once more after Shutdown to wait.
func (s *Server) CloseConsoles() {
	h := s.consoles
	h.mu.Lock()
	h.closing = true
	unsub := h.unsub
	h.unsub = nil
	h.mu.Unlock()
	for _, f := range unsub {
		f()
	}
	h.closeIf(func(*liveConsole) *CloseReason { return reasonShutdown })
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.log.Warn("consoles still closing after 10 s", "open", h.count())
	}
}

// consoleOpener opens the guest side of a console; *virt.Manager is the
// real one, tests put a fake in its place.
type consoleOpener interface {
	// ConsoleCapable says whether this host can open consoles at all, so a
	// token is never handed out for a console that cannot exist.
	ConsoleCapable() error
	OpenGraphics(ctx context.Context, name string) (io.ReadWriteCloser, error)
	OpenSerial(ctx context.Context, name string) (io.ReadWriteCloser, error)
}

// consoleToken answers POST /api/v1/vms/{name}/console.
func (s *Server) consoleToken(c *gin.Context) error {
	var req api.ConsoleRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	if !slices.Contains(virt.ConsoleKinds, req.Kind) {
		return api.BadRequest("unknown console kind %q; use %s", truncate(req.Kind, 16), strings.Join(virt.ConsoleKinds, ", "))
	}
	c.Set(keyReason, "kind="+req.Kind)
	if err := s.opener.ConsoleCapable(); err != nil {
		return err
	}
	sess, _ := sessionOf(c)
	sid, err := s.d.Sessions.CurrentID(c.Request)
	if err != nil {
		return s.internal(c, "session id", err)
	}
	if use, ok := tokenOf(c); ok {
		// A bearer caller's console token is bound to its API token, as a
		// browser's is to its session: only a request presenting the same
		// API token can spend it, and revoking that token ends the console.
		sid = tokenBinding(use.Token.ID)
	}
	if sid == "" {
		return api.Forbidden("consoles need a browser session")
	}
	if req.Kind == virt.ConsoleSpice {
		return s.spiceTicket(c, name) // SetSpicePassword makes CheckConsole's checks
	}
	ctx := c.Request.Context()
	if err := s.d.Virt.CheckConsole(ctx, name, req.Kind); err != nil {
		return err
	}
	now := s.now()
	identity := sess.ID()
	// Refuse early what the WebSocket would refuse; it checks again.
	if err := s.consoles.precheck(identity, name, req.Kind, s.opt.Console); err != nil {
		return err
	}
	token := auth.RandomToken(32)
	t := store.ConsoleToken{Identity: identity, SessionHash: store.SessionHash(sid), Guest: name, Kind: req.Kind,
		Created: now, Expires: now.Add(s.opt.Console.TokenTTL)}
	if err := s.d.Store.CreateConsoleToken(ctx, token, t); err != nil {
		return s.internal(c, "console token", err)
	}
	scheme := "ws"
	if s.opt.TLS || c.Request.TLS != nil {
		scheme = "wss"
	}
	u := url.URL{Scheme: scheme, Host: c.Request.Host, Path: "/api/v1/console/ws", RawQuery: "token=" + token}
	c.JSON(http.StatusOK, api.ConsoleTicket{Kind: req.Kind, Token: token, WSURL: u.String(), Expires: t.Expires.UTC()})
	return nil
}

// spiceTicket answers a SPICE console with a remote-viewer file. The browser
// has no SPICE client here: spice-html5 needs one WebSocket per SPICE
// channel, which breaks one token per connection, and is thinly
// maintained. So remote-viewer connects to the display directly: the
// guest's SPICE port must be reachable from the user's machine, and the
// one-time password set on the display is what protects it.
func (s *Server) spiceTicket(c *gin.Context, name string) error {
	t, err := s.d.Virt.SetSpicePassword(c.Request.Context(), name, s.opt.Console.SpicePasswordTTL)
	if err != nil {
		return err
	}
	host := t.Host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		// Listening everywhere: the name the browser reached the portal by.
		host = c.Request.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
	}
	var vv strings.Builder
	vv.WriteString("[virt-viewer]\ntype=spice\n")
	fmt.Fprintf(&vv, "host=%s\n", host)
	if t.Port > 0 {
		fmt.Fprintf(&vv, "port=%d\n", t.Port)
	}
	if t.TLSPort > 0 {
		fmt.Fprintf(&vv, "tls-port=%d\n", t.TLSPort)
	}
	fmt.Fprintf(&vv, "password=%s\ntitle=%s (virtportal)\ndelete-this-file=1\n", t.Password, name)
	vv.WriteString("secure-attention=ctrl+alt+end\nrelease-cursor=shift+f12\ntoggle-fullscreen=shift+f11\n")
	c.Set(keyReason, "kind=spice; password valid until "+t.ValidTo.Format(time.RFC3339))
	c.JSON(http.StatusOK, api.ConsoleTicket{Kind: virt.ConsoleSpice, Expires: t.ValidTo, VV: vv.String()})
	return nil
}

// isWebSocket reports whether r asks for a WebSocket upgrade.
func isWebSocket(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, key, token string) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// consoleSocket answers GET /api/v1/console/ws?token=…: every check comes
// before the upgrade, so each refusal is a plain HTTP error (and audited);
// then it proxies until the console ends.
func (s *Server) consoleSocket(c *gin.Context) error {
	sess, _ := sessionOf(c)
	identity := sess.ID()
	r := c.Request
	ev := api.AuditEvent{Actor: identity, Action: "vm.console.open", Client: c.ClientIP(), ReqID: c.GetString(keyReqID)}
	refuse := func(guest string, err error) error {
		ev.Target, ev.Result = "", "denied:internal"
		if guest != "" {
			ev.Target = "vm:" + guest
		}
		if e := api.As(err); e != nil {
			ev.Result = "denied:" + e.Code
			if e.Status >= 500 || e.Status == http.StatusConflict {
				ev.Result = "error:" + e.Code
			}
			ev.Reason = truncate(e.Message, 200)
		}
		s.writeAudit(ev)
		return err
	}
	if !isWebSocket(r) {
		return refuse("", api.Errorf(http.StatusUpgradeRequired, "upgrade_required", "this URL speaks WebSocket only"))
	}
	raw := c.Query("token")
	if raw == "" {
		return refuse("", api.BadRequest("the token parameter is missing; ask POST /api/v1/vms/{name}/console for one"))
	}
	// Before the token is spent: a page of another site must not burn it.
	// A bearer request cannot come from a page (browsers' WebSocket API
	// sends no Authorization header), so a script need not send an Origin;
	// one it sends must still be ours.
	use, bearer := tokenOf(c)
	if !ownOrigin(r, !bearer) {
		return refuse("", api.Errorf(http.StatusForbidden, "bad_origin", "console connections are accepted from the portal's own pages only"))
	}
	sid, err := s.d.Sessions.CurrentID(r)
	if err != nil {
		return refuse("", s.internal(c, "session id", err))
	}
	if bearer {
		sid = tokenBinding(use.Token.ID)
	}
	tok, err := s.d.Store.ConsumeConsoleToken(r.Context(), raw, s.now())
	if err != nil {
		if api.As(err) == nil {
			err = s.internal(c, "console token", err)
		}
		return refuse(tok.Guest, err)
	}
	// Spent either way: a token that leaked is useless after one try.
	if !tok.IssuedTo(sid) {
		return refuse(tok.Guest, api.Errorf(http.StatusForbidden, "token_session", "this console token was issued to another session"))
	}
	p := sess.Principal()
	if err := s.decideOnGuest(c, p, permConsole, tok.Guest); err != nil {
		return refuse(tok.Guest, err)
	}
	lc := &liveConsole{identity: identity, sessionID: sid, sessHash: tok.SessionHash, guest: tok.Guest, kind: tok.Kind, opened: s.now()}
	lc.principal.Store(&p)
	lc.ctx, lc.cancel = context.WithCancelCause(context.Background())
	if err := s.consoles.admit(lc, s.opt.Console); err != nil {
		return refuse(tok.Guest, err)
	}
	defer s.consoles.done(lc)
	// The grant may have gone between the check and the admission, when no
	// re-check could see this console yet.
	if err := s.decideOnGuest(c, p, permConsole, tok.Guest); err != nil {
		return refuse(tok.Guest, err)
	}
	octx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	var guestSide io.ReadWriteCloser
	if tok.Kind == virt.ConsoleSerial {
		guestSide, err = s.opener.OpenSerial(octx, tok.Guest)
	} else {
		guestSide, err = s.opener.OpenGraphics(octx, tok.Guest)
	}
	cancel()
	if err != nil {
		if api.As(err) == nil {
			s.log.Error("console open", "request_id", ev.ReqID, "guest", tok.Guest, "err", err)
			err = api.Internal()
		}
		return refuse(tok.Guest, err)
	}
	ws, err := AcceptConsole(c.Writer, r)
	if err != nil {
		// Accept has answered the client already.
		_ = guestSide.Close()
		ev.Target, ev.Result, ev.Reason = "vm:"+tok.Guest, "error:handshake", truncate(err.Error(), 200)
		s.writeAudit(ev)
		return nil
	}
	// Input messages are small (keys, pointer, pasted text); a bound keeps
	// a misbehaving page from streaming one endless message.
	ws.SetReadLimit(1 << 20)
	ev.Target, ev.Result, ev.Reason = "vm:"+tok.Guest, "ok", "kind="+tok.Kind
	s.writeAudit(ev)
	s.log.Info("console opened", "request_id", ev.ReqID, "guest", tok.Guest, "kind", tok.Kind, "user", identity)

	res := Pipe(lc.ctx, ws, guestSide, PipeOptions{
		Keepalive:  s.opt.Console.Keepalive,
		Idle:       s.opt.Console.IdleTimeout,
		GuestEnded: func(error) *CloseReason { return s.guestEnded(tok.Guest) },
		Tick:       func(last time.Time) *CloseReason { return s.consoleTick(lc, last) },
	})
	dur := s.now().Sub(lc.opened)
	ev.Action, ev.Reason = "vm.console.close", fmt.Sprintf("reason=%s; duration=%s; kind=%s; bytes_from_guest=%d; bytes_to_guest=%d",
		res.Reason.Text, dur.Round(time.Millisecond), tok.Kind, res.FromGuest, res.ToGuest)
	s.writeAudit(ev)
	s.log.Info("console closed", "request_id", ev.ReqID, "guest", tok.Guest, "kind", tok.Kind, "user", identity,
		"reason", res.Reason.Text, "duration", dur, "err", res.Err)
	return nil
}

// guestEnded names why a console's guest side ended: the guest stopped,
// or (while it runs) the display or port went away. The guest's process
// may take a moment to be reported gone, so libvirt is asked for a second.
func (s *Server) guestEnded(guest string) *CloseReason {
	for range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		active, err := s.d.Virt.GuestActive(ctx, guest)
		cancel()
		if err == nil && !active {
			return reasonGuestStopped
		}
		time.Sleep(100 * time.Millisecond)
	}
	return reasonGuestClosed
}

// consoleTick runs every keepalive period of a live console: its session
// must still exist (deleted by a logout elsewhere, an expiry or a disabled
// user: "session ended"); the console's traffic counts as the session's
// activity, so a user working in a console is not logged out idle; and
// the grant is decided again with the session's current groups, which a
// realm refresh may have changed.
func (s *Server) consoleTick(lc *liveConsole, last time.Time) *CloseReason {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if id, ok := strings.CutPrefix(lc.sessionID, tokenBinding("")); ok {
		return s.tokenConsoleTick(ctx, lc, id)
	}
	data, err := s.d.Sessions.KeepAlive(ctx, lc.sessionID, last)
	if api.IsStatus(err, http.StatusNotFound) {
		return reasonSessionEnded
	}
	if err != nil {
		s.log.Warn("console session check", "guest", lc.guest, "err", err)
	}
	if data.Name != "" {
		p := data.Principal() // groups and roles as the last refresh left them
		lc.principal.Store(&p)
	}
	if ok, err := s.d.Authz.AllowedOn(*lc.principal.Load(), permConsole, lc.guest); err != nil || !ok {
		return reasonRevoked
	}
	return nil
}

// screenshot answers GET /api/v1/vms/{name}/screenshot with a PNG.
func (s *Server) screenshot(c *gin.Context) error {
	name := c.Param("name")
	ttl := s.opt.Console.ScreenshotCache
	png, at, err := s.d.Virt.CachedScreenshot(name, s.now(), ttl)
	if err != nil {
		return err
	}
	age := s.now().Sub(at)
	c.Header("Cache-Control", "private, max-age="+strconv.Itoa(max(1, int((ttl-age).Seconds()))))
	c.Header("Last-Modified", at.UTC().Format(http.TimeFormat))
	c.Data(http.StatusOK, "image/png", png)
	return nil
}

// tokenConsoleTick is consoleTick for a console opened with an API token:
// the token must still be valid (not revoked, not expired, its owner
// still there) and the owner, as their realm sees them now, still allowed.
func (s *Server) tokenConsoleTick(ctx context.Context, lc *liveConsole, id string) *CloseReason {
	use, err := s.d.Tokens.Check(ctx, id)
	switch {
	case fault.Is(err, tokens.CodeInvalid):
		return reasonSessionEnded
	case err != nil:
		s.log.Warn("console token check", "guest", lc.guest, "err", err)
	default:
		p := use.Principal
		lc.principal.Store(&p)
	}
	if ok, err := s.d.Authz.AllowedOn(*lc.principal.Load(), permConsole, lc.guest); err != nil || !ok {
		return reasonRevoked
	}
	return nil
}
