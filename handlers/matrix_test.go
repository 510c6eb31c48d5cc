package handlers

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/policy"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
)

// matrixCaller is one column of the authorization matrix.
type matrixCaller struct {
	name   string
	realm  string
	user   string            // "" for the anonymous caller
	grants map[string]string // guest → the role its grants give this caller
}

// matrixTarget is an object a scoped route is asked about.
type matrixTarget struct {
	label  string
	id     string
	exists bool
	bad    bool   // malformed: 400 for everyone logged in
	owner  string // the caller owning it (tasks)
}

// TestAuthorizationMatrix asks every route of the table, about every kind
// of object of its scope, as every kind of caller, and expects what the
// permission and the policy say: A passes authorization (whatever the
// handler then answers), F 403, H 404 (hidden or missing), U 401, B 400
// (malformed name). Nothing here is a hand-kept list of routes: a new route
// is covered as soon as it is in the table, and a new scope fails the test
// until it has targets below.
func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	target := e.guestIn(api.StateShutoff)
	foreign := ""
	vms, err := e.vm.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vms {
		if v.Name != target && v.State == api.StateShutoff {
			foreign = v.Name
			break
		}
	}
	if foreign == "" {
		t.Fatal("the fixture needs two shut-off guests")
	}
	err = e.vm.SetGrants(context.Background(), target, []api.Grant{
		{Kind: "user", Realm: "local", Name: "mgr", Role: rbac.RoleManager},
		{Kind: "user", Realm: "local", Name: "op", Role: rbac.RoleOperator},
		{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer},
		{Kind: "group", Realm: "test", Name: "crew", Role: rbac.RoleOperator},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.vm.SetGrants(context.Background(), foreign, nil); err != nil {
		t.Fatal(err)
	}
	callers := []matrixCaller{ // admin last: its requests change the most
		{name: "anon"},
		{name: "nogrant", realm: "local", user: "alice"},
		{name: "group", realm: "test", user: "gina", grants: map[string]string{target: rbac.RoleOperator}},
		{name: "viewer", realm: "local", user: "view", grants: map[string]string{target: rbac.RoleViewer}},
		{name: "operator", realm: "local", user: "op", grants: map[string]string{target: rbac.RoleOperator}},
		{name: "manager", realm: "local", user: "mgr", grants: map[string]string{target: rbac.RoleManager}},
		{name: "auditor", realm: "test", user: "audrey"},
		{name: "admin", realm: "local", user: "admin"},
	}
	// A task of the operator's, ended: a cancel that passes authorization answers 409.
	task, err := e.st.CreateTask(context.Background(), store.Task{Kind: "test", Owner: "local:op", Status: store.TaskDone})
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string][]matrixTarget{
		"guest": {
			{label: "granted", id: target, exists: true},
			{label: "foreign", id: foreign, exists: true},
			{label: "missing", id: "no-such-guest"},
			{label: "malformed", id: "bad*name", bad: true},
		},
		"task": {
			{label: "operator's", id: strconv.FormatInt(task.ID, 10), exists: true, owner: "operator"},
			{label: "missing", id: "999999"},
		},
		"token": {
			{label: "operator's", id: "optoken", exists: true, owner: "operator"},
			{label: "missing", id: "notoken"},
		},
		"pool": {
			{label: "default", id: "default", exists: true},
			{label: "missing", id: "no-such-pool"},
			{label: "malformed", id: "bad*pool", bad: true},
		},
		"volume": { // in the default pool: the granted guest's disk
			{label: "in use", id: target + ".qcow2", exists: true},
			{label: "missing", id: "no-such.qcow2"},
			{label: "malformed", id: "..", bad: true},
		},
		"network": { // used by guests: stopping and deleting it are refused
			{label: "default", id: "default", exists: true},
			{label: "missing", id: "no-such-net"},
			{label: "malformed", id: "bad*net", bad: true},
		},
		"upload": { // an upload in progress in the default pool
			{label: "in progress", id: matrixUpload, exists: true},
			{label: "missing", id: "0123456789abcdef0123456789abcdef"},
			{label: "malformed", id: "bad*id", bad: true},
		},
		"template": { // templates (issue 10): the admin's copy and delete run last
			{label: "debian", id: strconv.FormatInt(matrixTemplate(t, e), 10), exists: true},
			{label: "missing", id: "999999"},
			{label: "malformed", id: "bad*id", bad: true},
		},
		"host": {
			{label: "local", id: "local", exists: true},
			{label: "elsewhere", id: "elsewhere"},
			{label: "malformed", id: "bad*host", bad: true},
		},
	}
	// An upload in progress whose volume does not exist: the admin's
	// DELETE removes the record (a volume already gone is no error).
	if err := e.st.CreateUpload(context.Background(), store.Upload{ID: matrixUpload, Host: "local", Pool: "default", Volume: "matrix-up.img",
		Format: "raw", Size: 10, Owner: "local:admin", Created: time.Now(), Updated: time.Now(), Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// A token of the operator's.
	if err := e.st.CreateToken(context.Background(), "vpt_matrix", store.APIToken{ID: "optoken", Realm: "local", Username: "op",
		Name: "matrix", Created: time.Now(), Expires: time.Now().Add(time.Hour)}, 50); err != nil {
		t.Fatal(err)
	}
	// The policy, as Casbin reads it, role by role; no grants, no server.
	pol, err := rbac.New(policy.Model, policy.Policy, nil)
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*client{}
	principals := map[string]rbac.Principal{}
	for _, who := range callers {
		if who.user == "" {
			clients[who.name] = e.client()
			continue
		}
		c := e.as(who.realm, who.user)
		var sess api.Session
		c.do("GET", "/api/v1/session", nil).decode(t, &sess)
		clients[who.name] = c
		principals[who.name] = rbac.Principal{Realm: sess.Realm, Name: sess.Username, Groups: sess.Groups, Roles: sess.Roles}
	}
	allows := func(roles []string, p rbac.Permission) bool {
		for _, r := range roles {
			ok, err := pol.RoleAllows(r, p)
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				return true
			}
		}
		return false
	}
	expect := func(rt Route, who matrixCaller, tg matrixTarget) byte {
		switch {
		case rt.Perm.IsPublic():
			return 'A'
		case who.user == "":
			return 'U'
		case rt.Scope.IsZero():
			return map[bool]byte{true: 'A', false: 'F'}[allows(principals[who.name].Roles, rt.Perm)]
		case tg.bad:
			return 'B'
		case !tg.exists:
			return 'H'
		}
		roles := principals[who.name].Roles
		if rt.Scope.Kind == "guest" {
			if r := who.grants[tg.id]; r != "" {
				roles = append(slices.Clone(roles), r)
			}
			if !allows(roles, rbac.Permission{Object: "vm", Action: "read"}) && !allows(roles, rt.Perm) {
				return 'H'
			}
		}
		if (rt.Scope.Kind == "pool" || rt.Scope.Kind == "volume" || rt.Scope.Kind == "upload") && !allows(roles, permPoolRead) {
			return 'H'
		}
		if rt.Scope.Kind == "network" && !allows(roles, permNetRead) {
			return 'H'
		}
		if rt.Scope.Kind == "template" && !allows(roles, permTemplateRead) {
			return 'H'
		}
		if rt.Scope.Kind == "token" && tg.owner != who.name && !allows(roles, permTokensAll) {
			return 'H'
		}
		if rt.Scope.Kind == "task" && tg.owner != who.name {
			if !allows(roles, tasks.PermReadAll) {
				return 'H'
			}
			if rt.Perm == tasks.PermCancel {
				return map[bool]byte{true: 'A', false: 'F'}[allows(roles, tasks.PermCancelAll)]
			}
		}
		return map[bool]byte{true: 'A', false: 'F'}[allows(roles, rt.Perm)]
	}

	routes := (&Server{}).routes()
	// Requests that end something run last: stopping and deleting pools,
	// deleting guests, then logging out.
	last := map[string]int{"DELETE /api/v1/vms/:name": 1, "DELETE /api/v1/session": 2, "DELETE /api/v1/templates/:id": 1,
		"POST /api/v1/hosts/:host/pools/:pool/stop": 1, "DELETE /api/v1/hosts/:host/pools/:pool": 1}
	slices.SortStableFunc(routes, func(a, b Route) int { return last[a.Method+" "+a.Path] - last[b.Method+" "+b.Path] })
	for _, rt := range routes {
		tgs := []matrixTarget{{label: "-"}}
		if !rt.Scope.IsZero() {
			var ok bool
			if tgs, ok = targets[rt.Scope.Kind]; !ok {
				t.Errorf("route %s %s has scope %q, which the matrix has no targets for", rt.Method, rt.Path, rt.Scope.Kind)
				continue
			}
		}
		for _, tg := range tgs {
			path := fillPath(rt, tg.id, target)
			for _, who := range callers {
				want := expect(rt, who, tg)
				t.Run(rt.Method+" "+rt.Path+"/"+tg.label+"/"+who.name, func(t *testing.T) {
					var r resp
					if rt.Timeout < 0 && rt.Method == http.MethodGet { // a stream never ends: its status is enough
						r = clients[who.name].status(rt.Method, path)
					} else {
						r = clients[who.name].do(rt.Method, path, nil)
					}
					got := byte('A')
					switch {
					case r.status == http.StatusUnauthorized:
						got = 'U'
					case r.status == http.StatusForbidden:
						got = 'F'
					case r.status == http.StatusNotFound && matrixSubObject[r.errCode()]:
						got = 'A' // the guest passed; the sub-object the path names is missing
					case r.status == http.StatusNotFound:
						got = 'H'
					case r.status == http.StatusBadRequest && r.errCode() == "invalid_name":
						got = 'B'
					}
					if got != want {
						t.Fatalf("%s %s as %s: got %d %s, want %c", rt.Method, path, who.name, r.status, r.body, want)
					}
				})
			}
		}
	}
}

// matrixSubObject are the 404 codes of objects inside a guest that the
// matrix's paths name but the fixture lacks (issue 11: a snapshot named
// like the guest): authorization passed before the handler looked.
var matrixSubObject = map[string]bool{"snapshot_not_found": true}

// matrixTemplate stores a template for the matrix and returns its id.
func matrixTemplate(t *testing.T, e *env) int64 {
	t.Helper()
	tp := cloudTemplate("matrix")
	tp.Host, tp.Firmware, tp.Graphics = "local", "bios", "vnc"
	x, err := e.st.CreateTemplate(context.Background(), tp)
	if err != nil {
		t.Fatal(err)
	}
	return x.ID
}

// matrixUpload is the id of the matrix's upload in progress.
const matrixUpload = "00112233445566778899aabbccddeeff"

// fillPath puts id in the route's scope parameter and plain values in the others.
func fillPath(rt Route, id, guest string) string {
	parts := strings.Split(rt.Path, "/")
	for i, p := range parts {
		switch {
		case p == "":
		case !rt.Scope.IsZero() && p == ":"+rt.Scope.Param:
			parts[i] = id
		case p == "*file":
			parts[i] = "app.js"
		case p == ":host":
			parts[i] = "local"
		case p == ":pool":
			parts[i] = "default"
		case p == ":target" && i == len(parts)-1:
			// A guest's disk (issue 11), detached with a bad
			// delete_volume: refused after authorization (400), so
			// that every caller's request leaves the disk in place.
			parts[i] = "vda?delete_volume=maybe"
		case p == ":target":
			parts[i] = "vda" // a disk, not a CD-ROM: media changes answer 409
		case p[0] == ':' || p[0] == '*':
			parts[i] = guest
		}
	}
	return strings.Join(parts, "/")
}

// A revoke holds on the very next request of a session that is already open.
func TestRevokeHoldsOnNextRequest(t *testing.T) {
	e := newEnv(t)
	a := e.guestIn(api.StateShutoff)
	if err := e.vm.SetGrants(context.Background(), a, []api.Grant{{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	viewer := e.as("local", "view")
	want(t, viewer.do("GET", "/api/v1/vms/"+a, nil), 200, "")
	admin := e.as("local", "admin")
	want(t, admin.do("PATCH", "/api/v1/vms/"+a+"/access", api.AccessPatch{Remove: []api.Grant{{Kind: "user", Realm: "local", Name: "view"}}}), 200, "")
	want(t, viewer.do("GET", "/api/v1/vms/"+a, nil), 404, "guest_not_found")
}
