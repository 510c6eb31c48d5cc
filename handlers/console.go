package handlers

// Browser consoles (DESIGN.md §6), the HTTP half: parsing the console
// requests, the WebSocket upgrade, the audit records, and screenshots.
// Tokens, the hub of live consoles and the proxy are services/consoles.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/consoles"
	"github.com/virtportal/virtportal/services/tokens"
	"github.com/virtportal/virtportal/virt"
)

// ConsoleOptions configure consoles and screenshots (services/consoles).
type ConsoleOptions = consoles.Options

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

// initConsoles builds the console service over the server's deps.
func (s *Server) initConsoles() {
	s.consoles = consoles.New(s.opt.Console, consoles.Deps{Virt: s.d.Virt, Authz: s.d.Authz, Guests: s.guests, Store: s.d.Store,
		Binder: s.consoleBinding, Logger: s.log, Now: s.now})
}

// endSessionConsoles ends the consoles opened by one session (or API token binding).
func (s *Server) endSessionConsoles(binding string, r *consoles.CloseReason) {
	s.consoles.End(binding, r)
}

// CloseConsoles ends every live console with "server shutting down" and
// waits, up to 10 s, until each has sent its close frame and been audited;
// new consoles are refused from then on. http.Server.Shutdown does not
// touch hijacked connections, so serve registers this with
// RegisterOnShutdown and calls it once more after Shutdown to wait.
func (s *Server) CloseConsoles() { s.consoles.Close() }

// consoleBinding is the consoles' Binder: a browser console's session must
// still exist, and its traffic counts as the session's activity; an API
// token's console needs its token still valid (issue 8 §6).
func (s *Server) consoleBinding(ctx context.Context, binding string, last time.Time) (rbac.Principal, error) {
	if id, ok := strings.CutPrefix(binding, tokenBinding("")); ok {
		use, err := s.d.Tokens.Check(ctx, id)
		if fault.Is(err, tokens.CodeInvalid) {
			return rbac.Principal{}, consoles.ErrBindingEnded
		}
		return use.Principal, err
	}
	data, err := s.d.Sessions.KeepAlive(ctx, binding, last)
	if fault.IsKind(err, fault.NotFound) {
		return rbac.Principal{}, consoles.ErrBindingEnded
	}
	if data.Name == "" {
		return rbac.Principal{}, err
	}
	return data.Principal(), err // groups and roles as the last refresh left them
}

// consoleBindingOf is what the request's console tokens are bound to: its
// session's id, or for a bearer request its API token; "" for neither.
func (s *Server) consoleBindingOf(c *gin.Context) (string, error) {
	if use, ok := tokenOf(c); ok {
		// A bearer caller's console token is bound to its API token, as a
		// browser's is to its session: only a request presenting the same
		// API token can spend it, and revoking that token ends the console.
		return tokenBinding(use.Token.ID), nil
	}
	return s.d.Sessions.CurrentID(c.Request)
}

// consoleToken answers POST /api/v1/vms/{name}/console.
func (s *Server) consoleToken(c *gin.Context) error {
	var req api.ConsoleRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	name := c.Param("name")
	binding, err := s.consoleBindingOf(c)
	if err != nil {
		return s.internal(c, "session id", err)
	}
	if slices.Contains(virt.ConsoleKinds, req.Kind) {
		c.Set(keyReason, "kind="+req.Kind)
	}
	if err := s.consoles.Prepare(req.Kind, binding); err != nil {
		return err
	}
	if req.Kind == virt.ConsoleSpice {
		return s.spiceTicket(c, name) // SetSpicePassword makes CheckConsole's checks
	}
	sess, _ := sessionOf(c)
	t, err := s.consoles.Issue(c.Request.Context(), sess.Principal(), binding, name, req.Kind)
	if err != nil {
		return err
	}
	scheme := "ws"
	if s.opt.TLS || c.Request.TLS != nil {
		scheme = "wss"
	}
	u := url.URL{Scheme: scheme, Host: c.Request.Host, Path: "/api/v1/console/ws", RawQuery: "token=" + t.Token}
	c.JSON(http.StatusOK, api.ConsoleTicket{Kind: t.Kind, Token: t.Token, WSURL: u.String(), Expires: t.Expires})
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
// then the console service proxies until the console ends.
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
		e := s.wireError(c, err)
		ev.Result = "denied:" + e.Code
		if e.Status >= 500 || e.Status == http.StatusConflict {
			ev.Result = "error:" + e.Code
		}
		ev.Reason = truncate(e.Message, 200)
		s.writeAudit(ev)
		return err
	}
	if !isWebSocket(r) {
		return refuse("", CodeUpgradeRequired.New("this URL speaks WebSocket only"))
	}
	raw := c.Query("token")
	if raw == "" {
		return refuse("", fault.CodeBadRequest.New("the token parameter is missing; ask POST /api/v1/vms/{name}/console for one"))
	}
	// Before the token is spent: a page of another site must not burn it.
	// A bearer request cannot come from a page (browsers' WebSocket API
	// sends no Authorization header), so a script need not send an Origin;
	// one it sends must still be ours.
	_, bearer := tokenOf(c)
	if !ownOrigin(r, !bearer) {
		return refuse("", CodeBadOrigin.New("console connections are accepted from the portal's own pages only"))
	}
	binding, err := s.consoleBindingOf(c)
	if err != nil {
		return refuse("", s.internal(c, "session id", err))
	}
	con, guest, err := s.consoles.Open(r.Context(), sess.Principal(), binding, raw)
	if err != nil {
		return refuse(guest, err)
	}
	defer con.Release() // after the close is audited: shutdown waits for it
	ws, err := AcceptConsole(c.Writer, r)
	if err != nil {
		// Accept has answered the client already.
		ev.Target, ev.Result, ev.Reason = "vm:"+guest, "error:handshake", truncate(err.Error(), 200)
		s.writeAudit(ev)
		return nil
	}
	// Input messages are small (keys, pointer, pasted text); a bound keeps
	// a misbehaving page from streaming one endless message.
	ws.SetReadLimit(1 << 20)
	ev.Target, ev.Result, ev.Reason = "vm:"+guest, "ok", "kind="+con.Kind
	s.writeAudit(ev)
	s.log.Info("console opened", "request_id", ev.ReqID, "guest", guest, "kind", con.Kind, "user", identity)

	res := con.Run(ws)
	dur := s.now().Sub(con.Opened)
	ev.Action, ev.Reason = "vm.console.close", fmt.Sprintf("reason=%s; duration=%s; kind=%s; bytes_from_guest=%d; bytes_to_guest=%d",
		res.Reason.Text, dur.Round(time.Millisecond), con.Kind, res.FromGuest, res.ToGuest)
	s.writeAudit(ev)
	s.log.Info("console closed", "request_id", ev.ReqID, "guest", guest, "kind", con.Kind, "user", identity,
		"reason", res.Reason.Text, "duration", dur, "err", res.Err)
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
