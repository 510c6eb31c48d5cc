package handlers

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/internal/syncbuf"
	"github.com/virtportal/virtportal/policy"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/login"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
	"github.com/virtportal/virtportal/virt/osinfo"
)

// staticRealm is a fake realm beside the real local one, only to give tests
// callers with global roles the local realm cannot express (auditor).
type staticRealm struct{ users map[string]rbac.Principal }

func (r staticRealm) Name() string  { return "test" }
func (r staticRealm) Label() string { return "Test" }
func (r staticRealm) LookupUser(_ context.Context, name string) (bool, error) {
	_, ok := r.users[name]
	return ok, nil
}

func (r staticRealm) LookupGroup(_ context.Context, name string) (bool, error) {
	for _, p := range r.users {
		if slices.Contains(p.Groups, name) {
			return true, nil
		}
	}
	return false, nil
}

func (r staticRealm) Authenticate(_ context.Context, user, pw string) (rbac.Principal, error) {
	p, ok := r.users[user]
	if !ok || pw != testPassword {
		return rbac.Principal{}, auth.Fail(auth.ReasonBadPassword, nil)
	}
	return p, nil
}

const testPassword = "correct horse battery staple"

type env struct {
	srv  *Server
	t    testing.TB
	url  string
	st   *store.Store
	vm   *virt.Manager
	logs *syncbuf.Buffer
}

// envConfig is what newEnv's options may change.
type envConfig struct {
	opts   Options
	realms []auth.Realm // enabled before the local and test realms
	policy string       // policy.csv text; "" the embedded one
	alter  func([]Route) []Route
	osinfo *osinfo.DB // the host's osinfo database; nil: none
}

type envOpt func(*envConfig)

// withPolicy serves with a custom policy (as policy.file would).
func withPolicy(text string) envOpt { return func(c *envConfig) { c.policy = text } }

// withRoutes changes the route table (test routes beside the real ones).
func withRoutes(f func([]Route) []Route) envOpt { return func(c *envConfig) { c.alter = f } }

// withOptions changes the server's Options.
func withOptions(f func(*Options)) envOpt { return func(c *envConfig) { f(&c.opts) } }

// newEnv starts the real server on a random port over the libvirt test driver
// and a fresh database, with local users admin and alice (a user) and a test
// realm holding an auditor; everything stops in t.Cleanup.
func newEnv(t testing.TB, opts ...envOpt) *env { return newEnvGuests(t, 0, opts...) }

// newEnvGuests is newEnv on a host of n generated guests (0: the demo set).
func newEnvGuests(t testing.TB, n int, opts ...envOpt) *env {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "db", "virtportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	fixture := filepath.Join(dir, "host.xml")
	if err := virt.WriteFixture(fixture, virt.FixtureOptions{Guests: n, Seed: 1, ImagesDir: filepath.Join(dir, "images")}); err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := envConfig{opts: Options{Logger: log, BodyLimit: 64 << 10, Version: "test"}, policy: policy.Policy}
	for _, f := range opts {
		f(&cfg)
	}
	vm := virt.New(virt.Config{URI: "test://" + fixture, Host: cfg.opts.Host, Logger: log, OSInfo: cfg.osinfo})
	if err := vm.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { vm.Close() })
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := vm.WaitReady(wctx); err != nil {
		t.Fatal("libvirt test driver not ready:", err)
	}
	for _, u := range []struct {
		name  string
		admin bool
	}{{"admin", true}, {"alice", false}, {"mgr", false}, {"op", false}, {"view", false}} {
		if err := st.CreateUser(ctx, store.User{Name: u.name, Hash: testHash(), Admin: u.admin}); err != nil {
			t.Fatal(err)
		}
	}
	fleet, err := virt.NewFleet(vm)
	if err != nil {
		t.Fatal(err)
	}
	authz, err := rbac.New(policy.Model, cfg.policy, fleet)
	if err != nil {
		t.Fatal(err)
	}
	realms, err := auth.NewRealms(append(cfg.realms, auth.NewLocal(st), staticRealm{users: map[string]rbac.Principal{
		"audrey": {Realm: "test", Name: "audrey", Roles: []string{rbac.RoleAuditor}},
		"gina":   {Realm: "test", Name: "gina", Groups: []string{"crew"}, Roles: []string{rbac.RoleUser}},
		"carl":   {Realm: "test", Name: "carl", Roles: []string{rbac.RoleUser, rbac.RoleCreator}},
	}})...)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.opts
	srv, err := newServer(o, Deps{Store: st, Virt: vm, Authz: authz, Realms: realms,
		Sessions: auth.NewSessionStore(st, bytes.Repeat([]byte{7}, 64), 30*time.Minute, 12*time.Hour, o.TLS),
		Login:    login.New(realms, login.NewThrottle(st), login.Options{Now: o.Now})}, cfg.alter)
	if err != nil {
		t.Fatal(err)
	}
	var hs *httptest.Server
	if o.TLS {
		hs = httptest.NewTLSServer(srv.Handler())
	} else {
		hs = httptest.NewServer(srv.Handler())
	}
	t.Cleanup(hs.Close)
	return &env{srv: srv, t: t, url: hs.URL, st: st, vm: vm, logs: logs}
}

// client is one browser: a cookie jar and the session's CSRF token.
type client struct {
	e      *env
	http   *http.Client
	csrf   string
	bearer string // an API token's secret, sent as Authorization: Bearer
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: tlsInsecure()}}}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) errCode() string {
	var eb api.ErrorBody
	if json.Unmarshal(r.body, &eb) != nil || eb.Error == nil {
		return ""
	}
	return eb.Error.Code
}

func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request; body may be nil, a string (sent raw) or a value (JSON).
func (c *client) do(method, path string, body any, hdr ...string) resp {
	c.e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, c.e.url+path, rd)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set(csrfHeader, c.csrf)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
		} else {
			req.Header.Set(hdr[i], hdr[i+1])
		}
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// status sends a bodiless request and returns its status and headers
// without reading the body (an event stream never ends).
func (c *client) status(method, path string) resp {
	c.e.t.Helper()
	req, err := http.NewRequest(method, c.e.url+path, nil)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if c.csrf != "" {
		req.Header.Set(csrfHeader, c.csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	r := resp{status: res.StatusCode, header: res.Header}
	if res.StatusCode != http.StatusOK {
		r.body, _ = io.ReadAll(res.Body)
	}
	return r
}

func (c *client) login(realm, user, pw string) resp {
	c.e.t.Helper()
	r := c.do("POST", "/api/v1/session", api.LoginRequest{Realm: realm, Username: user, Password: pw})
	if r.status == http.StatusOK {
		var s api.Session
		r.decode(c.e.t, &s)
		c.csrf = s.CSRFToken
	}
	return r
}

// as returns a client logged in as user of realm, failing the test otherwise.
func (e *env) as(realm, user string) *client {
	e.t.Helper()
	c := e.client()
	if r := c.login(realm, user, testPassword); r.status != http.StatusOK {
		e.t.Fatalf("login %s:%s: %d %s", realm, user, r.status, r.body)
	}
	return c
}

func want(t *testing.T, r resp, status int, code string) {
	t.Helper()
	if r.status != status || (code != "" && r.errCode() != code) {
		t.Fatalf("got %d %s, want %d %s", r.status, r.body, status, code)
	}
}

// guestIn returns the name of a listed guest in state, failing if there is none.
func (e *env) guestIn(state string) string {
	e.t.Helper()
	vms, err := e.vm.List(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, v := range vms {
		if v.State == state {
			return v.Name
		}
	}
	e.t.Fatalf("fixture has no %s guest", state)
	return ""
}

func (e *env) stateOf(name string) string {
	e.t.Helper()
	d, err := e.vm.Get(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return d.State
}

func (e *env) audit(f store.AuditFilter) []api.AuditEvent {
	e.t.Helper()
	evs, err := e.st.ListAudit(context.Background(), f)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// testHash is testPassword's hash with light argon2id parameters, made
// once: the production ones (19 MiB, 2 passes) cost about a second under
// -race, and every suite signs in many times. VerifyPassword honours the
// parameters a hash names, so logins take the real path; the auth package
// tests the production parameters.
var testHash = sync.OnceValue(func() string {
	salt := []byte("virtportal-test!")
	key := argon2.IDKey([]byte(testPassword), salt, 1, 64, 1, 32)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=64,t=1,p=1$%s$%s", argon2.Version, b64.EncodeToString(salt), b64.EncodeToString(key))
})
