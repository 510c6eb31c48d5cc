package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
)

// Context keys.
const (
	keyReqID     = "vp.reqid"
	keySession   = "vp.session"
	keyActor     = "vp.actor"   // identity to audit when there is no session (login)
	keyReason    = "vp.reason"  // audit reason class, never shown to the client
	keyRetry     = "vp.retry"   // seconds for the Retry-After of a 429
	keySkipAudit = "vp.noaudit" // a handler's success not worth a record (a tus chunk that does not complete the upload)
	keyTarget    = "vp.target"  // audit target of a route without a guest ("task:42")
)

const csrfHeader = "X-CSRF-Token"

var reqIDRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader("X-Request-ID")
	if !reqIDRE.MatchString(id) {
		id = auth.RandomToken(12)
	}
	c.Set(keyReqID, id)
	c.Header("X-Request-ID", id)
	c.Next()
}

func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic", "request_id", c.GetString(keyReqID), "panic", v, "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				s.render(c, fault.Internalf(nil))
			}
			c.Abort()
		}
	}()
	c.Next()
}

func (s *Server) accessLog(c *gin.Context) {
	start := time.Now()
	c.Next()
	user := ""
	if d, ok := sessionOf(c); ok {
		user = d.ID()
	}
	// The path only: query strings may carry one-time tokens.
	s.log.LogAttrs(c.Request.Context(), slog.LevelInfo, "http",
		slog.String("request_id", c.GetString(keyReqID)),
		slog.String("method", c.Request.Method),
		slog.String("path", c.Request.URL.Path),
		slog.Int("status", c.Writer.Status()),
		slog.Duration("duration", time.Since(start)),
		slog.String("user", user),
		slog.String("client", c.ClientIP()),
		slog.Int("bytes", c.Writer.Size()),
	)
}

const csp = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'"

// setSecurityHeaders sets the headers every response carries (the edge
// calls it before Gin, so redirects have them too).
func (s *Server) setSecurityHeaders(h http.Header, path string, https bool) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Content-Security-Policy", csp)
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	if https {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	if strings.HasPrefix(path, "/api/") {
		h.Set("Cache-Control", "no-store")
	}
}

// limitBody refuses a body over limit bytes (-1: no limit; the handler
// bounds what it reads): at once when Content-Length says so, else when
// the handler reads past it.
func limitBody(c *gin.Context, limit int64) error {
	if limit < 0 {
		return nil
	}
	if c.Request.ContentLength > limit {
		return fault.CodeTooLarge.New("request body exceeds %d bytes", limit)
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, limit)
	return nil
}

// limits applies a route's own body limit and deadlines. Handler set the
// server's defaults for every request; a route with its own timeout moves
// the connection's read and write deadlines (-1: none, for event streams
// and uploads) and bounds the handler's context the same way.
func (s *Server) limits(c *gin.Context, rt Route) (cancel context.CancelFunc, err error) {
	limit := rt.BodyLimit
	if limit == 0 {
		limit = s.opt.BodyLimit
	}
	if err := limitBody(c, limit); err != nil {
		return func() {}, err
	}
	if rt.Timeout == 0 {
		ctx, cancel := context.WithTimeout(c.Request.Context(), s.opt.WriteTimeout)
		c.Request = c.Request.WithContext(ctx)
		return cancel, nil
	}
	var read, write time.Time // zero: no deadline
	if rt.Timeout > 0 {
		read = time.Now().Add(rt.Timeout) // the real clock: tests may set s.now
		write = read
	}
	rc := http.NewResponseController(c.Writer)
	_ = rc.SetReadDeadline(read) // ErrNotSupported under a recorder: nothing to bound there
	_ = rc.SetWriteDeadline(write)
	if rt.Timeout < 0 {
		return func() {}, nil
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), rt.Timeout)
	c.Request = c.Request.WithContext(ctx)
	return cancel, nil
}

func (s *Server) loadSession(c *gin.Context) {
	// API tokens (issue 8 §6): a bearer request authenticates by its token
	// alone (handlers/tokens.go); it never reads or writes a cookie session.
	if secret, ok := bearerOf(c.Request); ok {
		if s.loadBearer(c, secret) {
			c.Next()
		}
		return
	}
	data, ok, err := s.d.Sessions.Current(c.Request)
	if err != nil {
		s.log.Error("session load", "request_id", c.GetString(keyReqID), "err", err)
		s.render(c, CodeStoreDown.New("session store unavailable"))
		c.Abort()
		return
	}
	if ok {
		if data, ok = s.refreshSession(c, data); ok {
			c.Set(keySession, data)
		}
	}
	c.Next()
}

// refreshSession applies auth's refresh verdict: the cookie and the log.
func (s *Server) refreshSession(c *gin.Context, data auth.SessionData) (auth.SessionData, bool) {
	res := s.d.Realms.RefreshSession(c.Request.Context(), data, s.opt.GroupRefresh, s.now())
	if res.End {
		if res.Reason != "" {
			s.log.Info("session ended: user gone or disabled", "request_id", c.GetString(keyReqID), "user", data.ID(), "reason", res.Reason)
		}
		_ = s.d.Sessions.Logout(c.Writer, c.Request)
		return data, false
	}
	if res.Err != nil {
		s.log.Warn("group refresh failed; keeping the groups from login", "request_id", c.GetString(keyReqID), "user", data.ID(), "err", res.Err)
	}
	if res.Changed {
		if err := s.d.Sessions.Update(c.Writer, c.Request, res.Data); err != nil {
			s.log.Error("session update", "request_id", c.GetString(keyReqID), "err", err)
		}
	}
	return res.Data, true
}

func sessionOf(c *gin.Context) (auth.SessionData, bool) {
	v, ok := c.Get(keySession)
	if !ok {
		return auth.SessionData{}, false
	}
	d, ok := v.(auth.SessionData)
	return d, ok
}

// ownOrigin reports whether r's Origin is the portal's own page: the same
// scheme and host as the public URL when one is set, otherwise as the
// request itself (HTTPS when TLS or a trusted proxy says so). A request
// without an Origin passes unless required: browsers send one on unsafe
// requests and WebSocket handshakes, so only a script can leave it out.
func ownOrigin(r *http.Request, required bool) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return !required
	}
	want, ok := r.Context().Value(keyOrigin).(string)
	if !ok {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		want = normOrigin(scheme + "://" + r.Host)
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Path == "" &&
		normOrigin(u.Scheme+"://"+u.Host) == want
}

// chain builds the per-route part of the chain: limits → CSRF → scope and
// permission → handler,
// then the audit record for unsafe methods, then the one error renderer.
func (s *Server) chain(rt Route) gin.HandlerFunc {
	return func(c *gin.Context) {
		cancel, err := s.limits(c, rt)
		defer cancel()
		if err == nil {
			err = s.guard(c, rt)
		}
		denied := err != nil
		if err == nil {
			err = rt.Handle(c)
		}
		if unsafeMethod(rt.Method) && !c.GetBool(keySkipAudit) {
			s.audit(c, rt, err, denied)
		}
		if err != nil {
			s.render(c, err)
		}
	}
}

// guard runs CSRF and permission checks for one route.
func (s *Server) guard(c *gin.Context, rt Route) error {
	sess, loggedIn := sessionOf(c)
	if unsafeMethod(rt.Method) {
		if !ownOrigin(c.Request, false) {
			return CodeBadOrigin.New("cross-origin request refused")
		}
		// API tokens: a bearer-authenticated request carries no cookie (a
		// request with both is refused in loadSession), so no other site
		// can make a browser send it: CSRF does not apply.
		_, bearer := tokenOf(c)
		if loggedIn && !bearer && !sess.CSRFMatches(c.GetHeader(csrfHeader)) {
			return CodeCSRF.New("missing or invalid %s header", csrfHeader)
		}
	}
	if rt.Perm.IsPublic() {
		return nil
	}
	if !loggedIn {
		return fault.CodeUnauthorized.New("login required")
	}
	p := sess.Principal()
	if !rt.Scope.IsZero() {
		return s.resolveScope(c, rt, p)
	}
	ok, err := s.d.Authz.Allowed(p, rt.Perm)
	if err != nil {
		return s.internal(c, "authorize", err)
	}
	if !ok {
		return fault.CodeForbidden.New("your role may not %s %s", rt.Perm.Action, rt.Perm.Object)
	}
	return nil
}

// internal logs err with the request id and returns the opaque internal
// fault (without the cause, so the renderer does not log it again).
func (s *Server) internal(c *gin.Context, what string, err error) error {
	s.log.Error(what, "request_id", c.GetString(keyReqID), "err", err)
	return fault.Internalf(nil)
}

// audit records one unsafe request.
func (s *Server) audit(c *gin.Context, rt Route, err error, denied bool) {
	ev := api.AuditEvent{
		Action: rt.Audit,
		Client: c.ClientIP(),
		ReqID:  c.GetString(keyReqID),
		Result: "ok",
		Reason: c.GetString(keyReason),
	}
	if d, ok := sessionOf(c); ok {
		ev.Actor = d.ID()
	} else {
		ev.Actor = c.GetString(keyActor)
	}
	ev.Target = s.auditTarget(c, rt)
	if use, ok := tokenOf(c); ok {
		// Which token acted, so a leak can be traced and its use listed.
		ev.Reason = strings.TrimPrefix(ev.Reason+"; token="+use.Token.ID, "; ")
	}
	if t := c.GetString(keyTarget); t != "" {
		ev.Target = t
	}
	if err != nil {
		code := codeOf(err)
		ev.Result = "error:" + code
		if denied {
			ev.Result = "denied:" + code
		}
	}
	s.writeAudit(ev)
}

// writeAudit stores one audit event, stamped now. It runs on its own
// context: the record must outlive a client that hung up.
func (s *Server) writeAudit(ev api.AuditEvent) {
	ev.Time = s.now().UTC()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := s.d.Store.AddAudit(ctx, ev); err != nil {
		s.log.Error("audit write failed", "request_id", ev.ReqID, "action", ev.Action, "err", err)
	}
}
