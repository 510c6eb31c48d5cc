package handlers

import (
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/virt"
)

// Scope names the object a route acts on: the kind of resolver and the path
// parameter holding the object's name or id. The zero Scope is no object.
type Scope struct {
	Kind  string // "guest", "host", "task", "token", "pool", "volume"; later network, template
	Param string // path parameter, without the colon
}

// IsZero reports whether the route acts on no object.
func (sc Scope) IsZero() bool { return sc.Kind == "" }

func (sc Scope) String() string {
	if sc.IsZero() {
		return ""
	}
	return sc.Kind + ":" + sc.Param
}

func guestScope(param string) Scope { return Scope{Kind: "guest", Param: param} }
func hostScope(param string) Scope  { return Scope{Kind: "host", Param: param} }
func taskScope(param string) Scope  { return Scope{Kind: "task", Param: param} }
func tokenScope(param string) Scope { return Scope{Kind: "token", Param: param} }

// A resolver turns a scope's path parameter into the object for caller p
// and decides perm on it. It answers 404 for an object that does not exist
// or that p may not see (so names do not leak), 403 when p sees it but may
// not do this, and 400 for a malformed name.
type resolver struct {
	// Target is the audit target's prefix: "vm" makes "vm:web01".
	Target string
	// Valid reports whether a raw parameter is well-formed, so that only
	// such ones reach the audit log.
	Valid func(id string) bool
	// Resolve returns the object the handler acts on.
	Resolve func(c *gin.Context, p rbac.Principal, perm rbac.Permission, id string) (any, error)
}

// initScopes is the one place resolvers are registered.
func (s *Server) initScopes() {
	s.scopes = map[string]resolver{
		"guest":  {Target: "vm", Valid: func(id string) bool { return virt.ValidateName(id) == nil }, Resolve: s.resolveGuest},
		"host":   {Target: "host", Valid: validHostName, Resolve: s.resolveHost},
		"task":   {Target: "task", Valid: validTaskID, Resolve: s.resolveTask},
		"token":  {Target: "token", Valid: tokenIDRE.MatchString, Resolve: s.resolveToken},
		"pool":   {Target: "pool", Valid: validPoolName, Resolve: s.resolvePool},
		"volume": {Target: "volume", Valid: validVolumeName, Resolve: s.resolveVolume},
		// Networks (issue 9).
		"network": {Target: "network", Valid: validNetworkName, Resolve: s.resolveNetwork},
		// Uploads (issue 9).
		"upload": {Target: "upload", Valid: validUploadID, Resolve: s.resolveUpload},
		// Templates (issue 10).
		"template": {Target: "template", Valid: validTemplateID, Resolve: s.resolveTemplate},
	}
}

const keyObject = "vp.object" // the object a scoped route resolved

// scoped is the resolved object of a scoped route.
type scoped struct {
	Kind, ID string
	Obj      any
}

// objectOf returns the object the route's scope resolved, typed.
func objectOf[T any](c *gin.Context) (T, bool) {
	var zero T
	v, ok := c.Get(keyObject)
	if !ok {
		return zero, false
	}
	o, ok := v.(scoped).Obj.(T)
	return o, ok
}

// guestOf is the guest a guest-scoped route acts on: its name on the
// host of the route ({name} alone: the host the server answers for).
func guestOf(c *gin.Context) api.GuestRef {
	g, _ := objectOf[api.GuestRef](c)
	return g
}

// hostRef is the host a host-scoped route acts on.
type hostRef struct {
	Name string
}

// resolveGuest validates the name and decides perm on the guest.
func (s *Server) resolveGuest(c *gin.Context, p rbac.Principal, perm rbac.Permission, name string) (any, error) {
	if err := virt.ValidateName(name); err != nil {
		return nil, err
	}
	g := s.guests.Ref(name)
	if err := s.guests.Decide(p, perm, g); err != nil {
		return nil, err
	}
	if !s.d.Virt.Exists(name) {
		return nil, virt.GuestNotFound(name)
	}
	return g, nil
}

// localHost is the one host's name unless the config names it.
const localHost = virt.DefaultHost

// CodeHostNotFound answers a host name the portal does not manage.
var CodeHostNotFound = fault.Define("host_not_found", fault.NotFound)

// validHostName accepts the names a host registry may use.
func validHostName(id string) bool { return virt.ValidateName(id) == nil }

// resolveHost knows the one host of this version; any other name is not found.
func (s *Server) resolveHost(_ *gin.Context, p rbac.Principal, perm rbac.Permission, name string) (any, error) {
	if !validHostName(name) {
		return nil, fault.CodeInvalidName.New("a host name must start with a letter or digit and contain only letters, digits, '.', '_', '+' and '-'")
	}
	if name != s.opt.Host {
		return nil, CodeHostNotFound.New("host %q not found", name)
	}
	ok, err := s.d.Authz.Allowed(p, perm)
	if err != nil {
		return nil, fault.Internalf(err)
	}
	if !ok {
		return nil, fault.CodeForbidden.New("your role may not %s %s", perm.Action, perm.Object)
	}
	return hostRef{Name: name}, nil
}

// checkScope refuses, at start-up, a scope the table cannot honour.
func (s *Server) checkScope(rt Route) error {
	if rt.Scope.IsZero() {
		return nil
	}
	if _, ok := s.scopes[rt.Scope.Kind]; !ok {
		return fmt.Errorf("handlers: route %s %s has unknown scope %q", rt.Method, rt.Path, rt.Scope.Kind)
	}
	if rt.Perm.IsPublic() {
		return fmt.Errorf("handlers: route %s %s is scoped but public", rt.Method, rt.Path)
	}
	if !hasParam(rt.Path, rt.Scope.Param) {
		return fmt.Errorf("handlers: route %s %s names %s parameter %q it does not have", rt.Method, rt.Path, rt.Scope.Kind, rt.Scope.Param)
	}
	return nil
}

// resolveScope runs the route's resolver and keeps the object for the handler.
func (s *Server) resolveScope(c *gin.Context, rt Route, p rbac.Principal) error {
	r := s.scopes[rt.Scope.Kind]
	id := c.Param(rt.Scope.Param)
	obj, err := r.Resolve(c, p, rt.Perm, id)
	if err != nil {
		return err
	}
	c.Set(keyObject, scoped{Kind: rt.Scope.Kind, ID: id, Obj: obj})
	return nil
}

// auditTarget names the route's object for the audit log: the resolved one,
// or a well-formed parameter; a malformed one is never stored as sent.
func (s *Server) auditTarget(c *gin.Context, rt Route) string {
	if rt.Scope.IsZero() {
		return c.GetString(keyTarget) // set by handlers whose object has no scope (tokens)
	}
	r, ok := s.scopes[rt.Scope.Kind]
	if !ok {
		return ""
	}
	if v, ok := c.Get(keyObject); ok {
		return r.Target + ":" + v.(scoped).ID
	}
	if id := c.Param(rt.Scope.Param); r.Valid(id) {
		return r.Target + ":" + id
	}
	return r.Target + ":?" // malformed: refused with 400, never recorded as sent
}
