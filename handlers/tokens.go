package handlers

// Personal API tokens (issue 8 §6): the routes, and the bearer half of
// authentication that loadSession calls.

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/consoles"
	"github.com/virtportal/virtportal/services/events"
	"github.com/virtportal/virtportal/services/tokens"
	"github.com/virtportal/virtportal/store"
)

// keyToken holds the checked tokens.Use of a bearer-authenticated request.
const keyToken = "vp.token"

var (
	codeTokenNeedsSession = fault.Define("token_needs_session", fault.Forbidden)
	codeAuthAmbiguous     = fault.Define("auth_ambiguous", fault.Invalid)
)

// permTokensAll lets a caller list and revoke everyone's tokens; only the
// admin role's "*" grants it.
var permTokensAll = rbac.Permission{Object: "token", Action: "admin"}

var tokenIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// bearerOf returns the token of an "Authorization: Bearer …" header, and
// whether the header was a bearer one at all. Other schemes are not ours
// (a proxy's Basic auth) and are ignored.
func bearerOf(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// tokenOf returns the API token that authenticated the request, if one did.
func tokenOf(c *gin.Context) (tokens.Use, bool) {
	u, ok := c.Get(keyToken)
	if !ok {
		return tokens.Use{}, false
	}
	use, ok := u.(tokens.Use)
	return use, ok
}

// loadBearer authenticates a request by its API token, as its owner with
// the owner's current roles. It reports false after refusing the request.
func (s *Server) loadBearer(c *gin.Context, secret string) bool {
	// A cookie and a token at once: which one acts? Neither; a client
	// sending both is confused, and guessing would pick the wrong CSRF rule.
	if _, err := c.Request.Cookie(auth.CookieName); err == nil {
		s.render(c, codeAuthAmbiguous.New("send either the session cookie or an Authorization bearer token, not both"))
		c.Abort()
		return false
	}
	if s.d.Tokens == nil { // a server built without a store (route listing)
		s.render(c, fault.CodeUnavailable.New("API tokens are not available"))
		c.Abort()
		return false
	}
	use, err := s.d.Tokens.Authenticate(c.Request.Context(), secret)
	if err != nil {
		if fault.Is(err, tokens.CodeInvalid) {
			ev := api.AuditEvent{Action: "token.refused", Client: c.ClientIP(), ReqID: c.GetString(keyReqID),
				Result: "denied:" + codeOf(err), Reason: "reason=" + use.Reason + "; " + c.Request.Method + " " + truncate(c.Request.URL.Path, 200)}
			if use.Token.ID != "" { // never the secret
				ev.Actor, ev.Target = use.Token.Owner(), "token:"+use.Token.ID
			}
			s.writeAudit(ev)
		}
		s.render(c, err)
		c.Abort()
		return false
	}
	p := use.Principal
	// The bearer's caller travels as session data so that every handler
	// sees one kind of caller; it has no CSRF secret, and guard skips the
	// CSRF check for it (keyToken set).
	c.Set(keySession, auth.SessionData{Realm: p.Realm, Name: p.Name, Groups: p.Groups, Roles: p.Roles, Only: p.Only,
		Created: use.Token.Created, Expires: use.Token.Expires})
	c.Set(keyToken, use)
	return true
}

// codeTokenPermission answers a token permission no route needs.
var codeTokenPermission = fault.Define("token_bad_permission", fault.Unprocessable)

// tokenPermissions checks a new token's limit: each entry a permission
// some route of the table needs (metrics:read, vm:read, …), at most 16.
func (s *Server) tokenPermissions(in []string) ([]rbac.Permission, error) {
	if len(in) > 16 {
		return nil, codeTokenPermission.New("a token is limited to at most 16 permissions").WithDetails([]fault.Detail{{Field: "permissions", Message: "at most 16"}})
	}
	var out []rbac.Permission
	for i, v := range in {
		p, ok := rbac.ParsePermission(v)
		if ok {
			ok = slices.Contains(s.perms, p)
		}
		if !ok {
			return nil, codeTokenPermission.New("%q is not a permission of this API (e.g. metrics:read)", truncate(v, 64)).
				WithDetails([]fault.Detail{{Field: fmt.Sprintf("permissions[%d]", i), Message: "not a permission of this API"}})
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func tokenBody(t store.APIToken) api.Token {
	out := api.Token{ID: t.ID, Name: t.Name, Owner: t.Owner(), Created: t.Created, Expires: t.Expires, Permissions: t.Permissions}
	if !t.LastUsed.IsZero() {
		lu := t.LastUsed
		out.LastUsed = &lu
	}
	return out
}

// createToken answers POST /api/v1/tokens. Only a browser session may
// make tokens: a leaked token must not be able to mint more (and outlive
// its own revocation through them).
func (s *Server) createToken(c *gin.Context) error {
	if _, ok := tokenOf(c); ok {
		return codeTokenNeedsSession.New("API tokens are made from a signed-in session, not with another token")
	}
	var req api.TokenRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if err := tokens.ValidName(req.Name); err != nil {
		return err
	}
	exp, err := tokens.Expiry(s.now(), req.Expires, req.ExpiresInDays)
	if err != nil {
		return err
	}
	only, err := s.tokenPermissions(req.Permissions)
	if err != nil {
		return err
	}
	sess, _ := sessionOf(c)
	t, secret, err := s.d.Tokens.Create(c.Request.Context(), sess.Principal(), req.Name, exp, only...)
	if err != nil {
		return err
	}
	c.Set(keyTarget, "token:"+t.ID)
	c.JSON(http.StatusCreated, api.NewToken{Token: tokenBody(t), Secret: secret})
	return nil
}

// listTokens answers GET /api/v1/tokens: the caller's own; with ?all=true
// an administrator's view of everyone's.
func (s *Server) listTokens(c *gin.Context) error {
	sess, _ := sessionOf(c)
	owner := sess.ID()
	switch c.Query("all") {
	case "", "false":
	case "true":
		ok, err := s.d.Authz.Allowed(sess.Principal(), permTokensAll)
		if err != nil {
			return s.internal(c, "authorize", err)
		}
		if !ok {
			return fault.CodeForbidden.New("only administrators list everyone's tokens")
		}
		owner = ""
	default:
		return fault.CodeBadRequest.New("all is true or false")
	}
	ts, err := s.d.Tokens.List(c.Request.Context(), owner)
	if err != nil {
		return err
	}
	out := api.TokenList{Items: make([]api.Token, 0, len(ts))}
	for _, t := range ts {
		out.Items = append(out.Items, tokenBody(t))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// resolveToken is the token scope: a live token of the caller's own, or
// any for an administrator (token:admin); someone else's answers as one
// that does not exist.
func (s *Server) resolveToken(c *gin.Context, p rbac.Principal, perm rbac.Permission, id string) (any, error) {
	if !tokenIDRE.MatchString(id) {
		return nil, fault.CodeBadRequest.New("malformed token id")
	}
	if ok, err := s.d.Authz.Allowed(p, perm); err != nil || !ok {
		if err != nil {
			return nil, fault.Internalf(err)
		}
		return nil, fault.CodeForbidden.New("your role may not %s %s", perm.Action, perm.Object)
	}
	if s.d.Store == nil {
		return nil, store.CodeTokenNotFound.New("no such token")
	}
	t, err := s.d.Store.Token(c.Request.Context(), id)
	if err != nil {
		return nil, err
	}
	if t.Owner() != p.ID() {
		if all, err := s.d.Authz.Allowed(p, permTokensAll); err != nil || !all {
			return nil, store.CodeTokenNotFound.New("no such token")
		}
	}
	return t, nil
}

// revokeToken answers DELETE /api/v1/tokens/{id}; the scope decided whose.
// Revoking a revoked token is done already: DELETE is idempotent, so a
// script may retry it.
func (s *Server) revokeToken(c *gin.Context) error {
	t, _ := objectOf[store.APIToken](c)
	if !t.Revoked.IsZero() {
		c.Status(http.StatusNoContent)
		return nil
	}
	t, err := s.d.Tokens.Revoke(c.Request.Context(), t.ID, "")
	if err != nil {
		return err
	}
	// Consoles opened with the token end with it.
	s.endSessionConsoles(tokenBinding(t.ID), consoles.ReasonRevoked)
	s.d.Events.EndSession(tokenBinding(t.ID), events.EndRevoked)
	c.Status(http.StatusNoContent)
	return nil
}

// tokenBinding is what console tokens and live consoles of a bearer caller
// are bound to in place of a session id: the API token's id, in a space
// no session id can take (session ids have no ':').
func tokenBinding(id string) string { return "apitoken:" + id }
