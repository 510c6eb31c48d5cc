package handlers

import (
	"context"
	"math"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/events"
)

func (s *Server) listRealms(c *gin.Context) error {
	out := api.Realms{Items: []api.Realm{}}
	for _, r := range s.d.Realms.All() {
		out.Items = append(out.Items, api.Realm{Name: r.Name(), Label: r.Label()})
	}
	out.Default = out.Items[0].Name
	c.JSON(http.StatusOK, out)
	return nil
}

// errBadLogin is the one answer to every failed login, whatever the reason.
func errBadLogin() error { return api.Unauthorized("invalid username or password") }

func (s *Server) login(c *gin.Context) error {
	var req api.LoginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	realm, ok := s.d.Realms.Get(req.Realm)
	if !ok {
		return api.BadRequest("unknown realm %q", truncate(req.Realm, 32))
	}
	// Recorded even when the name is junk, cut short so the log stays readable.
	c.Set(keyActor, realm.Name()+":"+truncate(req.Username, 64))
	ctx, now, addr := c.Request.Context(), s.now(), c.ClientIP()
	wait, err := s.d.Throttle.Check(ctx, realm.Name(), req.Username, addr, now)
	if err != nil {
		return s.internal(c, "throttle check", err)
	}
	if wait > 0 {
		c.Set(keyReason, "throttled")
		secs := int(math.Ceil(wait.Seconds()))
		retryAfter(c, secs)
		return api.TooManyRequests("too many failed logins; try again in %d s", secs)
	}
	p, err := s.authenticate(ctx, realm, req)
	if err != nil {
		reason := auth.LoginReason(err)
		if reason == "" {
			reason = auth.ReasonUnavailable
		}
		c.Set(keyReason, reason)
		if reason == auth.ReasonUnavailable {
			s.log.Warn("realm unavailable", "request_id", c.GetString(keyReqID), "realm", realm.Name(), "err", err)
			return api.Unavailable("the %s realm is unavailable; try again later", realm.Label())
		}
		if ferr := s.d.Throttle.Failed(ctx, realm.Name(), req.Username, addr, now); ferr != nil {
			return s.internal(c, "throttle record", ferr)
		}
		return errBadLogin()
	}
	if err := s.d.Throttle.Succeeded(ctx, realm.Name(), req.Username); err != nil {
		return s.internal(c, "throttle reset", err)
	}
	data, err := s.d.Sessions.Login(c.Writer, c.Request, p)
	if err != nil {
		return s.internal(c, "session create", err)
	}
	c.Set(keySession, data)
	c.JSON(http.StatusOK, sessionBody(data))
	return nil
}

// authenticate checks the credentials' shape before a realm sees them: a name
// with wildcards, parentheses, NULs or control characters never reaches a
// directory, and fails like a wrong password.
func (s *Server) authenticate(ctx context.Context, realm auth.Realm, req api.LoginRequest) (rbac.Principal, error) {
	if !auth.ValidUsername(req.Username) || req.Password == "" || len(req.Password) > auth.MaxPasswordLen {
		return rbac.Principal{}, auth.Fail(auth.ReasonInvalid, nil)
	}
	return realm.Authenticate(ctx, req.Username, req.Password)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func sessionBody(d auth.SessionData) api.Session {
	groups, roles := d.Groups, d.Roles
	if groups == nil {
		groups = []string{}
	}
	if roles == nil {
		roles = []string{}
	}
	return api.Session{Identity: d.ID(), Realm: d.Realm, Username: d.Name, Roles: roles,
		Groups: groups, CSRFToken: d.CSRF, Expires: d.Expires}
}

func (s *Server) getSession(c *gin.Context) error {
	d, _ := sessionOf(c)
	c.JSON(http.StatusOK, sessionBody(d))
	return nil
}

func (s *Server) logout(c *gin.Context) error {
	id, err := s.d.Sessions.CurrentID(c.Request)
	if err != nil {
		return s.internal(c, "logout", err)
	}
	if err := s.d.Sessions.Logout(c.Writer, c.Request); err != nil {
		return s.internal(c, "logout", err)
	}
	// The session's consoles and event streams end with it.
	s.endSessionConsoles(id, reasonLoggedOut)
	s.d.Events.EndSession(id, events.EndLogout)
	c.Status(http.StatusNoContent)
	return nil
}
