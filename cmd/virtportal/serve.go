package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/auth/ldap"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/handlers"
	"github.com/virtportal/virtportal/policy"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/login"
	"github.com/virtportal/virtportal/services/stats"
	"github.com/virtportal/virtportal/services/storage"
	"github.com/virtportal/virtportal/services/uploads"
	"github.com/virtportal/virtportal/services/vmclone"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
	"github.com/virtportal/virtportal/virt/osinfo"
)

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch cfg.Log.Format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format must be text or json, not %q", cfg.Log.Format)
}

// openStore opens the database in the configured data directory.
func openStore(ctx context.Context, cfg Config) (*store.Store, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	return store.Open(ctx, filepath.Join(cfg.DataDir, "virtportal.db"))
}

// sessionKey reads the cookie-signing key, creating it on first start.
func sessionKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, "session.key")
	key, err := os.ReadFile(path)
	if err == nil && len(key) >= 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, 64)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, key, 0o600)
}

func loadPolicy(cfg Config) (model, pol string, err error) {
	model, pol = policy.Model, policy.Policy
	if cfg.Policy.Model != "" {
		b, err := os.ReadFile(cfg.Policy.Model)
		if err != nil {
			return "", "", fmt.Errorf("policy.model: %w", err)
		}
		model = string(b)
	}
	if cfg.Policy.File != "" {
		b, err := os.ReadFile(cfg.Policy.File)
		if err != nil {
			return "", "", fmt.Errorf("policy.file: %w", err)
		}
		pol = string(b)
	}
	return model, pol, nil
}

// demoSetup points the server at a generated test-driver host and makes sure
// the demo admin exists, printing its password the one time it is created.
func demoSetup(ctx context.Context, cfg *Config, uriSet bool, st *store.Store, stdout io.Writer) error {
	if !uriSet {
		dir, err := filepath.Abs(cfg.DataDir)
		if err != nil {
			return err
		}
		fixture := filepath.Join(dir, "demo-host.xml")
		if err := virt.WriteFixture(fixture, virt.FixtureOptions{ImagesDir: filepath.Join(dir, "images")}); err != nil {
			return fmt.Errorf("demo fixture: %w", err)
		}
		cfg.Libvirt.URI = "test://" + fixture
	}
	_, err := st.GetUser(ctx, "admin")
	if err == nil {
		fmt.Fprintln(stdout, "admin password: unchanged since first start (reset: virtportal user passwd --data-dir", cfg.DataDir, "admin)")
		return nil
	}
	if !fault.Is(err, store.CodeUserNotFound) {
		return err
	}
	pw := auth.RandomPassword()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return err
	}
	if err := st.CreateUser(ctx, store.User{Name: "admin", Hash: hash, Admin: true}); err != nil {
		return err
	}
	if _, err := st.AddAudit(ctx, api.AuditEvent{Actor: "system", Action: "user.add", Target: "user:local:admin", Result: "ok", Reason: "demo", Client: "local"}); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "demo admin user: admin")
	fmt.Fprintln(stdout, "admin password:", pw)
	return nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: virtportal serve [flags]\n\nRuns the portal. Every flag is also a key of the --config file and a VIRTPORTAL_* variable.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	if err := cfg.validate(); err != nil {
		return err
	}
	uriSet := false
	fs.Visit(func(f *flag.Flag) { uriSet = uriSet || f.Name == "libvirt-uri" })
	uriSet = uriSet || getenv("VIRTPORTAL_LIBVIRT_URI") != "" || cfg.Libvirt.URI != defaults().Libvirt.URI || len(cfg.Hosts) > 0
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	if os.Geteuid() == 0 && !cfg.AllowRoot {
		return errors.New("refusing to run as root: run as an unprivileged user in group libvirt (see README), or pass --allow-root for demos and tests")
	}
	if (cfg.TLS.Cert == "") != (cfg.TLS.Key == "") {
		return errors.New("tls.cert and tls.key go together")
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("database close", "err", err)
		}
	}()
	if cfg.Demo {
		if err := demoSetup(ctx, &cfg, uriSet, st, stdout); err != nil {
			return err
		}
	}
	key, err := sessionKey(cfg.DataDir)
	if err != nil {
		return fmt.Errorf("session key: %w", err)
	}
	hosts, err := cfg.hostList()
	if err != nil {
		return err
	}
	host := hosts[0] // one host connected in this version
	cfg.Libvirt.URI = host.URI

	// Without the osinfo database the portal runs; ISOs are then "unknown"
	// with the reason osinfo_unavailable.
	osdb, err := osinfo.Load(cfg.OSInfo.Path)
	if err != nil {
		log.Warn("operating-system detection is off", "err", err)
	} else {
		log.Info("osinfo database loaded", "path", osdb.Path(), "entries", osdb.Len(), "skipped_media", osdb.Skipped)
	}
	vm := virt.New(virt.Config{URI: cfg.Libvirt.URI, Host: host.Name, StatsInterval: cfg.Libvirt.StatsInterval, Logger: log, OSInfo: osdb,
		StreamUploads: cfg.Uploads.ViaStream})
	if err := vm.Start(ctx); err != nil {
		return err
	}
	defer vm.Close()
	if cfg.Demo {
		// A demo should open on a full guest list, not on an empty one.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := vm.WaitReady(wctx)
		cancel()
		if err != nil {
			return fmt.Errorf("libvirt %s: %w", cfg.Libvirt.URI, err)
		}
		// Three templates ready on a new demo host (issue 10); a demo on a
		// libvirt of the caller's has other pools and networks.
		if !uriSet {
			if err := seedDemoTemplates(ctx, cfg.DataDir, st, vm); err != nil {
				return fmt.Errorf("demo templates: %w", err)
			}
		}
	}

	model, pol, err := loadPolicy(cfg)
	if err != nil {
		return err
	}
	// Grants are decided over every host's index, by host and guest name,
	// never by name alone: more hosts join the fleet, nothing else changes.
	fleet, err := virt.NewFleet(vm)
	if err != nil {
		return err
	}
	authz, err := rbac.New(model, pol, fleet)
	if err != nil {
		return err
	}
	realms, closeRealms, err := buildRealms(cfg, st, log)
	if err != nil {
		return err
	}
	defer closeRealms()
	tls := cfg.TLS.Cert != ""
	urlAllow, err := parseNetworks(cfg.Volumes.FromURL.AllowNetworks)
	if err != nil {
		return fmt.Errorf("volumes.from_url.allow_networks: %w", err)
	}
	// Statistics (issue 12): the host from /proc when libvirt runs on this
	// machine (the demo's test driver included), the guests from vm's samples.
	sampler := stats.New(st, stats.Options{Host: host.Name, Local: vm.OnThisMachine(), Logger: log})
	if cfg.Stats.Sampler {
		sampler.Attach(vm)
		sampler.Start()
	}
	defer sampler.Close()

	srv, err := handlers.New(handlers.Options{
		Logger: log, BodyLimit: int64(cfg.Limits.RequestBody), ReadTimeout: cfg.Timeouts.Read, WriteTimeout: cfg.Timeouts.Write, TLS: tls, TrustedProxies: cfg.TrustedProxies, Version: version, Commit: commit, MetricsGuestNames: cfg.Metrics.GuestNames,
		PublicURL:    cfg.PublicURL,
		GroupRefresh: cfg.Session.GroupRefresh, Host: host.Name,
		Console: handlers.ConsoleOptions{
			TokenTTL: cfg.Console.TokenTTL, IdleTimeout: cfg.Console.IdleTimeout, Keepalive: cfg.Console.Keepalive,
			MaxPerUser: cfg.Console.MaxPerUser, MaxPerGuest: cfg.Console.MaxPerGuest,
			ScreenshotCache: cfg.Console.ScreenshotCache, SpicePasswordTTL: cfg.Console.SpicePasswordTTL,
		},
		Tasks: handlers.TaskOptions{PerHost: cfg.Tasks.PerHost, PerUser: cfg.Tasks.PerUser, Heartbeat: cfg.Tasks.Heartbeat},
		// Demo mode's test driver keeps no volume contents: uploads count the bytes.
		Uploads: uploads.Options{MaxSize: int64(cfg.Uploads.MaxSize), Expiry: cfg.Uploads.Expiry, SweepEvery: cfg.Uploads.SweepInterval, Demo: cfg.Demo},

		VolumeOps:     storage.OpsOptions{URLMaxSize: uint64(max(cfg.Volumes.FromURL.MaxSize, 0)), URLAllow: urlAllow},
		Clone:         vmclone.Options{DefaultPool: cfg.Clone.DefaultPool},
		HostPathRoots: cfg.Storage.HostPathRoots,
	}, handlers.Deps{
		Store: st, Virt: vm, Authz: authz, Realms: realms,
		Sessions: auth.NewSessionStore(st, key, cfg.Session.IdleTimeout, cfg.Session.AbsoluteTimeout, tls),
		Login:    login.New(realms, login.NewThrottle(st), login.Options{}),
		Stats:    sampler,
	})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// No ReadTimeout or WriteTimeout here: they would cut an event stream
	// or an upload. The handler sets timeouts.read and timeouts.write as
	// per-request deadlines, and a route may declare its own.
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
		IdleTimeout:       cfg.Timeouts.Idle,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Shutdown leaves hijacked connections (consoles) alone: close them
	// with a close frame while it drains the rest.
	hs.RegisterOnShutdown(srv.CloseConsoles)
	// Shutdown waits for open requests, and an event stream never ends by
	// itself: end them.
	hs.RegisterOnShutdown(srv.CloseStreams)
	scheme := "http"
	if tls {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "virtportal %s listening on %s://%s\n", version, scheme, displayAddr(ln.Addr()))
	log.Info("started", "listen", ln.Addr().String(), "host", host.Name, "libvirt", cfg.Libvirt.URI, "data_dir", cfg.DataDir, "demo", cfg.Demo)

	go housekeeping(ctx, st, cfg, log)
	errc := make(chan error, 1)
	go func() {
		if tls {
			errc <- hs.ServeTLS(ln, cfg.TLS.Cert, cfg.TLS.Key)
		} else {
			errc <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.Timeouts.Shutdown)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.Timeouts.Shutdown)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	// Once more, to wait until every console is closed and audited before
	// the database closes.
	srv.CloseConsoles()
	// Running tasks end interrupted after their undos; what is left is
	// swept at the next start.
	tctx, tcancel := context.WithTimeout(context.Background(), cfg.Timeouts.Shutdown)
	srv.CloseTasks(tctx)
	tcancel()
	log.Info("stopped")
	return nil
}

// buildRealms returns the enabled realms in login-page order: system
// accounts, the directory, then the local break-glass accounts.
func buildRealms(cfg Config, st *store.Store, log *slog.Logger) (*auth.Realms, func(), error) {
	var rs []auth.Realm
	closeAll := func() {}
	if cfg.Realms.PAM.Enabled {
		p, err := auth.NewPAM(cfg.Realms.PAM.PAMConfig, log)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, p)
	}
	if cfg.Realms.LDAP.Enabled {
		l, err := ldap.New(cfg.Realms.LDAP.Config, log)
		if err != nil {
			return nil, nil, err
		}
		rs = append(rs, l)
		closeAll = func() { _ = l.Close() }
	}
	if cfg.Realms.Local.Enabled {
		rs = append(rs, auth.NewLocal(st))
	}
	realms, err := auth.NewRealms(rs...)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return realms, closeAll, nil
}

// displayAddr turns a wildcard listen address into one a browser can open.
func displayAddr(a net.Addr) string {
	s := a.String()
	if strings.HasPrefix(s, "[::]:") || strings.HasPrefix(s, "0.0.0.0:") {
		return "localhost:" + s[strings.LastIndex(s, ":")+1:]
	}
	return s
}

// housekeeping purges expired sessions and console tokens, stale throttle entries and old audit events.
func housekeeping(ctx context.Context, st *store.Store, cfg Config, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		now := time.Now()
		if _, err := st.PurgeSessions(ctx, now); err != nil && ctx.Err() == nil {
			log.Warn("purge sessions", "err", err)
		}
		if _, err := st.PurgeThrottle(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
			log.Warn("purge throttle", "err", err)
		}
		if _, err := st.PurgeAudit(ctx, now.Add(-cfg.Audit.Retention)); err != nil && ctx.Err() == nil {
			log.Warn("purge audit", "err", err)
		}
		if _, err := st.PurgeConsoleTokens(ctx, now); err != nil && ctx.Err() == nil {
			log.Warn("purge console tokens", "err", err)
		}
		if _, err := st.PurgeTasks(ctx, now.Add(-cfg.Audit.Retention)); err != nil && ctx.Err() == nil {
			log.Warn("purge tasks", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// parseNetworks reads CIDR prefixes; a bare address is its own /32 or /128.
func parseNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR prefix nor an address", s)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
