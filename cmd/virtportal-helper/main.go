// Command virtportal-helper is the privileged half of virtportal's PAM login
// (DESIGN.md §7). It runs as root, listens on a Unix socket that only the
// server's user may use (file mode and SO_PEERCRED), and answers one request:
// check a username and password with a fixed PAM service and return the
// user's identity and groups from NSS. The protocol is auth/helperproto.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/msteinert/pam/v2"

	"github.com/virtportal/virtportal/auth/helperproto"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

type options struct {
	socket, serverUser, group string
	service, pamDir           string
	minUID                    uint
	serve                     helperproto.ServeOptions
	logFormat                 string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("virtportal-helper", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.socket, "socket", helperproto.DefaultSocket, "Unix socket to listen on")
	fs.StringVar(&o.serverUser, "server-user", "virtportal", "the only user (name or uid) allowed to connect")
	fs.StringVar(&o.group, "group", "", "group (name or gid) owning the socket (default: the server user's primary group)")
	fs.StringVar(&o.service, "pam-service", "virtportal", "PAM service name")
	fs.StringVar(&o.pamDir, "pam-dir", "/etc/pam.d", "folder of PAM service files; the service's file must exist there")
	fs.UintVar(&o.minUID, "min-uid", 1000, "accounts below this uid are refused before PAM (root always is)")
	fs.DurationVar(&o.serve.Timeout, "timeout", 8*time.Second, "per-request timeout")
	fs.IntVar(&o.serve.MaxConcurrent, "max-concurrent", 8, "PAM checks running at once")
	fs.IntVar(&o.serve.MaxQueue, "max-queue", 64, "requests waiting for a slot before the helper answers busy")
	fs.Float64Var(&o.serve.Rate, "rate", 20, "requests per second, all names that do not exist together")
	fs.IntVar(&o.serve.Burst, "burst", 40, "burst above --rate")
	fs.Float64Var(&o.serve.UserRate, "user-rate", 1, "requests per second for one username")
	fs.IntVar(&o.serve.UserBurst, "user-burst", 10, "burst above --user-rate")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.serve.Timeout <= 0 || o.serve.MaxConcurrent <= 0 || o.serve.MaxQueue < 0 ||
		o.serve.Rate <= 0 || o.serve.Burst <= 0 || o.serve.UserRate <= 0 || o.serve.UserBurst <= 0 {
		return o, errors.New("--timeout, --max-concurrent, --rate, --burst, --user-rate and --user-burst must be positive, --max-queue not negative")
	}
	if o.serve.MaxQueue == 0 {
		o.serve.MaxQueue = -1 // ServeOptions reads 0 as "default"
	}
	if o.minUID > 1<<31 {
		return o, errors.New("--min-uid out of range")
	}
	return o, nil
}

// serviceRE keeps the service name a plain file name.
var serviceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func run(args []string, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "virtportal-helper:", err)
		return 2
	}
	var log *slog.Logger
	switch o.logFormat {
	case "text":
		log = slog.New(slog.NewTextHandler(stderr, nil))
	case "json":
		log = slog.New(slog.NewJSONHandler(stderr, nil))
	default:
		fmt.Fprintln(stderr, "virtportal-helper: --log-format must be text or json")
		return 2
	}
	o.serve.Log = log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serve(ctx, o, log); err != nil {
		fmt.Fprintln(stderr, "virtportal-helper:", err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, o options, log *slog.Logger) error {
	h, err := newPAMHandler(o)
	if err != nil {
		return err
	}
	// Without root, pam_unix can check only the caller's own password.
	if os.Geteuid() != 0 {
		return errors.New("must run as root: PAM cannot check other users' passwords otherwise")
	}
	uid, gid, err := resolvePeer(o.serverUser, o.group)
	if err != nil {
		return err
	}
	o.serve.AllowedUID = uid
	ln, err := listen(o.socket, gid)
	if err != nil {
		return err
	}
	defer os.Remove(o.socket)
	log.Info("helper listening", "socket", o.socket, "server_uid", uid, "socket_gid", gid,
		"pam_service", o.service, "pam_file", h.serviceFile, "min_uid", h.minUID)
	err = helperproto.Serve(ctx, ln, h, o.serve)
	log.Info("helper stopped", "err", err)
	return err
}

// newPAMHandler refuses a configuration in which PAM would silently fall back
// to the "other" service.
func newPAMHandler(o options) (*pamHandler, error) {
	if !serviceRE.MatchString(o.service) {
		return nil, fmt.Errorf("--pam-service %q is not a plain service name", o.service)
	}
	dir, err := filepath.Abs(o.pamDir)
	if err != nil {
		return nil, err
	}
	h := &pamHandler{service: o.service, serviceFile: filepath.Join(dir, o.service), minUID: max(uint32(o.minUID), 1)}
	fi, err := os.Stat(h.serviceFile)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("PAM service file %s is missing (the package installs packaging/virtportal.pam there); "+
			"refusing to start, since PAM would silently use the \"other\" service instead", h.serviceFile)
	}
	if dir != "/etc/pam.d" {
		if !pam.CheckPamHasStartConfdir() {
			return nil, fmt.Errorf("--pam-dir %s needs pam_start_confdir (Linux-PAM 1.4 or later)", dir)
		}
		h.confDir = dir
	}
	return h, nil
}

// resolvePeer returns the uid allowed to connect and the socket's group.
func resolvePeer(serverUser, group string) (uid, gid uint32, err error) {
	var u *user.User
	if n, perr := strconv.ParseUint(serverUser, 10, 32); perr == nil {
		uid = uint32(n)
		u, _ = user.LookupId(serverUser) // a bare uid need not be in NSS if --group is given
	} else {
		if u, err = user.Lookup(serverUser); err != nil {
			return 0, 0, fmt.Errorf("--server-user: %w", err)
		}
		n, _ := strconv.ParseUint(u.Uid, 10, 32)
		uid = uint32(n)
	}
	switch {
	case group == "" && u == nil:
		return 0, 0, fmt.Errorf("--server-user %s has no passwd entry: name the socket's --group", serverUser)
	case group == "":
		group = u.Gid
	}
	if n, perr := strconv.ParseUint(group, 10, 32); perr == nil {
		return uid, uint32(n), nil
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return 0, 0, fmt.Errorf("--group: %w", err)
	}
	n, _ := strconv.ParseUint(g.Gid, 10, 32)
	return uid, uint32(n), nil
}

// listen creates the socket, mode 0660, owned by root and gid, replacing a
// stale socket but nothing else.
func listen(path string, gid uint32) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != os.ModeSocket {
			return nil, fmt.Errorf("%s exists and is not a socket; not removing it", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("another process is listening on %s", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("stale socket: %w", err)
		}
	}
	// Nobody but root may connect until the group and mode are set.
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	if err != nil {
		return nil, err
	}
	if err := os.Chown(path, 0, int(gid)); err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}
