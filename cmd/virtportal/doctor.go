package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/virtportal/virtportal/virt"
)

// finding is one line of `virtportal doctor`: what was checked, how it
// stands, and what to do when it is not well.
type finding struct {
	level  string // ok, warn or FAIL
	what   string
	detail string
	fix    string
}

func ok(what, detail string) finding { return finding{"ok", what, detail, ""} }
func warn(what, detail, fix string) finding {
	return finding{"warn", what, detail, fix}
}
func fail(what, detail, fix string) finding {
	return finding{"FAIL", what, detail, fix}
}

// doctor checks an installation as the user it runs as (the service user,
// as the unit runs the server) and says what to fix; it exits non-zero
// when something would stop the server or a login.
func doctor(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	me, _ := user.Current()
	name := strconv.Itoa(os.Geteuid())
	if me != nil {
		name = me.Username
	}
	fmt.Fprintf(stdout, "virtportal doctor %s, as %s (uid %d)\n", version, name, os.Geteuid())
	var found []finding
	found = append(found, checkUser(cfg))
	found = append(found, checkDataDir(cfg.DataDir))
	found = append(found, checkLibvirt(ctx, cfg)...)
	if cfg.Realms.PAM.Enabled {
		found = append(found, checkPAMFile("/etc/pam.d/virtportal"))
		found = append(found, checkHelper(cfg.Realms.PAM.Socket))
	}
	found = append(found, checkTLS(cfg, time.Now()))
	found = append(found, checkOSInfo(cfg.OSInfo.Path))
	problems := 0
	for _, f := range found {
		fmt.Fprintf(stdout, "  %-4s  %s: %s\n", f.level, f.what, f.detail)
		if f.fix != "" {
			fmt.Fprintf(stdout, "        fix: %s\n", f.fix)
		}
		if f.level == "FAIL" {
			problems++
		}
	}
	if problems > 0 {
		fmt.Fprintf(stdout, "%d problem(s) found.\n", problems)
		return fmt.Errorf("doctor: %d problem(s)", problems)
	}
	fmt.Fprintln(stdout, "No problems found.")
	return nil
}

func checkUser(cfg Config) finding {
	if os.Geteuid() != 0 {
		return ok("user", "not root, as the server must run")
	}
	if cfg.AllowRoot || cfg.Demo {
		return warn("user", "root, allowed by allow_root or demo", "run the server as its service user (virtportal)")
	}
	return fail("user", "doctor runs as root, the server never does",
		"run it as the service user: sudo -u virtportal virtportal doctor --config /etc/virtportal/config.yaml")
}

// checkDataDir: the folder holds the database and the cookie key, so it
// must be this user's and closed to everyone else.
func checkDataDir(dir string) finding {
	what := "data folder " + dir
	fi, err := os.Stat(dir)
	if err != nil {
		return fail(what, err.Error(), "install -d -o virtportal -g virtportal -m 0700 "+dir)
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fail(what, "not a folder", "remove it and create the folder: install -d -m 0700 "+dir)
	case st != nil && int(st.Uid) != os.Geteuid():
		return fail(what, fmt.Sprintf("owned by uid %d, not by this user", st.Uid), "chown -R virtportal:virtportal "+dir)
	case fi.Mode().Perm()&0o077 != 0:
		return fail(what, fmt.Sprintf("mode %04o lets others in (the database and the session key are there)", fi.Mode().Perm()), "chmod 0700 "+dir)
	}
	probe, err := os.CreateTemp(dir, ".doctor-*")
	if err != nil {
		return fail(what, "not writable: "+err.Error(), "chown -R virtportal:virtportal "+dir)
	}
	probe.Close()
	os.Remove(probe.Name())
	return ok(what, "this user's, mode 0700, writable")
}

func checkLibvirt(ctx context.Context, cfg Config) []finding {
	uris := []string{cfg.Libvirt.URI}
	if len(cfg.Hosts) > 0 {
		uris = uris[:0]
		for _, h := range cfg.Hosts {
			uris = append(uris, h.URI)
		}
	}
	var out []finding
	for _, uri := range uris {
		cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		lv, hv, err := virt.Probe(cctx, uri)
		cancel()
		if err != nil {
			out = append(out, fail("libvirt "+uri, err.Error(),
				"start libvirtd, and let group libvirt use its socket (unix_sock_group, unix_sock_rw_perms in libvirtd.conf); the service user must be in group libvirt"))
			continue
		}
		out = append(out, ok("libvirt "+uri, "reachable: libvirt "+lv+", hypervisor "+hv))
	}
	return out
}

// checkPAMFile: without the service file PAM silently uses "other".
func checkPAMFile(path string) finding {
	fi, err := os.Stat(path)
	if err != nil {
		return fail("PAM service "+path, err.Error(), "install -m 0644 /usr/share/doc/virtportal/virtportal.pam "+path+" (the package installs it)")
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0 {
		return fail("PAM service "+path, fmt.Sprintf("mode %v: others may change how logins are checked", fi.Mode()), "chmod 0644 "+path)
	}
	return ok("PAM service "+path, "present")
}

// checkHelper: the socket is the helper's (root), and this user may use it.
func checkHelper(socket string) finding {
	what := "helper socket " + socket
	fi, err := os.Lstat(socket)
	if errors.Is(err, fs.ErrNotExist) {
		return fail(what, "missing: virtportal-helper is not running", "systemctl start virtportal-helper")
	} else if err != nil {
		return fail(what, err.Error(), "")
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSocket == 0:
		return fail(what, "not a socket", "stop whatever made it, remove it, start virtportal-helper")
	case st != nil && st.Uid != 0:
		return fail(what, fmt.Sprintf("owned by uid %d, not root: not the helper's", st.Uid), "remove it and start virtportal-helper")
	case fi.Mode().Perm()&0o007 != 0:
		return fail(what, fmt.Sprintf("mode %v: any local user could ask it", fi.Mode().Perm()), "restart virtportal-helper (it makes the socket 0660)")
	}
	conn, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return fail(what, err.Error(), "add the service user to the socket's group (the server user's primary group) or start the helper with --server-user virtportal")
	}
	defer conn.Close()
	raw, err := conn.(*net.UnixConn).SyscallConn()
	if err != nil {
		return fail(what, err.Error(), "")
	}
	var cred *syscall.Ucred
	var credErr error
	_ = raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	})
	if credErr != nil {
		return fail(what, credErr.Error(), "")
	}
	if cred.Uid != 0 {
		return fail(what, fmt.Sprintf("answered by uid %d, not root: it cannot check passwords", cred.Uid), "run virtportal-helper as root (its unit does)")
	}
	return ok(what, fmt.Sprintf("virtportal-helper (pid %d, root) accepts this user", cred.Pid))
}

func checkTLS(cfg Config, now time.Time) finding {
	if cfg.TLS.Cert == "" && cfg.TLS.Key == "" {
		host, _, err := net.SplitHostPort(cfg.Listen)
		if ip := net.ParseIP(host); err == nil && (host == "localhost" || (ip != nil && ip.IsLoopback())) {
			return ok("TLS", "off; listening on loopback "+cfg.Listen+" (a TLS proxy in front, or set tls.cert and tls.key)")
		}
		return fail("TLS", "off, and listening on "+cfg.Listen+" beyond this machine: passwords would cross the network in clear",
			"set tls.cert and tls.key, or listen on 127.0.0.1 behind a TLS proxy")
	}
	pair, err := tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
	if err != nil {
		return fail("TLS", err.Error(), "point tls.cert and tls.key at a PEM certificate and its key, readable by the service user")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return fail("TLS", err.Error(), "")
	}
	if fi, err := os.Stat(cfg.TLS.Key); err == nil && fi.Mode().Perm()&0o007 != 0 {
		return fail("TLS", "the key "+cfg.TLS.Key+" is readable by every local user", "chmod 0640 "+cfg.TLS.Key+" (group: the service user's)")
	}
	switch left := leaf.NotAfter.Sub(now); {
	case left <= 0:
		return fail("TLS", "the certificate expired on "+leaf.NotAfter.Format(time.DateOnly), "renew it")
	case now.Before(leaf.NotBefore):
		return fail("TLS", "the certificate is valid only from "+leaf.NotBefore.Format(time.DateOnly), "check the clock or the certificate")
	case left < 30*24*time.Hour:
		return warn("TLS", "the certificate expires on "+leaf.NotAfter.Format(time.DateOnly), "renew it soon")
	}
	return ok("TLS", fmt.Sprintf("certificate for %v, valid until %s", names(leaf), leaf.NotAfter.Format(time.DateOnly)))
}

func names(c *x509.Certificate) []string {
	if len(c.DNSNames) > 0 {
		return c.DNSNames
	}
	return []string{c.Subject.CommonName}
}

func checkOSInfo(path string) finding {
	if _, err := os.Stat(filepath.Join(path, "os")); err != nil {
		return warn("osinfo database "+path, "missing: new guests get generic defaults and ISOs are not recognised", "apt-get install osinfo-db")
	}
	return ok("osinfo database "+path, "present")
}
