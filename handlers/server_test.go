package handlers

import (
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/static"
	"github.com/virtportal/virtportal/store"
)

func TestEveryRouteHasAPermission(t *testing.T) {
	s := &Server{}
	s.initScopes()
	table := map[string]Route{}
	for _, rt := range (&Server{}).routes() {
		table[rt.Method+" "+rt.Path] = rt
	}
	srv := mustServer(t)
	for _, gr := range srv.GinRoutes() {
		rt, ok := table[gr.Method+" "+gr.Path]
		if !ok {
			t.Errorf("gin serves %s %s, which is not in the route table", gr.Method, gr.Path)
			continue
		}
		if rt.Perm.IsZero() {
			t.Errorf("%s %s has no permission", gr.Method, gr.Path)
		}
	}
	if len(srv.GinRoutes()) != len(table) {
		t.Errorf("gin has %d routes, the table %d", len(srv.GinRoutes()), len(table))
	}
	bad := []Route{
		{Method: "GET", Path: "/x", Handle: s.healthz},
		{Method: "POST", Path: "/x", Perm: rbac.Public, Handle: s.healthz},
		{Method: "GET", Path: "/x/:id", Perm: perm("vm", "read"), Scope: guestScope("name"), Handle: s.healthz},
		{Method: "GET", Path: "/x/:id", Perm: perm("vm", "read"), Scope: Scope{Kind: "nope", Param: "id"}, Handle: s.healthz},
		{Method: "GET", Path: "/x/:name", Perm: rbac.Public, Scope: guestScope("name"), Handle: s.healthz},
		{Method: "GET", Path: "/x", Perm: rbac.Public},
	}
	for i, rt := range bad {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			if err := s.register(gin.New(), []Route{rt}); err == nil {
				t.Fatalf("route %+v registered; want a start-up error", rt)
			}
		})
	}
}

// mustServer builds a Server just to read its Gin route list.
func mustServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{}, Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestErrorsAreJSON(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	shutoff := e.guestIn(api.StateShutoff)
	cases := []struct {
		name         string
		method, path string
		body         any
		hdr          []string
		status       int
		code         string
	}{
		{"unknown api route", "GET", "/api/v1/nope", nil, nil, 404, "not_found"},
		{"unknown page", "GET", "/nope", nil, nil, 404, "not_found"},
		{"wrong method", "PUT", "/api/v1/session", nil, nil, 405, "method_not_allowed"},
		{"malformed json", "POST", "/api/v1/session", `{"realm":`, nil, 400, "bad_request"},
		{"unknown field", "POST", "/api/v1/session", `{"realm":"local","user":"x"}`, nil, 400, "bad_request"},
		{"trailing data", "POST", "/api/v1/session", `{"realm":"local"} {}`, nil, 400, "bad_request"},
		{"not json", "POST", "/api/v1/session", `realm=local`, []string{"Content-Type", "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"},
		{"body over the limit", "POST", "/api/v1/session", `{"realm":"local","username":"` + strings.Repeat("a", 10<<20) + `"}`, nil, 413, "too_large"},
		{"bad guest name", "GET", "/api/v1/vms/bad*name", nil, nil, 400, "invalid_name"},
		{"dotdot guest name", "POST", "/api/v1/vms/..%2Fetc/start", nil, nil, 400, "invalid_name"},
		{"long guest name", "GET", "/api/v1/vms/" + strings.Repeat("a", 65), nil, nil, 400, "invalid_name"},
		{"unknown guest", "GET", "/api/v1/vms/no-such-guest", nil, nil, 404, "guest_not_found"},
		{"bad sort", "GET", "/api/v1/vms?sort=evil", nil, nil, 400, "unknown_sort"},
		{"bad state", "GET", "/api/v1/vms?state=dancing", nil, nil, 400, "unknown_state"},
		{"bad volumes flag", "DELETE", "/api/v1/vms/" + shutoff + "?volumes=maybe", nil, nil, 400, "bad_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.do(tc.method, tc.path, tc.body, tc.hdr...)
			want(t, r, tc.status, tc.code)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type %q", ct)
			}
		})
	}
	if got := e.stateOf(shutoff); got != api.StateShutoff {
		t.Fatalf("a refused request changed %s to %s", shutoff, got)
	}
}

func TestLogin(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		name, realm, user, pw string
		status                int
		reason                string
	}{
		{"good", "local", "admin", testPassword, 200, ""},
		{"wrong password", "local", "alice", "nope", 401, "bad_password"},
		{"unknown user", "local", "mallory", testPassword, 401, "unknown_user"},
		{"wildcard", "local", "*", testPassword, 401, "invalid_input"},
		{"filter injection", "local", "admin)(uid=*", testPassword, 401, "invalid_input"},
		{"backslash", "local", `ad\min`, testPassword, 401, "invalid_input"},
		{"nul", "local", "admin\x00", testPassword, 401, "invalid_input"},
		{"10 kB name", "local", strings.Repeat("a", 10<<10), testPassword, 401, "invalid_input"},
		{"non-utf8", "local", "adm\xffin", testPassword, 401, "invalid_input"},
		{"empty password", "local", "admin", "", 401, "invalid_input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.client().login(tc.realm, tc.user, tc.pw)
			if r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
			if tc.status == 401 && !strings.Contains(string(r.body), "invalid username or password") {
				t.Fatalf("failure tells the client more than it should: %s", r.body)
			}
			evs := e.audit(store.AuditFilter{Action: "session.login", Limit: 1})
			if len(evs) == 0 {
				t.Fatal("login not audited")
			}
			if tc.status == 401 && (evs[0].Reason != tc.reason || !strings.HasPrefix(evs[0].Result, "error:")) {
				t.Fatalf("audit %+v, want reason %s", evs[0], tc.reason)
			}
		})
	}
	t.Run("unknown realm", func(t *testing.T) {
		want(t, e.client().login("nis", "admin", testPassword), 400, "unknown_realm")
	})
	t.Run("session answer", func(t *testing.T) {
		c := e.as("local", "admin")
		var s api.Session
		c.do("GET", "/api/v1/session", nil).decode(t, &s)
		if s.Identity != "local:admin" || !slices.Contains(s.Roles, "admin") || s.CSRFToken == "" {
			t.Fatalf("session %+v", s)
		}
	})
	if strings.Contains(e.logs.String(), testPassword) {
		t.Fatal("a password reached the log")
	}
	for _, ev := range e.audit(store.AuditFilter{Limit: 1000}) {
		if strings.Contains(ev.Actor+ev.Reason+ev.Target, testPassword) {
			t.Fatalf("a password reached the audit log: %+v", ev)
		}
	}
}

func TestSessionCookie(t *testing.T) {
	for _, tlsOn := range []bool{false, true} {
		t.Run("tls="+strconv.FormatBool(tlsOn), func(t *testing.T) {
			e := newEnv(t, withOptions(func(o *Options) { o.TLS = tlsOn }))
			r := e.client().login("local", "admin", testPassword)
			want(t, r, 200, "")
			cookies := (&http.Response{Header: r.header}).Cookies()
			if len(cookies) != 1 {
				t.Fatalf("cookies %v", cookies)
			}
			ck := cookies[0]
			if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure != tlsOn {
				t.Fatalf("cookie flags %+v", ck)
			}
			if tlsOn && r.header.Get("Strict-Transport-Security") == "" {
				t.Fatal("no HSTS under TLS")
			}
		})
	}
}

func TestSessionLifecycle(t *testing.T) {
	e := newEnv(t)
	c := e.as("local", "alice")
	first := c.http.Jar.Cookies(mustURL(e.url))
	// Logging in again on the same browser gives a new id and kills the old one.
	want(t, c.login("local", "admin", testPassword), 200, "")
	second := c.http.Jar.Cookies(mustURL(e.url))
	if first[0].Value == second[0].Value {
		t.Fatal("session id kept across login")
	}
	replay := e.client()
	replay.http.Jar.SetCookies(mustURL(e.url), first)
	want(t, replay.do("GET", "/api/v1/session", nil), 401, "unauthorized")

	// Logout deletes the server-side session: the old cookie is worthless.
	want(t, c.do("DELETE", "/api/v1/session", nil), 204, "")
	replay.http.Jar.SetCookies(mustURL(e.url), second)
	want(t, replay.do("GET", "/api/v1/session", nil), 401, "unauthorized")
	if evs := e.audit(store.AuditFilter{Action: "session.logout"}); len(evs) != 1 || evs[0].Actor != "local:admin" {
		t.Fatalf("logout audit %+v", evs)
	}
	// A forged cookie is no session.
	forged := e.client()
	forged.http.Jar.SetCookies(mustURL(e.url), []*http.Cookie{{Name: "virtportal_session", Value: "forged"}})
	want(t, forged.do("GET", "/api/v1/session", nil), 401, "unauthorized")
}

func TestCSRF(t *testing.T) {
	e := newEnv(t)
	c := e.as("local", "admin")
	vm := e.guestIn(api.StateShutoff)
	path := "/api/v1/vms/" + vm + "/start"
	want(t, c.do("POST", path, nil, csrfHeader, ""), 403, "csrf")
	want(t, c.do("POST", path, nil, csrfHeader, "wrong"), 403, "csrf")
	want(t, c.do("POST", path, nil, "Origin", "https://evil.example"), 403, "bad_origin")
	if got := e.stateOf(vm); got != api.StateShutoff {
		t.Fatalf("refused request started the guest: %s", got)
	}
	want(t, c.do("DELETE", "/api/v1/session", nil, csrfHeader, ""), 403, "csrf")
	if evs := e.audit(store.AuditFilter{Action: "vm.start"}); len(evs) != 3 || !strings.HasPrefix(evs[0].Result, "denied:") {
		t.Fatalf("refusals not audited as denied: %+v", evs)
	}
	var denied api.AuditList
	c.do("GET", "/api/v1/audit?result=denied:*", nil).decode(t, &denied)
	if len(denied.Items) != 4 {
		t.Fatalf("result=denied:* finds %d events, want the 4 refusals", len(denied.Items))
	}
	want(t, c.do("POST", path, nil), 200, "")
	if got := e.stateOf(vm); got != api.StateRunning {
		t.Fatalf("state %s after start", got)
	}
}

func TestThrottle(t *testing.T) {
	// A stopped clock: the 1 s delays must not pass while slow checks run.
	stopped := time.Now()
	e := newEnv(t, withOptions(func(o *Options) { o.Now = func() time.Time { return stopped } }))
	for i := range 5 {
		want(t, e.client().login("local", "alice", "wrong"+strconv.Itoa(i)), 401, "unauthorized")
	}
	// A new browser (no cookie) and the right password are throttled all the same.
	r := e.client().login("local", "alice", testPassword)
	want(t, r, 429, "too_many_requests")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// Another identity from the same address is not throttled yet...
	e.as("local", "admin")
	// ...until the address has failed too often, whatever names it tries.
	for i := range 15 {
		e.client().login("local", "user"+strconv.Itoa(i), "x")
	}
	want(t, e.client().login("local", "admin", testPassword), 429, "too_many_requests")
	if evs := e.audit(store.AuditFilter{Action: "session.login", Limit: 1}); evs[0].Reason != "throttled" {
		t.Fatalf("throttled login audited as %+v", evs[0])
	}
}

// Regression (issue 8 §7): failed logins for admin from rotating addresses
// locked the real admin out. Behind a trusted proxy each attacker address is
// its own client; the admin's clean address still gets in.
func TestThrottleSparesCleanAddress(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.TrustedProxies = []string{"127.0.0.1"} }))
	for i := range 30 {
		want(t, e.client().do("POST", "/api/v1/session", api.LoginRequest{Realm: "local", Username: "admin", Password: "guess"},
			"X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)), 401, "unauthorized")
	}
	want(t, e.client().do("POST", "/api/v1/session", api.LoginRequest{Realm: "local", Username: "admin", Password: testPassword},
		"X-Forwarded-For", "203.0.113.3"), 429, "too_many_requests")
	want(t, e.client().do("POST", "/api/v1/session", api.LoginRequest{Realm: "local", Username: "admin", Password: testPassword},
		"X-Forwarded-For", "192.0.2.10"), 200, "")
}

func TestRoles(t *testing.T) {
	e := newEnv(t)
	running := e.guestIn(api.StateRunning)
	shutoff := e.guestIn(api.StateShutoff)
	users := map[string]*client{
		"admin":   e.as("local", "admin"),
		"auditor": e.as("test", "audrey"),
		"user":    e.as("local", "alice"),
		"anon":    e.client(),
	}
	cases := []struct {
		method, path string
		want         map[string]int
	}{
		{"GET", "/api/v1/vms", map[string]int{"admin": 200, "auditor": 200, "user": 200, "anon": 401}},
		{"GET", "/api/v1/vms/" + running, map[string]int{"admin": 200, "auditor": 200, "user": 404, "anon": 401}},
		{"POST", "/api/v1/vms/" + running + "/suspend", map[string]int{"auditor": 403, "user": 404, "anon": 401, "admin": 200}},
		{"DELETE", "/api/v1/vms/" + shutoff, map[string]int{"auditor": 403, "user": 404, "anon": 401, "admin": 204}},
		{"GET", "/api/v1/host", map[string]int{"admin": 200, "auditor": 200, "user": 403, "anon": 401}},
		{"GET", "/api/v1/audit", map[string]int{"admin": 200, "auditor": 200, "user": 403, "anon": 401}},
		{"GET", "/api/v1/session", map[string]int{"admin": 200, "auditor": 200, "user": 200, "anon": 401}},
		{"GET", "/api/v1/directory/users", map[string]int{"admin": 200, "auditor": 403, "user": 403, "anon": 401}},
		{"GET", "/api/v1/directory/groups", map[string]int{"admin": 200, "auditor": 403, "user": 403, "anon": 401}},
		{"GET", "/api/v1/realms", map[string]int{"admin": 200, "auditor": 200, "user": 200, "anon": 200}},
		{"GET", "/healthz", map[string]int{"anon": 200}},
		{"GET", "/readyz", map[string]int{"anon": 200}},
	}
	// Admin last, since its requests change state.
	order := []string{"anon", "user", "auditor", "admin"}
	for _, tc := range cases {
		for _, who := range order {
			status, ok := tc.want[who]
			if !ok {
				continue
			}
			t.Run(who+" "+tc.method+" "+tc.path, func(t *testing.T) {
				want(t, users[who].do(tc.method, tc.path, nil), status, "")
			})
		}
	}
	t.Run("a user sees no guests", func(t *testing.T) {
		var l api.VMList
		users["user"].do("GET", "/api/v1/vms", nil).decode(t, &l)
		if l.Total != 0 || len(l.Items) != 0 {
			t.Fatalf("user sees %d guests", l.Total)
		}
	})
	t.Run("an unknown and a foreign guest look the same to a user", func(t *testing.T) {
		a := users["user"].do("GET", "/api/v1/vms/"+running, nil)
		b := users["user"].do("GET", "/api/v1/vms/zz-no-such", nil)
		if a.status != b.status || strings.Replace(string(a.body), running, "X", 1) != strings.Replace(string(b.body), "zz-no-such", "X", 1) {
			t.Fatalf("foreign %s vs unknown %s", a.body, b.body)
		}
	})
}

func TestGuestActions(t *testing.T) {
	e := newEnv(t)
	c := e.as("local", "admin")
	vm := e.guestIn(api.StateShutoff)
	p := "/api/v1/vms/" + vm
	steps := []struct {
		action string
		status int
		state  string
		code   string // of a refusal
	}{
		{"start", 200, api.StateRunning, ""},
		{"start", 409, api.StateRunning, "guest_running"},
		{"resume", 409, api.StateRunning, "guest_not_paused"},
		{"suspend", 200, api.StatePaused, ""},
		{"start", 409, api.StatePaused, "guest_paused"},
		{"resume", 200, api.StateRunning, ""},
		{"reboot", 200, api.StateRunning, ""},
		{"reset", 200, api.StateRunning, ""},
		{"poweroff", 200, api.StateShutoff, ""},
		{"poweroff", 409, api.StateShutoff, "guest_not_running"},
		{"shutdown", 409, api.StateShutoff, "guest_not_running"},
	}
	for i, s := range steps {
		t.Run(strconv.Itoa(i)+"-"+s.action, func(t *testing.T) {
			r := c.do("POST", p+"/"+s.action, nil)
			want(t, r, s.status, s.code)
			if s.status == 200 {
				var got api.VM
				r.decode(t, &got)
				if got.State != s.state {
					t.Fatalf("answer says %s, want %s", got.State, s.state)
				}
			} else if !strings.Contains(string(r.body), vm) {
				t.Fatalf("409 without a clear message: %s", r.body)
			}
			if got := e.stateOf(vm); got != s.state {
				t.Fatalf("guest is %s, want %s", got, s.state)
			}
		})
	}
	t.Run("delete refuses a running guest", func(t *testing.T) {
		running := e.guestIn(api.StateRunning)
		want(t, c.do("DELETE", "/api/v1/vms/"+running, nil), 409, "guest_running")
		if !e.vm.Exists(running) {
			t.Fatal("running guest deleted")
		}
	})
	t.Run("delete", func(t *testing.T) {
		want(t, c.do("DELETE", p, nil), 204, "")
		want(t, c.do("GET", p, nil), 404, "guest_not_found")
		evs := e.audit(store.AuditFilter{Target: "vm:" + vm, Action: "vm.delete"})
		if len(evs) != 1 || evs[0].Result != "ok" || evs[0].Actor != "local:admin" || evs[0].Client == "" {
			t.Fatalf("delete audit %+v", evs)
		}
	})
	if n := len(e.audit(store.AuditFilter{Target: "vm:" + vm, Limit: 1000})); n != len(steps)+1 {
		t.Fatalf("%d audit events for %d mutating requests", n, len(steps)+1)
	}
}

func TestListQuery(t *testing.T) {
	e := newEnv(t)
	c := e.as("local", "admin")
	var all api.VMList
	c.do("GET", "/api/v1/vms", nil).decode(t, &all)
	if all.Total != len(all.Items) || all.Total < 20 {
		t.Fatalf("demo host lists %d guests", all.Total)
	}
	for _, v := range all.Items {
		// The test driver reports state only: no figure may pose as a measured 0.
		if v.UsageReported {
			t.Fatalf("%s claims usage figures the test driver never reports", v.Name)
		}
	}
	var running api.VMList
	c.do("GET", "/api/v1/vms?state=running", nil).decode(t, &running)
	if running.Total == 0 || running.Total == all.Total {
		t.Fatalf("state filter kept %d of %d", running.Total, all.Total)
	}
	for _, v := range running.Items {
		if v.State != api.StateRunning {
			t.Fatalf("%s is %s", v.Name, v.State)
		}
	}
	var desc api.VMList
	c.do("GET", "/api/v1/vms?sort=-name", nil).decode(t, &desc)
	if !slices.IsSortedFunc(desc.Items, func(a, b api.VM) int { return strings.Compare(b.Name, a.Name) }) {
		t.Fatal("not sorted by name descending")
	}
	needle := all.Items[0].Name[:3]
	var found api.VMList
	c.do("GET", "/api/v1/vms?q="+strings.ToUpper(needle), nil).decode(t, &found)
	if found.Total == 0 {
		t.Fatalf("q=%s found nothing", needle)
	}
	for _, v := range found.Items {
		if !strings.Contains(strings.ToLower(v.Name), strings.ToLower(needle)) {
			t.Fatalf("%s does not match %s", v.Name, needle)
		}
	}
}

func TestHealthAndPages(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	var h api.Health
	r := c.do("GET", "/readyz", nil)
	want(t, r, 200, "")
	r.decode(t, &h)
	if h.Checks["libvirt"] != "ok" || h.Checks["database"] != "ok" {
		t.Fatalf("readyz %+v", h)
	}
	for _, p := range []string{"/", "/login", "/guests", "/guests/web01"} {
		r := c.do("GET", p, nil)
		want(t, r, 200, "")
		if !strings.Contains(r.header.Get("Content-Security-Policy"), "default-src 'self'") || r.header.Get("X-Frame-Options") != "DENY" {
			t.Fatalf("%s security headers %v", p, r.header)
		}
		if !strings.Contains(string(r.body), "/static/app.js?v=") {
			t.Fatalf("%s does not load the bundle", p)
		}
	}
	r = c.do("GET", "/static/app.js", nil)
	want(t, r, 200, "")
	if cc := r.header.Get("Cache-Control"); cc != "no-cache" {
		t.Fatalf("app.js without ?v= is revalidated: Cache-Control %q", cc)
	}
	// The page chunks are named by their content: cached for good.
	chunks, _ := fs.Glob(static.FS, "dist/guests-*.js")
	if len(chunks) != 1 {
		t.Fatalf("the guests page chunk: %v", chunks)
	}
	r = c.do("GET", "/static/"+path.Base(chunks[0]), nil)
	want(t, r, 200, "")
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Fatalf("%s: Cache-Control %q", chunks[0], cc)
	}
	want(t, c.do("GET", "/static/guests-AAAAAAAA.js", nil), 404, "not_found")
	want(t, c.do("GET", "/static/../go.mod", nil), 404, "")
	want(t, c.do("GET", "/static/nope.js", nil), 404, "not_found")
}

func TestDirectory(t *testing.T) {
	e := newEnv(t)
	c := e.as("local", "admin")
	var l api.DirList
	want(t, c.do("GET", "/api/v1/directory/users?realm=local&q=ALI", nil), 200, "")
	c.do("GET", "/api/v1/directory/users?realm=local&q=ALI", nil).decode(t, &l)
	if len(l.Items) != 1 || l.Items[0].Name != "alice" || l.Items[0].Realm != "local" || l.Items[0].Kind != "user" {
		t.Fatalf("search: %+v", l)
	}
	c.do("GET", "/api/v1/directory/users?q=%25", nil).decode(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("%% matched as a wildcard: %+v", l)
	}
	c.do("GET", "/api/v1/directory/users?limit=1", nil).decode(t, &l)
	if len(l.Items) != 1 || !l.Truncated {
		t.Fatalf("cap: %+v", l)
	}
	want(t, c.do("GET", "/api/v1/directory/users?realm=nis", nil), 400, "unknown_realm")
	want(t, c.do("GET", "/api/v1/directory/groups?limit=0", nil), 400, "bad_request")
	want(t, c.do("GET", "/api/v1/directory/users?q="+strings.Repeat("a", 200), nil), 400, "bad_request")
}

func TestReadyzWithoutLibvirt(t *testing.T) {
	e := newEnv(t)
	if err := e.vm.Close(); err != nil {
		t.Fatal(err)
	}
	r := e.client().do("GET", "/readyz", nil)
	want(t, r, 503, "")
	var h api.Health
	r.decode(t, &h)
	if h.Checks["libvirt"] != "unreachable" || h.Checks["database"] != "ok" {
		t.Fatalf("readyz %+v", h)
	}
	want(t, e.client().do("GET", "/healthz", nil), 200, "")
}

func TestGroupRefresh(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	e := newEnv(t, withOptions(func(o *Options) { o.GroupRefresh = time.Minute; o.Now = clock }))
	c := e.as("local", "alice")
	want(t, c.do("GET", "/api/v1/host", nil), 403, "forbidden")
	if err := e.st.SetAdmin(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	// Within the interval the session keeps what it captured at login...
	want(t, c.do("GET", "/api/v1/host", nil), 403, "forbidden")
	// ...after it, the realm is asked again.
	offset.Store(int64(2 * time.Minute))
	want(t, c.do("GET", "/api/v1/host", nil), 200, "")
	var s api.Session
	c.do("GET", "/api/v1/session", nil).decode(t, &s)
	if !slices.Equal(s.Roles, []string{"admin"}) {
		t.Fatalf("roles after refresh %v", s.Roles)
	}
	if err := e.st.SetDisabled(t.Context(), "alice", true); err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(4 * time.Minute))
	want(t, c.do("GET", "/api/v1/session", nil), 401, "unauthorized")
	// A realm without refresh (the test realm) keeps its login-time groups.
	g := e.as("test", "gina")
	offset.Store(int64(10 * time.Minute))
	want(t, g.do("GET", "/api/v1/session", nil), 200, "")
}

func TestBrowserNiceties(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	for _, p := range []string{"/guests", "/static/app.js", "/healthz"} {
		r := c.do("HEAD", p, nil)
		if r.status != 200 || len(r.body) != 0 {
			t.Fatalf("HEAD %s: %d with %d body bytes", p, r.status, len(r.body))
		}
	}
	r := c.do("GET", "/guests/a/b", nil, "Accept", "text/html,application/xhtml+xml")
	if r.status != 404 || !strings.Contains(string(r.body), "/static/app.js?v=") {
		t.Fatalf("a browser on an unknown page gets %d %.80s", r.status, r.body)
	}
	want(t, c.do("GET", "/api/v1/nope", nil, "Accept", "text/html"), 404, "not_found")
	want(t, c.do("GET", "/static/app.js.map", nil), 404, "not_found")
	// Descending sorts reverse the key, not the name tie-break.
	admin := e.as("local", "admin")
	var l api.VMList
	admin.do("GET", "/api/v1/vms?sort=-memory", nil).decode(t, &l)
	for i := 1; i < len(l.Items); i++ {
		a, b := l.Items[i-1], l.Items[i]
		if a.MemoryMiB < b.MemoryMiB || (a.MemoryMiB == b.MemoryMiB && a.Name > b.Name) {
			t.Fatalf("%s (%d) before %s (%d)", a.Name, a.MemoryMiB, b.Name, b.MemoryMiB)
		}
	}
}
