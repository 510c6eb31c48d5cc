package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/consoles"
	"github.com/virtportal/virtportal/services/events"
	"github.com/virtportal/virtportal/services/login"
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

func (s *Server) login(c *gin.Context) error {
	var req api.LoginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	out, err := s.d.Login.Login(c.Request.Context(), login.Attempt{Realm: req.Realm, Username: req.Username,
		Password: req.Password, Addr: c.ClientIP()})
	if out.Actor != "" {
		c.Set(keyActor, out.Actor)
	}
	if out.Reason != "" {
		c.Set(keyReason, out.Reason)
	}
	if err != nil {
		s.loginFailed(req.Realm)
		if out.Reason == auth.ReasonUnavailable {
			s.log.Warn("realm unavailable", "request_id", c.GetString(keyReqID), "realm", req.Realm, "err", err)
		}
		return err
	}
	data, err := s.d.Sessions.Login(c.Writer, c.Request, out.Principal)
	if err != nil {
		return s.internal(c, "session create", err)
	}
	c.Set(keySession, data)
	c.JSON(http.StatusOK, sessionBody(data))
	return nil
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
	if use, ok := tokenOf(c); ok {
		// A token has no session to end; saying 204 would let a script
		// believe it had ended its access.
		return fault.CodeBadRequest.New("an API token has no session; revoke it with DELETE /api/v1/tokens/%s", use.Token.ID)
	}
	id, err := s.d.Sessions.CurrentID(c.Request)
	if err != nil {
		return s.internal(c, "logout", err)
	}
	if err := s.d.Sessions.Logout(c.Writer, c.Request); err != nil {
		return s.internal(c, "logout", err)
	}
	// The session's consoles and event streams end with it.
	s.endSessionConsoles(id, consoles.ReasonLoggedOut)
	s.d.Events.EndSession(id, events.EndLogout)
	c.Status(http.StatusNoContent)
	return nil
}
