//go:build e2e

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/cookiejar"
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
)

// TestPAMLogin runs the deployment of DESIGN.md §7 for real: the server
// binary as an unprivileged system user, virtportal-helper as root with the
// shipped PAM service file, and logins through POST /api/v1/session.
func TestPAMLogin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the PAM suite creates system users and runs the helper as root: run it as root (CI does)")
	}
	serverBin := binary(t)
	helperBin := pamHelperBinary(t)

	// A tree every user may enter (t.TempDir is private to root) holding
	// copies of the binaries, the PAM folder, the socket and the data dir.
	base, err := os.MkdirTemp("", "vpt-e2e-pam-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	srvUser := pamAddUser(t, "vpt-server-", "", "-r", "-U", "-M", "-s", "/usr/sbin/nologin")
	admins := pamAddGroup(t)
	const pwAdmin, pwPlain = "e2e-Admin-pw ä", "e2e-plain-pw"
	admin := pamAddUser(t, "vpt-", pwAdmin, "-m", "-s", "/bin/bash", "-G", admins, "-c", "E2E Admin")
	plain := pamAddUser(t, "vpt-", pwPlain, "-m", "-s", "/bin/bash")

	// The shipped sample service file, with the host's stacks it includes.
	pamDir := filepath.Join(base, "pam.d")
	if err := os.Mkdir(pamDir, 0o755); err != nil {
		t.Fatal(err)
	}
	pamCopy(t, "../packaging/virtportal.pam", filepath.Join(pamDir, "virtportal"), 0o644)
	for _, inc := range []string{"common-auth", "common-account"} {
		pamCopy(t, filepath.Join("/etc/pam.d", inc), filepath.Join(pamDir, inc), 0o644)
	}

	socket := filepath.Join(base, "run", "helper.sock")
	helperLog, helperDone := runHelper(t, exec.Command(helperBin, "--socket", socket, "--server-user", srvUser.Username, "--pam-dir", pamDir), socket)
	fi, err := os.Stat(socket)
	if err != nil {
		t.Fatal(err)
	}
	if st := fi.Sys().(*syscall.Stat_t); fi.Mode().Perm() != 0o660 || st.Uid != 0 || strconv.Itoa(int(st.Gid)) != srvUser.Gid {
		t.Errorf("socket %v %d:%d, want 0660 root:%s", fi.Mode().Perm(), st.Uid, st.Gid, srvUser.Gid)
	}

	srv := startPAMServer(t, serverBin, base, srvUser, socket, admins)

	t.Run("realms offered", func(t *testing.T) {
		var realms api.Realms
		if st := pamClient(t, srv).call("GET", "/api/v1/realms", nil, &realms); st != 200 {
			t.Fatalf("realms: %d", st)
		}
		if !slices.ContainsFunc(realms.Items, func(r api.Realm) bool { return r.Name == "pam" }) {
			t.Errorf("pam not offered: %+v", realms)
		}
	})
	t.Run("admin by group", func(t *testing.T) {
		c := pamClient(t, srv)
		var sess api.Session
		if st := c.call("POST", "/api/v1/session", api.LoginRequest{Realm: "pam", Username: admin.Username, Password: pwAdmin}, &sess); st != 200 {
			t.Fatalf("login: %d\nserver log:\n%s\nhelper log:\n%s", st, srv.logs, helperLog)
		}
		c.csrf = sess.CSRFToken
		if sess.Identity != "pam:"+admin.Username || !slices.Equal(sess.Roles, []string{"admin"}) || !slices.Contains(sess.Groups, admins) {
			t.Errorf("session %+v", sess)
		}
		// The unprivileged server lists the host's accounts by itself.
		var dir api.DirList
		if st := c.call("GET", "/api/v1/directory/users?realm=pam&q="+admin.Username, nil, &dir); st != 200 {
			t.Fatalf("directory: %d", st)
		}
		if len(dir.Items) != 1 || dir.Items[0].Name != admin.Username || dir.Items[0].Display != "E2E Admin" {
			t.Errorf("directory %+v", dir)
		}
	})
	t.Run("plain user", func(t *testing.T) {
		var sess api.Session
		if st := pamClient(t, srv).call("POST", "/api/v1/session", api.LoginRequest{Realm: "pam", Username: plain.Username, Password: pwPlain}, &sess); st != 200 {
			t.Fatalf("login: %d", st)
		}
		if !slices.Equal(sess.Roles, []string{"user"}) {
			t.Errorf("session %+v", sess)
		}
	})
	t.Run("wrong password and unknown user", func(t *testing.T) {
		for _, req := range []api.LoginRequest{
			{Realm: "pam", Username: plain.Username, Password: pwAdmin},
			{Realm: "pam", Username: "vpt-nobody-" + randomHex(), Password: pwPlain},
			{Realm: "pam", Username: srvUser.Username, Password: pwPlain}, // a system account
		} {
			if st := pamClient(t, srv).call("POST", "/api/v1/session", req, nil); st != 401 {
				t.Errorf("%s: %d, want 401", req.Username, st)
			}
		}
	})
	t.Run("helper refuses a foreign uid", func(t *testing.T) {
		// root is not the server's user: it gets no answer at all.
		c := &helperproto.Client{Socket: socket, Timeout: 5 * time.Second}
		if _, err := c.Authenticate(context.Background(), admin.Username, pwAdmin); helperproto.Code(err) != helperproto.CodeUnavailable {
			t.Errorf("root connecting: %v", err)
		}
		helperLog.wait(t, helperDone, "peer refused", "peer_uid=0", "allowed_uid="+srvUser.Uid)
		helperLog.wait(t, helperDone, "helper request", "peer_uid="+srvUser.Uid, "user="+admin.Username, "result=ok")
	})
	t.Run("no password in any log", func(t *testing.T) {
		for _, pw := range []string{pwAdmin, pwPlain} {
			if strings.Contains(helperLog.String(), pw) || strings.Contains(srv.logs.String(), pw) {
				t.Errorf("password %q logged", pw)
			}
		}
	})
}

// pamHelperBinary returns VIRTPORTAL_HELPER_BIN, or builds the helper.
func pamHelperBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("VIRTPORTAL_HELPER_BIN"); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("VIRTPORTAL_HELPER_BIN: %v", err)
		}
		return bin
	}
	bin := filepath.Join(t.TempDir(), "virtportal-helper")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/virtportal/virtportal/cmd/virtportal-helper").CombinedOutput()
	if err != nil {
		t.Fatalf("go build the helper (or set VIRTPORTAL_HELPER_BIN): %v\n%s", err, out)
	}
	return bin
}

// randomHex is 8 random hex digits, for names no other run uses.
func randomHex() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// pamRun runs a command, retrying while another process holds the passwd lock.
func pamRun(t *testing.T, stdin, name string, args ...string) {
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

func pamAddGroup(t *testing.T) string {
	t.Helper()
	name := "vpt-g" + randomHex()
	pamRun(t, "", "groupadd", name)
	t.Cleanup(func() { _ = exec.Command("groupdel", name).Run() })
	return name
}

// pamAddUser creates a user (password optional), removed in t.Cleanup.
func pamAddUser(t *testing.T, prefix, password string, flags ...string) *user.User {
	t.Helper()
	name := prefix + randomHex()
	pamRun(t, "", "useradd", append(flags, name)...)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", "-r", name).CombinedOutput(); err != nil && !strings.Contains(string(out), "not found") {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
	if password != "" {
		pamRun(t, name+":"+password+"\n", "chpasswd")
	}
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func pamCopy(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// wait waits for a line holding every part, failing if the process exits first.
// pamLog collects a process's stderr for waiting on lines.
type pamLog struct{ syncbuf.Buffer }

func (l *pamLog) wait(t *testing.T, exited <-chan error, parts ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		for line := range strings.Lines(l.String()) {
			if !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) }) {
				return
			}
		}
		select {
		case err := <-exited:
			t.Fatalf("process exited (%v) before logging %q:\n%s", err, parts, l)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q:\n%s", parts, l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type pamServer struct {
	url  string
	logs *pamLog
}

// startPAMServer runs `virtportal serve` as srvUser (not root: no
// --allow-root) with the pam realm on the helper's socket.
func startPAMServer(t *testing.T, serverBin, base string, srvUser *user.User, socket, adminGroup string) *pamServer {
	t.Helper()
	uid, _ := strconv.Atoi(srvUser.Uid)
	gid, _ := strconv.Atoi(srvUser.Gid)
	bin := filepath.Join(base, "virtportal")
	pamCopy(t, serverBin, bin, 0o755)
	data := filepath.Join(base, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, uid, gid); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--libvirt-uri", "test:///default",
		"--realms-pam-enabled", "--realms-pam-socket", socket, "--realms-pam-roles-admin-groups", adminGroup)
	cmd.Env = []string{"HOME=" + data, "PATH=/usr/bin:/bin"}
	cmd.Dir = data
	// Credential with no Groups drops root's supplementary groups: the
	// server holds exactly its user's primary group, the socket's group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	s := &pamServer{logs: &pamLog{}}
	cmd.Stderr = s.logs
	s.url = runServer(t, cmd, s.logs)
	// It really runs as the system user.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "\nUid:\t"+srvUser.Uid+"\t") {
		t.Fatalf("server not running as uid %s:\n%s", srvUser.Uid, status)
	}
	return s
}

// pamClient is a fresh cookie jar on the server, reusing the suite's session.call.
func pamClient(t *testing.T, s *pamServer) *session {
	jar, _ := cookiejar.New(nil)
	return &session{t: t, base: s.url, hc: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
}

// runHelper starts virtportal-helper as cmd says, waits until it listens,
// and stops it in t.Cleanup: it must exit cleanly on SIGTERM and take its
// socket away. It returns the helper's log and what its exit sends.
func runHelper(t *testing.T, cmd *exec.Cmd, socket string) (*pamLog, <-chan error) {
	t.Helper()
	log := &pamLog{}
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("helper exited with %v after SIGTERM:\n%s", err, log)
			}
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("helper ignored SIGTERM")
		}
		if _, err := os.Lstat(socket); !os.IsNotExist(err) {
			t.Errorf("helper left its socket: %v", err)
		}
	})
	log.wait(t, done, "helper listening")
	return log, done
}
