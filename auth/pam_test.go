package auth

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth/helperproto"
	"github.com/virtportal/virtportal/internal/syncbuf"
	"github.com/virtportal/virtportal/rbac"
)

// The tests below use the real things: system users made with useradd, a PAM
// service file for pam_unix, and the real virtportal-helper binary running as
// root. A missing piece fails the test; nothing is skipped.

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the PAM tests create system users and run the helper as root: run them as root (CI does)")
	}
}

// buildHelper returns VIRTPORTAL_HELPER_BIN or builds cmd/virtportal-helper
// into dir.
func buildHelper(t *testing.T, dir string) string {
	t.Helper()
	if bin := os.Getenv("VIRTPORTAL_HELPER_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("VIRTPORTAL_HELPER_BIN: %v", err)
		}
		return bin
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the helper needs the go command: %v", err)
	}
	bin := filepath.Join(dir, "virtportal-helper")
	cmd := exec.Command(goBin, "build", "-o", bin, "github.com/virtportal/virtportal/cmd/virtportal-helper")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the helper: %v\n%s", err, out)
	}
	return bin
}

// run runs a command, retrying while another process holds the passwd lock.
func run(t *testing.T, stdin string, name string, args ...string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		cmd := exec.Command(name, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return
		}
		if attempt < 20 && strings.Contains(strings.ToLower(string(out)), "lock") {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

func randomName(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// addGroup creates a system group, removed in t.Cleanup.
func addGroup(t *testing.T) string {
	t.Helper()
	name := randomName("vpt-g")
	run(t, "", "groupadd", name)
	t.Cleanup(func() { _ = exec.Command("groupdel", name).Run() })
	return name
}

// addUser creates a user with a password; useradd gets extra flags (shell,
// groups, -r). It is removed with its home in t.Cleanup.
func addUser(t *testing.T, password string, flags ...string) *user.User {
	t.Helper()
	name := randomName("vpt-")
	run(t, "", "useradd", append(append([]string{"-m"}, flags...), name)...)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
	run(t, name+":"+password+"\n", "chpasswd")
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// pamDir writes the PAM service file the helper uses into a folder of its own.
func pamDir(t *testing.T, service string) string {
	t.Helper()
	dir := t.TempDir()
	conf := "auth required pam_unix.so nodelay\naccount required pam_unix.so\n"
	if err := os.WriteFile(filepath.Join(dir, service), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

type helperProc struct {
	socket  string
	cmd     *exec.Cmd
	logs    *syncbuf.Buffer
	exited  chan error
	stopped bool
}

// startHelper runs the helper binary with args on a fresh socket, waits until
// it listens and stops it with SIGTERM in t.Cleanup, checking that it exits
// cleanly and removes its socket.
func startHelper(t *testing.T, bin string, args ...string) *helperProc {
	t.Helper()
	return startHelperAt(t, bin, filepath.Join(t.TempDir(), "run", "helper.sock"), args...)
}

func startHelperAt(t *testing.T, bin, socket string, args ...string) *helperProc {
	t.Helper()
	h := &helperProc{socket: socket, logs: &syncbuf.Buffer{}, exited: make(chan error, 1)}
	h.cmd = exec.Command(bin, append([]string{"--socket", h.socket}, args...)...)
	h.cmd.Stderr = h.logs
	if err := h.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.exited <- h.cmd.Wait() }()
	deadline := time.After(20 * time.Second)
	for !strings.Contains(h.logs.String(), "helper listening") {
		select {
		case err := <-h.exited:
			t.Fatalf("helper exited (%v) before listening:\n%s", err, h.logs.String())
		case <-deadline:
			_ = h.cmd.Process.Kill()
			t.Fatalf("helper not listening after 20 s:\n%s", h.logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Cleanup(func() { h.stop(t) })
	return h
}

// waitLog waits for a log line holding every part: stderr reaches the
// buffer through a pipe, a little after the helper wrote it.
func (h *helperProc) waitLog(t *testing.T, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for l := range strings.Lines(h.logs.String()) {
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(l, p) }) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q:\n%s", parts, h.logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM once and waits for a clean exit.
func (h *helperProc) stop(t *testing.T) {
	t.Helper()
	if h.stopped {
		return
	}
	h.stopped = true
	_ = h.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-h.exited:
		if err != nil {
			t.Errorf("helper exited with %v after SIGTERM:\n%s", err, h.logs.String())
		}
	case <-time.After(15 * time.Second):
		_ = h.cmd.Process.Kill()
		t.Errorf("helper ignored SIGTERM")
	}
	if _, err := os.Lstat(h.socket); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("helper left its socket behind: %v", err)
	}
}

func reason(err error) string {
	if err == nil {
		return "<nil>"
	}
	return LoginReason(err)
}

func TestPAM(t *testing.T) {
	requireRoot(t)
	bin := buildHelper(t, t.TempDir())
	const service = "virtportal-test"
	dir := pamDir(t, service)

	admins := addGroup(t)
	const pwAlice, pwBob, pwOther = "Alice-pw-1 ä😀", "bob:pw\"2\\", "other-pw-3"
	// A full name of this run's own: system users are machine-wide, and
	// another run of this suite may hold its Alice at the same time.
	aliceName := "Alice Example " + randomName("")
	alice := addUser(t, pwAlice, "-s", "/bin/bash", "-G", admins, "-c", aliceName+",Room 1")
	bob := addUser(t, pwBob, "-s", "/bin/bash")
	nologin := addUser(t, pwOther, "-s", "/usr/sbin/nologin")
	system := addUser(t, pwOther, "-r", "-s", "/bin/bash")
	expired := addUser(t, pwOther, "-s", "/bin/bash")
	run(t, "", "chage", "-E", "0", expired.Username)

	h := startHelper(t, bin, "--server-user", "0", "--pam-service", service, "--pam-dir", dir,
		"--user-rate", "100", "--user-burst", "100", "--rate", "100", "--burst", "100")
	realm := func(t *testing.T, mod func(*PAMConfig)) *PAM {
		t.Helper()
		cfg := PAMConfig{Socket: h.socket, Timeout: 10 * time.Second, Roles: RoleMap{AdminGroups: []string{admins}}}
		if mod != nil {
			mod(&cfg)
		}
		p, err := NewPAM(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ctx := context.Background()
	uidOf := func(u *user.User) int { n, _ := strconv.Atoi(u.Uid); return n }
	// A passwd file that knows nobody makes the realm rely on the helper's answer.
	emptyPasswd := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(emptyPasswd, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	t.Run("success with groups, admin by group", func(t *testing.T) {
		p, err := realm(t, nil).Authenticate(ctx, alice.Username, pwAlice)
		if err != nil {
			t.Fatal(err)
		}
		want := rbac.Principal{Realm: "pam", Name: alice.Username, Groups: []string{alice.Username, admins}, Roles: []string{rbac.RoleAdmin}}
		if p.Realm != want.Realm || p.Name != want.Name || !slices.Equal(p.Groups, want.Groups) || !slices.Equal(p.Roles, want.Roles) {
			t.Errorf("principal %+v, want %+v", p, want)
		}
		if p.ID() != "pam:"+alice.Username {
			t.Errorf("id %s", p.ID())
		}
	})
	t.Run("plain user", func(t *testing.T) {
		p, err := realm(t, nil).Authenticate(ctx, bob.Username, pwBob)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.Groups, []string{bob.Username}) || !slices.Equal(p.Roles, []string{rbac.RoleUser}) {
			t.Errorf("principal %+v", p)
		}
	})
	t.Run("auditor by user name", func(t *testing.T) {
		p, err := realm(t, func(c *PAMConfig) { c.Roles = RoleMap{AuditorUsers: []string{bob.Username}} }).Authenticate(ctx, bob.Username, pwBob)
		if err != nil || !slices.Equal(p.Roles, []string{rbac.RoleAuditor}) {
			t.Errorf("%+v %v", p, err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		for _, pw := range []string{"wrong", pwAlice + "x", strings.ToUpper(pwAlice), pwBob} {
			if _, err := realm(t, nil).Authenticate(ctx, alice.Username, pw); reason(err) != ReasonBadPassword {
				t.Errorf("%q: %v", pw, err)
			}
		}
	})
	t.Run("unknown user", func(t *testing.T) {
		if _, err := realm(t, nil).Authenticate(ctx, randomName("vpt-none-"), "whatever"); reason(err) != ReasonUnknownUser {
			t.Errorf("%v", err)
		}
	})
	t.Run("nologin shell refused", func(t *testing.T) {
		// Early, from the passwd file, and on the helper's answer.
		if _, err := realm(t, nil).Authenticate(ctx, nologin.Username, pwOther); reason(err) != ReasonDisabled {
			t.Errorf("passwd check: %v", err)
		}
		if _, err := realm(t, func(c *PAMConfig) { c.PasswdFile = emptyPasswd }).Authenticate(ctx, nologin.Username, pwOther); reason(err) != ReasonDisabled || !strings.Contains(err.Error(), "nologin") {
			t.Errorf("helper answer: %v", err)
		}
		// Another denied list lets the account in.
		if _, err := realm(t, func(c *PAMConfig) { c.DeniedShells = []string{"/bin/false"} }).Authenticate(ctx, nologin.Username, pwOther); err != nil {
			t.Errorf("custom denied shells: %v", err)
		}
	})
	t.Run("below MinUID refused", func(t *testing.T) {
		if uidOf(system) >= 1000 {
			t.Fatalf("useradd -r gave uid %s", system.Uid)
		}
		if _, err := realm(t, nil).Authenticate(ctx, system.Username, pwOther); reason(err) != ReasonDisabled {
			t.Errorf("system account: %v", err)
		}
		// The realm's own floor, on the helper's answer.
		cfg := func(c *PAMConfig) { c.MinUID, c.PasswdFile = uidOf(bob)+1, emptyPasswd }
		if _, err := realm(t, cfg).Authenticate(ctx, bob.Username, pwBob); reason(err) != ReasonDisabled {
			t.Errorf("realm floor on the helper's answer: %v", err)
		}
		// The helper's floor (--min-uid 1000) holds even when the server asks
		// directly: it is no password oracle for system accounts.
		c := &helperproto.Client{Socket: h.socket}
		if _, err := c.Authenticate(ctx, system.Username, pwOther); helperproto.Code(err) != helperproto.CodeDisabled {
			t.Errorf("helper floor: %v", err)
		}
		if _, err := c.Authenticate(ctx, "root", "x"); helperproto.Code(err) != helperproto.CodeDisabled {
			t.Errorf("root: %v", err)
		}
	})
	t.Run("expired account disabled", func(t *testing.T) {
		if _, err := realm(t, nil).Authenticate(ctx, expired.Username, pwOther); reason(err) != ReasonDisabled {
			t.Errorf("%v", err)
		}
	})
	t.Run("hostile usernames refused before the helper", func(t *testing.T) {
		p := realm(t, func(c *PAMConfig) { c.Socket = "/nonexistent/helper.sock" })
		for _, name := range []string{"*", ")(uid=*", `\`, "a\x00b", strings.Repeat("a", 10_000), "\xff\xfe", "", strings.Repeat("a", 65)} {
			if _, err := p.Authenticate(ctx, name, "pw"); reason(err) != ReasonInvalid {
				t.Errorf("%q: %v", truncateName(name), err)
			}
		}
		for _, pw := range []string{"", "a\x00b", strings.Repeat("p", 1025), "\xff"} {
			if _, err := p.Authenticate(ctx, "alice", pw); reason(err) != ReasonInvalid {
				t.Errorf("password %q: %v", truncateName(pw), err)
			}
		}
	})
	t.Run("malformed request refused by the helper", func(t *testing.T) {
		good := `{"v":1,"id":3,"op":"authenticate","username":"` + alice.Username + `","password":"x"}`
		for name, body := range map[string]string{
			"garbage":         "{{{",
			"username filter": strings.Replace(good, alice.Username, ")(uid=*", 1),
			"username star":   strings.Replace(good, alice.Username, "*", 1),
			"other service":   strings.Replace(good, `"op"`, `"service":"login","op"`, 1),
			"version 2":       strings.Replace(good, `"v":1`, `"v":2`, 1),
			"unknown op":      strings.Replace(good, "authenticate", "chpasswd", 1),
		} {
			res := rawRequest(t, h.socket, []byte(body))
			if res.OK || res.Error != helperproto.CodeInvalid {
				t.Errorf("%s: %+v", name, res)
			}
		}
		res := rawRequest(t, h.socket, make([]byte, helperproto.MaxRequestFrame+1))
		if res.OK || res.Error != helperproto.CodeInvalid {
			t.Errorf("oversize: %+v", res)
		}
	})
	t.Run("helper rate limit", func(t *testing.T) {
		limited := startHelper(t, bin, "--server-user", "0", "--pam-service", service, "--pam-dir", dir, "--user-burst", "1", "--user-rate", "0.001")
		p := realm(t, func(c *PAMConfig) { c.Socket = limited.socket })
		if _, err := p.Authenticate(ctx, bob.Username, pwBob); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Authenticate(ctx, bob.Username, pwBob); reason(err) != ReasonUnavailable || helperproto.Code(err) != helperproto.CodeRateLimited {
			t.Errorf("second login: %v", err)
		}
	})
	t.Run("concurrent logins", func(t *testing.T) {
		p := realm(t, nil)
		errs := make(chan error, 20)
		for i := range 20 {
			go func() {
				u, pw := alice.Username, pwAlice
				if i%2 == 1 {
					u, pw = bob.Username, pwBob
				}
				_, err := p.Authenticate(ctx, u, pw)
				errs <- err
			}()
		}
		for range 20 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("helper down", func(t *testing.T) {
		p := realm(t, func(c *PAMConfig) { c.Socket = filepath.Join(t.TempDir(), "none.sock") })
		t0 := time.Now()
		if _, err := p.Authenticate(ctx, alice.Username, pwAlice); reason(err) != ReasonUnavailable {
			t.Errorf("no socket: %v", err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("took %v", d)
		}
		// A helper that accepts and never answers costs the timeout, no more.
		path := filepath.Join(t.TempDir(), "hung.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		p = realm(t, func(c *PAMConfig) { c.Socket, c.Timeout = path, 300*time.Millisecond })
		t0 = time.Now()
		if _, err := p.Authenticate(ctx, alice.Username, pwAlice); reason(err) != ReasonUnavailable {
			t.Errorf("hung helper: %v", err)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("hung helper took %v", d)
		}
		// A stopped helper.
		stopped := startHelper(t, bin, "--server-user", "0", "--pam-service", service, "--pam-dir", dir)
		stopped.stop(t)
		p = realm(t, func(c *PAMConfig) { c.Socket = stopped.socket })
		if _, err := p.Authenticate(ctx, alice.Username, pwAlice); reason(err) != ReasonUnavailable {
			t.Errorf("stopped helper: %v", err)
		}
	})
	t.Run("foreign uid refused", func(t *testing.T) {
		other := startHelper(t, bin, "--server-user", bob.Uid, "--pam-service", service, "--pam-dir", dir)
		fi, err := os.Stat(other.socket)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o660 || st.Uid != 0 || strconv.Itoa(int(st.Gid)) != bob.Gid {
			t.Errorf("socket mode %v owner %d:%d, want 0660 root:%s", fi.Mode().Perm(), st.Uid, st.Gid, bob.Gid)
		}
		p := realm(t, func(c *PAMConfig) { c.Socket = other.socket })
		if _, err := p.Authenticate(ctx, alice.Username, pwAlice); reason(err) != ReasonUnavailable {
			t.Errorf("root against a helper for uid %s: %v", bob.Uid, err)
		}
		other.waitLog(t, "peer refused", "peer_uid=0", "allowed_uid="+bob.Uid)
	})
	t.Run("helper refuses to start without its service file", func(t *testing.T) {
		for name, args := range map[string][]string{
			"missing file":    {"--pam-dir", t.TempDir()},
			"missing service": {"--pam-dir", dir, "--pam-service", "virtportal-absent"},
			"path in service": {"--pam-dir", dir, "--pam-service", "../etc/passwd"},
		} {
			cmd := exec.Command(bin, append([]string{"--socket", filepath.Join(t.TempDir(), "s.sock"), "--server-user", "0"}, args...)...)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("%s: started (%v):\n%s", name, err, out)
			}
			if name != "path in service" && !strings.Contains(string(out), "missing") {
				t.Errorf("%s: unclear message: %s", name, out)
			}
		}
	})
	t.Run("stale socket replaced, live socket kept", func(t *testing.T) {
		// h is live on its socket: a second helper must not steal it.
		cmd := exec.Command(bin, "--socket", h.socket, "--server-user", "0", "--pam-service", service, "--pam-dir", dir)
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "another process") {
			t.Errorf("second helper on a live socket: %v\n%s", err, out)
		}
		// A socket file nobody listens on is replaced.
		stale := filepath.Join(t.TempDir(), "stale.sock")
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ln.SetUnlinkOnClose(false)
		ln.Close()
		h2 := startHelperAt(t, bin, stale, "--server-user", "0", "--pam-service", service, "--pam-dir", dir)
		if _, err := realm(t, func(c *PAMConfig) { c.Socket = h2.socket }).Authenticate(ctx, bob.Username, pwBob); err != nil {
			t.Errorf("helper on a replaced stale socket: %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		p := realm(t, nil)
		users, err := p.SearchUsers(ctx, "vpt-", 500)
		if err != nil {
			t.Fatal(err)
		}
		names := dirNames(users)
		for _, u := range []*user.User{alice, bob, expired} {
			if !slices.Contains(names, u.Username) {
				t.Errorf("%s not listed: %v", u.Username, names)
			}
		}
		for _, u := range []*user.User{nologin, system} {
			if slices.Contains(names, u.Username) {
				t.Errorf("%s listed: %v", u.Username, names)
			}
		}
		for _, e := range users.Items {
			if e.Kind != "user" || e.Realm != "pam" {
				t.Errorf("entry %+v", e)
			}
			if e.Name == alice.Username && e.Display != aliceName {
				t.Errorf("display %q", e.Display)
			}
		}
		if !slices.IsSorted(names) {
			t.Errorf("unsorted %v", names)
		}
		// GECOS matches, case-insensitively.
		if l, _ := p.SearchUsers(ctx, strings.ToUpper(aliceName), 10); !slices.Equal(dirNames(l), []string{alice.Username}) {
			t.Errorf("by full name: %+v", l)
		}
		// The cap.
		if l, _ := p.SearchUsers(ctx, "vpt-", 1); len(l.Items) != 1 || !l.Truncated {
			t.Errorf("capped: %+v", l)
		}
		if l, _ := p.SearchUsers(ctx, "root", 10); len(l.Items) != 0 || l.Items == nil {
			t.Errorf("root listed: %+v", l)
		}
		groups, err := p.SearchGroups(ctx, "", 10_000)
		if err != nil {
			t.Fatal(err)
		}
		gnames := dirNames(groups)
		for _, g := range []string{admins, alice.Username, bob.Username} {
			if !slices.Contains(gnames, g) {
				t.Errorf("group %s not listed", g)
			}
		}
		for _, g := range []string{"root", "daemon", "nogroup"} {
			if slices.Contains(gnames, g) {
				t.Errorf("system group %s listed", g)
			}
		}
		// The system groups named in the role map stay assignable.
		if _, err := user.LookupGroup("sudo"); err == nil {
			if !slices.Contains(dirNames(mustGroups(t, realm(t, func(c *PAMConfig) { c.Roles = DefaultPAMConfig().Roles }), "sud")), "sudo") {
				t.Error("sudo not listed with the default role map")
			}
		}
		for name, want := range map[string]bool{alice.Username: true, nologin.Username: false, system.Username: false, "root": false, "vpt-none": false} {
			if ok, err := p.LookupUser(ctx, name); err != nil || ok != want {
				t.Errorf("LookupUser(%s) = %v %v, want %v", name, ok, err, want)
			}
		}
		for name, want := range map[string]bool{admins: true, "root": false, "vpt-none": false} {
			if ok, err := p.LookupGroup(ctx, name); err != nil || ok != want {
				t.Errorf("LookupGroup(%s) = %v %v, want %v", name, ok, err, want)
			}
		}
	})
	t.Run("helper log", func(t *testing.T) {
		// One request of each outcome, then the log: one line each, no password.
		p := realm(t, nil)
		_, _ = p.Authenticate(ctx, alice.Username, pwAlice)
		_, _ = p.Authenticate(ctx, alice.Username, pwBob)
		_, _ = p.Authenticate(ctx, randomName("vpt-none-"), pwOther)
		_, _ = (&helperproto.Client{Socket: h.socket}).Authenticate(ctx, system.Username, pwOther)
		rawRequest(t, h.socket, []byte(`{"v":1,"id":1,"op":"authenticate","username":"*","password":"`+pwOther+`"}`))
		h.stop(t) // flushes its stderr
		logs := h.logs.String()
		for _, pw := range []string{pwAlice, pwBob, pwOther} {
			if strings.Contains(logs, pw) {
				t.Errorf("password %q in the helper log", pw)
			}
		}
		for _, want := range []string{"result=ok", "result=bad_credentials", "result=unknown_user", "result=disabled", "result=invalid", "user=" + alice.Username, "peer_uid=0", "helper stopped"} {
			if !strings.Contains(logs, want) {
				t.Errorf("helper log lacks %q", want)
			}
		}
		sc := bufio.NewScanner(strings.NewReader(logs))
		for sc.Scan() {
			if l := sc.Text(); strings.Contains(l, "helper request") && !strings.Contains(l, "duration=") {
				t.Errorf("request line without a duration: %s", l)
			}
		}
	})
}

func mustGroups(t *testing.T, p *PAM, q string) api.DirList {
	t.Helper()
	l, err := p.SearchGroups(context.Background(), q, 100)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func dirNames(l api.DirList) []string {
	var out []string
	for _, e := range l.Items {
		out = append(out, e.Name)
	}
	return out
}

func truncateName(s string) string {
	if len(s) > 20 {
		return s[:20] + "…"
	}
	return s
}

// rawRequest sends body as one frame, bypassing the client's own checks.
func rawRequest(t *testing.T, socket string, body []byte) helperproto.Response {
	t.Helper()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)); err != nil {
		t.Fatal(err)
	}
	b, err := helperproto.ReadFrame(c, helperproto.MaxResponseFrame)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	var res helperproto.Response
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestPAMUsernameRules checks that the helper's username rule is
// ValidUsername with a shorter cap, so the realm and the helper never
// disagree about a name.
func TestPAMUsernameRules(t *testing.T) {
	names := []string{"alice", "a.b-c_d@example.org", "_x", "-x", ".x", "*", ")(uid=*", `\`, "a\x00b", "\xff", "", "a b", "ä",
		strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("a", 10_000)}
	for _, n := range names {
		want := ValidUsername(n) && len(n) <= helperproto.MaxUsernameLen
		if got := helperproto.ValidUsername(n); got != want {
			t.Errorf("%q: helper %v, auth %v", truncateName(n), got, want)
		}
	}
	if helperproto.MaxPasswordLen != MaxPasswordLen {
		t.Error("password caps differ")
	}
}

func TestPAMReasons(t *testing.T) {
	for code, want := range map[string]string{
		helperproto.CodeBadCredentials: ReasonBadPassword,
		helperproto.CodeUnknownUser:    ReasonUnknownUser,
		helperproto.CodeDisabled:       ReasonDisabled,
		helperproto.CodeInvalid:        ReasonInvalid,
		helperproto.CodeRateLimited:    ReasonUnavailable,
		helperproto.CodeBusy:           ReasonUnavailable,
		helperproto.CodeUnavailable:    ReasonUnavailable,
		helperproto.CodeInternal:       ReasonUnavailable,
	} {
		if got := reasonOf(code); got != want {
			t.Errorf("%s → %s, want %s", code, got, want)
		}
	}
}

// TestPAMDirectoryFiles runs the listing over files written by the test.
func TestPAMDirectoryFiles(t *testing.T) {
	dir := t.TempDir()
	passwd := filepath.Join(dir, "passwd")
	group := filepath.Join(dir, "group")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(passwd, `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
alice:x:1000:1000:Alice Liddell,,,:/home/alice:/bin/bash
bob:x:1001:1001:Bob:/home/bob:/bin/false
carol:x:1002:1002::/home/carol:
alice:x:1003:1003:Second Alice:/home/alice2:/bin/bash
+nisuser::::::
bad*name:x:1004:1004::/:/bin/sh
dave:x:notanumber:1:::/bin/sh
short:x:1005
Eve:x:1006:1006:Eve Online:/home/eve:/usr/bin/zsh
`)
	write(group, `root:x:0:
sudo:x:27:alice
wheel:x:10:
adm:x:4:
nogroup:x:65534:
alice:x:1000:
devs:x:2000:alice,eve
`)
	p, err := NewPAM(PAMConfig{Socket: "/nonexistent", PasswdFile: passwd, GroupFile: group}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	users, err := p.SearchUsers(ctx, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := dirNames(users); !slices.Equal(got, []string{"Eve", "alice", "carol"}) {
		t.Errorf("users %v", got)
	}
	if users.Items[1].Display != "Alice Liddell" {
		t.Errorf("display %q", users.Items[1].Display)
	}
	if l, _ := p.SearchUsers(ctx, "ONLINE", 100); !slices.Equal(dirNames(l), []string{"Eve"}) {
		t.Errorf("gecos search %v", dirNames(l))
	}
	if l, _ := p.SearchUsers(ctx, "", 2); len(l.Items) != 2 || !l.Truncated {
		t.Errorf("cap %+v", l)
	}
	if l, _ := p.SearchUsers(ctx, "zzz", 2); l.Items == nil || len(l.Items) != 0 || l.Truncated {
		t.Errorf("no match %+v", l)
	}
	groups, _ := p.SearchGroups(ctx, "", 100)
	if got := dirNames(groups); !slices.Equal(got, []string{"alice", "devs", "sudo", "wheel"}) {
		t.Errorf("groups %v", got)
	}
	// The early refusal from the passwd file needs no helper at all.
	for _, name := range []string{"root", "daemon", "bob", "nobody"} {
		if _, err := p.Authenticate(ctx, name, "pw"); reason(err) != ReasonDisabled {
			t.Errorf("%s: %v", name, err)
		}
	}
	// The first entry of a name wins, and a listed user goes to the helper (absent here).
	if _, err := p.Authenticate(ctx, "alice", "pw"); reason(err) != ReasonUnavailable {
		t.Errorf("alice without a helper: %v", err)
	}
	// Edits are seen: the cache follows the file.
	write(passwd, "frank:x:1500:1500:Frank:/home/frank:/bin/sh\n")
	if l, _ := p.SearchUsers(ctx, "", 100); !slices.Equal(dirNames(l), []string{"frank"}) {
		t.Errorf("after edit %v", dirNames(l))
	}
	// A missing file is "directory down", not an empty answer.
	os.Remove(group)
	if _, err := p.SearchGroups(ctx, "", 10); reason(err) != ReasonUnavailable {
		t.Errorf("missing group file: %v", err)
	}
	// Configuration checks.
	for name, cfg := range map[string]PAMConfig{
		"relative socket": {Socket: "helper.sock"},
		"colon in name":   {Name: "a:b"},
		"negative uid":    {MinUID: -1},
	} {
		if _, err := NewPAM(cfg, nil); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	d, _ := NewPAM(PAMConfig{}, nil)
	if c := d.Config(); c.Name != "pam" || c.MinUID != 1000 || c.Socket != helperproto.DefaultSocket || !slices.Equal(c.Roles.AdminGroups, []string{"sudo", "wheel"}) {
		t.Errorf("defaults %+v", c)
	}
}

// TestPAMRefresh: groups and account state are re-read without the helper,
// so a session follows group changes, a nologin shell and a deleted account.
func TestPAMRefresh(t *testing.T) {
	requireRoot(t)
	admins := addGroup(t)
	u := addUser(t, "Refresh-Pw-1")
	cfg := DefaultPAMConfig()
	cfg.Socket = filepath.Join(t.TempDir(), "no-helper.sock") // Refresh must not need it
	cfg.Roles = RoleMap{AdminGroups: []string{admins}}
	p, err := NewPAM(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	got, err := p.Refresh(ctx, u.Username)
	if err != nil || slices.Contains(got.Groups, admins) || !slices.Equal(got.Roles, []string{"user"}) {
		t.Fatalf("before: %+v %v", got, err)
	}
	run(t, "", "usermod", "-aG", admins, u.Username)
	got, err = p.Refresh(ctx, u.Username)
	if err != nil || !slices.Contains(got.Groups, admins) || !slices.Equal(got.Roles, []string{"admin"}) {
		t.Fatalf("after joining %s: %+v %v", admins, got, err)
	}
	run(t, "", "usermod", "-s", "/usr/sbin/nologin", u.Username)
	if _, err := p.Refresh(ctx, u.Username); reason(err) != ReasonDisabled {
		t.Fatalf("nologin shell: %v", err)
	}
	if _, err := p.Refresh(ctx, randomName("vpt-gone-")); reason(err) != ReasonUnknownUser {
		t.Fatalf("no such account: %v", err)
	}
	if _, err := p.Refresh(ctx, "a*"); reason(err) != ReasonInvalid {
		t.Fatalf("bad name: %v", err)
	}
}
