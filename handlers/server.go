// Package handlers is the HTTP layer: the route table, the middleware chain
// and thin handlers that parse, ask rbac, call virt or store, and render.
package handlers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"
	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/consoles"
	"github.com/virtportal/virtportal/services/events"
	"github.com/virtportal/virtportal/services/guests"
	"github.com/virtportal/virtportal/services/login"
	"github.com/virtportal/virtportal/services/metrics"
	"github.com/virtportal/virtportal/services/stats"
	"github.com/virtportal/virtportal/services/storage"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/tokens"
	"github.com/virtportal/virtportal/services/uploads"
	"github.com/virtportal/virtportal/services/vmclone"
	"github.com/virtportal/virtportal/services/vmcreate"
	"github.com/virtportal/virtportal/services/vmdisks"
	"github.com/virtportal/virtportal/services/vmsnapshots"
	"github.com/virtportal/virtportal/services/vmtasks"
	"github.com/virtportal/virtportal/static"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/templates"
	"github.com/virtportal/virtportal/virt"
)

// Options configure the HTTP layer.
type Options struct {
	Logger         *slog.Logger
	BodyLimit      int64            // bytes; larger bodies get 413 (a route may set its own)
	ReadTimeout    time.Duration    // time to read a request body (a route may set its own); default 30 s
	WriteTimeout   time.Duration    // time to write a response (a route may set its own); default 60 s
	TLS            bool             // cookies Secure, HSTS
	PublicURL      string           // how browsers reach the portal (https://portal.example.org); "" : the request's own
	TrustedProxies []string         // whose X-Forwarded-For is believed; none by default
	GroupRefresh   time.Duration    // how old a session's groups and roles may get; 0: never re-read
	Now            func() time.Time // the clock; tests set it
	Version        string
	Commit         string // the build's commit (GET /api/v1/version)
	// MetricsGuestNames adds per-guest series labelled with guest names
	// to /metrics (config metrics.guest_names); off by default.
	MetricsGuestNames bool
	Host              string          // the one host's short name; default Deps.Virt's
	Console           ConsoleOptions  // consoles and screenshots
	Uploads           uploads.Options // resumable uploads: size limit, expiry, demo
	Tasks             TaskOptions     // task caps and the event stream

	// VolumeOps tunes downloads of volumes from URLs (issue 9).
	VolumeOps storage.OpsOptions
	// Clone sets the pool guest clones fall back to (issue 10).
	Clone vmclone.Options
	// HostPathRoots are the folders administrators may attach host paths
	// from (issue 11); none: host paths are refused.
	HostPathRoots []string
}

// Deps are the lower layers the handlers drive.
type Deps struct {
	Store    *store.Store
	Virt     *virt.Manager    // the host of Options.Host
	Authz    *rbac.Authorizer // over every host's grants (virt.Fleet), Virt's among them
	Realms   *auth.Realms
	Sessions *auth.SessionStore
	Login    *login.Service
	Tokens   *tokens.Service // API tokens; nil: made from Store and Realms
	// Tasks, the kinds registered on it (VMTasks, Storage) and Events are
	// built by New when nil: the runner then sweeps what a previous process
	// left before New returns. Servers sharing a runner share its kinds.
	Tasks   *tasks.Runner
	VMTasks *vmtasks.Kinds
	Storage *storage.Service // pools and volumes of the host
	Uploads *uploads.Service // resumable uploads; nil: made from Store and Virt with Options.Uploads
	Events  *events.Broker

	// VolumeOps clones, wipes and downloads volumes (built with Storage).
	VolumeOps *storage.Ops
	// Clones clones guests (built with VMTasks).
	Clones *vmclone.Service
	// Disks edits guests' disks and CD-ROM media (built with VMTasks).
	Disks *vmdisks.Service

	// Templates gives templates to guest creation (the templates service);
	// nil: POST /api/v1/vms answers templates_unavailable.
	Templates vmcreate.Templates
	// VMCreate makes guests from templates (built with Storage).
	VMCreate *vmcreate.Service
	// Snapshots takes guest snapshots as tasks (issue 11; built with VMTasks).
	Snapshots *vmsnapshots.Service

	// Stats keeps host and guest statistics (issue 12); nil: one is made
	// from Store, fed by Virt's samples, with no host sampling.
	Stats *stats.Service
	// Metrics is the Prometheus registry (issue 12); nil: one is made over
	// Store and Virt (consoles are counted once the server has them).
	Metrics *metrics.Metrics
}

// Server is the HTTP application.
type Server struct {
	opt     Options
	d       Deps
	log     *slog.Logger
	engine  *gin.Engine
	pages   *template.Template
	assets  string // cache-busting version of the bundle
	edgeCfg edgeConfig
	now     func() time.Time

	scopes    map[string]resolver // scope kind → resolver (initScopes)
	guests    *guests.Service     // the caller's view of guests
	etags     map[string]string   // static file → its ETag
	apiDoc    []byte              // the OpenAPI document, JSON
	apiRoutes []Route             // the documented routes, for the reference page
	perms     []rbac.Permission   // every permission a route needs (API token limits)
	handler   http.Handler        // the engine behind compression

	consoles *consoles.Service // console tokens and live consoles

	tus         *tusd.UnroutedHandler // tus PATCH and DELETE over Deps.Uploads
	stopUploads func()                // ends the upload expiry sweep

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
	if opt.ReadTimeout <= 0 {
		opt.ReadTimeout = 30 * time.Second
	}
	if opt.WriteTimeout <= 0 {
		opt.WriteTimeout = 60 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Host == "" {
		opt.Host = localHost
		if d.Virt != nil {
			opt.Host = d.Virt.HostName()
		}
	}
	// Guests are decided by host and name: a manager of another host would
	// find no grant for any of them.
	if d.Virt != nil && d.Virt.HostName() != opt.Host {
		return nil, fmt.Errorf("handlers: host %q is served by the manager of host %q", opt.Host, d.Virt.HostName())
	}
	opt.Console = opt.Console.WithDefaults()
	if d.Tokens == nil && d.Store != nil {
		// A token's owner is re-read as often as a session's groups.
		d.Tokens = tokens.New(d.Store, d.Realms, tokens.Options{Refresh: opt.GroupRefresh, Now: opt.Now, Logger: opt.Logger})
	}
	s := &Server{opt: opt, d: d, log: opt.Logger, now: opt.Now}
	s.initStats()
	s.initMetrics()
	var err error
	if s.edgeCfg, err = newEdge(opt); err != nil {
		return nil, err
	}
	if d.Sessions != nil && d.Sessions.SecureRequest == nil {
		d.Sessions.SecureRequest = isHTTPS
	}
	if s.pages, err = template.ParseFS(templates.FS, "*.html"); err != nil {
		return nil, fmt.Errorf("handlers: templates: %w", err)
	}
	s.assets = assetVersion(opt.Version)
	s.etags = assetETags()

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
	e.Use(s.observeHTTP, s.requestID, s.recoverer, s.accessLog, s.loadSession)
	s.initScopes()
	rs := s.routes()
	if alter != nil {
		rs = alter(rs)
	}
	for _, rt := range rs {
		if !rt.Perm.IsPublic() && !slices.Contains(s.perms, rt.Perm) {
			s.perms = append(s.perms, rt.Perm)
		}
	}
	if err := s.register(e, rs); err != nil {
		return nil, err
	}
	if err := s.initGuests(rs); err != nil {
		return nil, fmt.Errorf("handlers: policy: %w", err)
	}
	if err := s.initAPIDoc(rs); err != nil {
		return nil, fmt.Errorf("handlers: OpenAPI document: %w", err)
	}
	e.NoRoute(s.wrapErr(s.noRoute))
	e.NoMethod(s.wrapErr(func(c *gin.Context) error { return methodNotAllowed(c) }))
	s.engine = e
	if s.handler, err = compressor(http.HandlerFunc(s.serveEngine)); err != nil {
		return nil, fmt.Errorf("handlers: compression: %w", err)
	}
	s.initConsoles()
	if err := s.initTasks(); err != nil {
		return nil, fmt.Errorf("handlers: tasks: %w", err)
	}
	if err := s.initUploads(); err != nil {
		return nil, fmt.Errorf("handlers: uploads: %w", err)
	}
	return s, nil
}

// Handler returns the http.Handler to serve: the edge (security headers,
// forwarded headers, the Host and the target's length), the default
// deadlines, compression, then Gin.
//
// The http.Server has no read or write timeout of its own (a stream or an
// upload would meet it): every request gets the default deadlines here,
// and a route with its own timeout moves them (limits).
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, ok := s.edge(w, r)
		if !ok {
			return
		}
		rc := http.NewResponseController(w)
		now := time.Now() // the real clock: tests may set s.now
		_ = rc.SetReadDeadline(now.Add(s.opt.ReadTimeout))
		_ = rc.SetWriteDeadline(now.Add(s.opt.WriteTimeout))
		s.handler.ServeHTTP(w, r)
	})
}

// serveEngine answers HEAD as GET: the server drops the body because the
// original request stays HEAD. Handlers whose body is costly to make (a
// volume download) ask isHead and skip it.
func (s *Server) serveEngine(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		r = r.Clone(context.WithValue(r.Context(), headKey{}, true))
		r.Method = http.MethodGet
	}
	s.engine.ServeHTTP(w, r)
}

type headKey struct{}

// isHead reports whether the request came as HEAD (served as GET).
func isHead(r *http.Request) bool { v, _ := r.Context().Value(headKey{}).(bool); return v }

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
