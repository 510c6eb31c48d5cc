package handlers

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

// Route is one line of the route table. Every route names its permission;
// guest-scoped routes name the path parameter holding the guest; unsafe
// routes name their audit action.
type Route struct {
	Method string
	Path   string
	Perm   rbac.Permission
	VM     string // path parameter with the guest's name, or ""
	Audit  string // audit action for unsafe methods, e.g. "vm.start"
	Handle func(*gin.Context) error

	// Documentation and limits (the OpenAPI document is generated from them).
	Summary   string        // one line for the API reference
	In, Out   any           // request and response body types (zero values of api types), nil: none
	BodyLimit int64         // bytes; 0: the server's default; -1: unlimited (the handler bounds it)
	Timeout   time.Duration // 0: the server's default; -1: none (event streams)
}

func perm(object, action string) rbac.Permission {
	return rbac.Permission{Object: object, Action: action}
}

func (s *Server) routes() []Route {
	public := rbac.Public
	rs := []Route{
		{Method: "GET", Path: "/healthz", Perm: public, Handle: s.healthz},
		{Method: "GET", Path: "/readyz", Perm: public, Handle: s.readyz},
		{Method: "GET", Path: "/static/*file", Perm: public, Handle: s.staticFile},

		{Method: "GET", Path: "/api/v1/realms", Perm: public, Handle: s.listRealms},
		{Method: "POST", Path: "/api/v1/session", Perm: public, Audit: "session.login", Handle: s.login},
		{Method: "GET", Path: "/api/v1/session", Perm: perm("session", "self"), Handle: s.getSession},
		{Method: "DELETE", Path: "/api/v1/session", Perm: perm("session", "self"), Audit: "session.logout", Handle: s.logout},

		{Method: "GET", Path: "/api/v1/host", Perm: perm("host", "read"), Handle: s.getHost},
		{Method: "GET", Path: "/api/v1/audit", Perm: perm("audit", "read"), Handle: s.listAudit},
		{Method: "GET", Path: "/api/v1/directory/users", Perm: perm("directory", "read"), Handle: s.searchDirectory(false)},
		{Method: "GET", Path: "/api/v1/directory/groups", Perm: perm("directory", "read"), Handle: s.searchDirectory(true)},

		{Method: "GET", Path: "/api/v1/vms", Perm: perm("vm", "list"), Handle: s.listVMs},
		{Method: "GET", Path: "/api/v1/vms/:name", Perm: perm("vm", "read"), VM: "name", Handle: s.getVM},
		{Method: "DELETE", Path: "/api/v1/vms/:name", Perm: perm("vm", "delete"), VM: "name", Audit: "vm.delete", Handle: s.deleteVM},
		{Method: "GET", Path: "/api/v1/vms/:name/access", Perm: perm("access", "read"), VM: "name", Handle: s.getAccess},
		{Method: "PUT", Path: "/api/v1/vms/:name/access", Perm: perm("access", "write"), VM: "name", Audit: "vm.access.set", Handle: s.putAccess},
		{Method: "PATCH", Path: "/api/v1/vms/:name/access", Perm: perm("access", "write"), VM: "name", Audit: "vm.access.change", Handle: s.patchAccess},
		{Method: "GET", Path: "/api/v1/vms/:name/screenshot", Perm: perm("vm", "read"), VM: "name", Handle: s.screenshot},

		// Consoles: a one-time token for a guest, then the WebSocket, whose
		// guest comes from the token (its handler decides vm:console itself).
		{Method: "POST", Path: "/api/v1/vms/:name/console", Perm: perm("vm", "console"), VM: "name", Audit: "vm.console.token", Handle: s.consoleToken},
		{Method: "GET", Path: "/api/v1/console/ws", Perm: perm("session", "self"), Handle: s.consoleSocket},
	}
	for _, a := range api.VMActions {
		rs = append(rs, Route{Method: "POST", Path: "/api/v1/vms/:name/" + a, Perm: perm("vm", "power"), VM: "name",
			Audit: "vm." + a, Handle: s.vmAction(a)})
	}
	// The browser app's pages: the shell is public, the app asks for a session.
	for _, p := range []string{"/", "/guests", "/guests/:name", "/templates", "/storage", "/networks", "/host", "/audit", "/account"} {
		rs = append(rs, Route{Method: "GET", Path: p, Perm: public, Handle: s.appPage})
	}
	rs = append(rs, Route{Method: "GET", Path: "/login", Perm: public, Handle: s.loginPage})
	return rs
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// register adds the routes to Gin, refusing any that would fail open.
func (s *Server) register(e *gin.Engine, rs []Route) error {
	for _, rt := range rs {
		switch {
		case rt.Perm.IsZero():
			return fmt.Errorf("handlers: route %s %s has no permission", rt.Method, rt.Path)
		case rt.Handle == nil:
			return fmt.Errorf("handlers: route %s %s has no handler", rt.Method, rt.Path)
		case unsafeMethod(rt.Method) && rt.Audit == "":
			return fmt.Errorf("handlers: unsafe route %s %s has no audit action", rt.Method, rt.Path)
		case rt.VM != "" && !hasParam(rt.Path, rt.VM):
			return fmt.Errorf("handlers: route %s %s names guest parameter %q it does not have", rt.Method, rt.Path, rt.VM)
		}
		e.Handle(rt.Method, rt.Path, s.chain(rt))
	}
	return nil
}

func hasParam(path, name string) bool {
	for i := 0; i+len(name)+1 <= len(path); i++ {
		if path[i] == ':' && path[i+1:i+1+len(name)] == name && (i+1+len(name) == len(path) || path[i+1+len(name)] == '/') {
			return true
		}
	}
	return false
}
