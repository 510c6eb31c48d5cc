// Package handlers is the HTTP layer: the route table, the middleware chain
// and thin handlers that parse, ask rbac, call virt or store, and render.
package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/events"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/vmtasks"
	"github.com/virtportal/virtportal/static"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/templates"
	"github.com/virtportal/virtportal/virt"
)

// Options configure the HTTP layer.
type Options struct {
	Logger         *slog.Logger
	BodyLimit      int64            // bytes; larger bodies get 413
	TLS            bool             // cookies Secure, HSTS
	TrustedProxies []string         // whose X-Forwarded-For is believed; none by default
	GroupRefresh   time.Duration    // how old a session's groups and roles may get; 0: never re-read
	Now            func() time.Time // the clock; tests set it
	Version        string
	Console        ConsoleOptions // consoles and screenshots
	Tasks          TaskOptions    // task caps and the event stream
}

// Deps are the lower layers the handlers drive.
type Deps struct {
	Store    *store.Store
	Virt     *virt.Manager
	Authz    *rbac.Authorizer
	Realms   *auth.Realms
	Sessions *auth.SessionStore
	Throttle *auth.Throttle
	// Tasks, VMTasks and Events are built by New when nil: the runner
	// then sweeps what a previous process left before New returns.
	Tasks   *tasks.Runner
	VMTasks *vmtasks.Kinds
	Events  *events.Broker
}

// Server is the HTTP application.
type Server struct {
	opt    Options
	d      Deps
	log    *slog.Logger
	engine *gin.Engine
	pages  *template.Template
	assets string // cache-busting version of the bundle
	now    func() time.Time

	consoles *consoleHub   // live consoles
	opener   consoleOpener // the guest side of consoles: s.d.Virt, or a fake in tests

	stopWatch func() // the event broker's watch of the guest index
}

func init() { gin.SetMode(gin.ReleaseMode) }

// New wires the routes; a route without a permission is an error.
func New(opt Options, d Deps) (*Server, error) { return newServer(opt, d, nil) }

// newServer is New with a hook that may alter the route table: benchmarks
// use it to measure a route with its check bypassed. No option of New can.
func newServer(opt Options, d Deps, alter func([]Route) []Route) (*Server, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.BodyLimit <= 0 {
		opt.BodyLimit = 1 << 20
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	opt.Console.applyDefaults()
	s := &Server{opt: opt, d: d, log: opt.Logger, now: opt.Now}
	var err error
	if s.pages, err = template.ParseFS(templates.FS, "*.html"); err != nil {
		return nil, fmt.Errorf("handlers: templates: %w", err)
	}
	s.assets = assetVersion(opt.Version)

	e := gin.New()
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	// Route on the raw path so that an encoded slash stays inside its
	// parameter, where name validation refuses it with a clear 400.
	e.UseRawPath = true
	e.UnescapePathValues = true
	if err := e.SetTrustedProxies(opt.TrustedProxies); err != nil {
		return nil, fmt.Errorf("handlers: trusted proxies: %w", err)
	}
	e.Use(s.requestID, s.recoverer, s.accessLog, s.securityHeaders, s.limitBody, s.loadSession)
	rs := s.routes()
	if alter != nil {
		rs = alter(rs)
	}
	if err := s.register(e, rs); err != nil {
		return nil, err
	}
	e.NoRoute(s.wrapErr(s.noRoute))
	e.NoMethod(s.wrapErr(func(c *gin.Context) error { return methodNotAllowed(c) }))
	s.engine = e
	s.initConsoles()
	if err := s.initTasks(); err != nil {
		return nil, fmt.Errorf("handlers: tasks: %w", err)
	}
	return s, nil
}

// Handler returns the http.Handler to serve. HEAD is answered as GET: the
// server drops the body because the original request stays HEAD.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			r = r.Clone(r.Context())
			r.Method = http.MethodGet
		}
		s.engine.ServeHTTP(w, r)
	})
}

// GinRoutes lists what Gin actually registered.
func (s *Server) GinRoutes() gin.RoutesInfo { return s.engine.Routes() }

// assetVersion is a short hash of the bundle, so a new build busts caches.
func assetVersion(version string) string {
	h := sha256.New()
	h.Write([]byte(version))
	_ = fs.WalkDir(static.FS, "dist", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := fs.ReadFile(static.FS, path); err == nil {
				h.Write(b)
			}
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}
