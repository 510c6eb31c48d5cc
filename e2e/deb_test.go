//go:build e2e

package e2e

import (
	"bufio"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/internal/syncbuf"
)

// unit is what this test needs of a systemd unit's [Service] section.
type unit struct {
	execStart      []string
	user, group    string
	supplementary  []string
	runtimeDir     string
	runtimeDirMode os.FileMode
}

func readUnit(t *testing.T, path string) unit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var u unit
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		switch k {
		case "ExecStart":
			u.execStart = strings.Fields(v) // the units quote nothing
		case "User":
			u.user = v
		case "Group":
			u.group = v
		case "SupplementaryGroups":
			u.supplementary = strings.Fields(v)
		case "RuntimeDirectory":
			u.runtimeDir = "/run/" + v
		case "RuntimeDirectoryMode":
			m, err := strconv.ParseUint(v, 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			u.runtimeDirMode = os.FileMode(m)
		}
	}
	if len(u.execStart) == 0 {
		t.Fatalf("%s has no ExecStart", path)
	}
	return u
}

// credential is the unit's User, Group and SupplementaryGroups as numbers.
func (u unit) credential(t *testing.T) *syscall.Credential {
	t.Helper()
	if u.user == "" {
		return nil
	}
	usr, err := user.Lookup(u.user)
	if err != nil {
		t.Fatal(err)
	}
	gid := func(name string) uint32 {
		g, err := user.LookupGroup(name)
		if err != nil {
			t.Fatal(err)
		}
		n, _ := strconv.Atoi(g.Gid)
		return uint32(n)
	}
	uid, _ := strconv.Atoi(usr.Uid)
	primary, _ := strconv.Atoi(usr.Gid)
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(primary)}
	if u.group != "" {
		c.Gid = gid(u.group)
	}
	for _, g := range u.supplementary {
		c.Groups = append(c.Groups, gid(g))
	}
	return c
}

func debRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestDebianPackage installs the package `make deb` built, runs both
// programs as their units say (no systemd here: each unit's ExecStart as
// its User and groups), logs in through PAM, lets `virtportal doctor`
// judge the installation, and purges the package.
func TestDebianPackage(t *testing.T) {
	deb := os.Getenv("VIRTPORTAL_DEB")
	if deb == "" {
		t.Fatal("VIRTPORTAL_DEB is not set: run the end-to-end suite with `make e2e` (it builds the package)")
	}
	kvmURI(t) // the package's configuration uses qemu:///system
	if exec.Command("dpkg", "-s", "virtportal").Run() == nil {
		t.Fatal("a virtportal package is already installed here; this test installs and purges its own")
	}
	_, noUser := user.Lookup("virtportal")
	t.Cleanup(func() {
		_ = exec.Command("dpkg", "--purge", "virtportal").Run()
		if noUser != nil { // the package made the user: the test removes it (purge keeps it, as policy asks)
			_ = exec.Command("userdel", "virtportal").Run()
		}
	})
	debRun(t, "dpkg", "-i", deb)

	svc, err := user.Lookup("virtportal")
	if err != nil {
		t.Fatalf("the package made no user virtportal: %v", err)
	}
	if groups := debRun(t, "id", "-nG", "virtportal"); !slices.Contains(strings.Fields(groups), "libvirt") {
		t.Errorf("virtportal's groups: %s", groups)
	}
	for path, want := range map[string]struct {
		mode       os.FileMode
		uid, group string
	}{
		"/var/lib/virtportal":         {0o700 | os.ModeDir, svc.Uid, svc.Gid},
		"/etc/virtportal/config.yaml": {0o640, "0", svc.Gid},
		"/etc/pam.d/virtportal":       {0o644, "0", "0"},
		"/usr/bin/virtportal":         {0o755, "0", "0"},
		"/usr/sbin/virtportal-helper": {0o755, "0", "0"},
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != want.mode || strconv.Itoa(int(st.Uid)) != want.uid || strconv.Itoa(int(st.Gid)) != want.group {
			t.Errorf("%s: %v %d:%d, want %v %s:%s", path, fi.Mode(), st.Uid, st.Gid, want.mode, want.uid, want.group)
		}
	}

	helperUnit := readUnit(t, "/lib/systemd/system/virtportal-helper.service")
	serverUnit := readUnit(t, "/lib/systemd/system/virtportal.service")
	// What systemd would do for the units: the server listens on a free
	// port instead of 8080 (an environment override, as Environment= would).
	env := []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/var/lib/virtportal", "VIRTPORTAL_LISTEN=127.0.0.1:0"}
	doctor := func() (string, error) {
		cmd := exec.Command(serverUnit.execStart[0], "doctor", "--config", "/etc/virtportal/config.yaml")
		cmd.Env = env
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: serverUnit.credential(t)}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// Before the helper runs, doctor names what is missing.
	if out, err := doctor(); err == nil || !strings.Contains(out, "FAIL  helper socket /run/virtportal/helper.sock: missing") {
		t.Fatalf("doctor without the helper: %v\n%s", err, out)
	}

	if helperUnit.runtimeDir != "/run/virtportal" {
		t.Fatalf("helper's RuntimeDirectory %q", helperUnit.runtimeDir)
	}
	if err := os.Mkdir(helperUnit.runtimeDir, helperUnit.runtimeDirMode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(helperUnit.runtimeDir) })
	helper := exec.Command(helperUnit.execStart[0], helperUnit.execStart[1:]...)
	helper.Env = env
	helperLog, _ := runHelper(t, helper, "/run/virtportal/helper.sock")

	server := exec.Command(serverUnit.execStart[0], serverUnit.execStart[1:]...)
	server.Env = env
	server.Dir = "/"
	server.SysProcAttr = &syscall.SysProcAttr{Credential: serverUnit.credential(t)}
	var logs syncbuf.Buffer
	server.Stderr = &logs
	url := runServer(t, server, &logs)
	eventually(t, "server ready", 30*time.Second, func() bool {
		res, err := http.Get(url + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	status, err := os.ReadFile("/proc/" + strconv.Itoa(server.Process.Pid) + "/status")
	if err != nil || !strings.Contains(string(status), "\nUid:\t"+svc.Uid+"\t") {
		t.Fatalf("the server does not run as virtportal: %v\n%s", err, status)
	}

	if out, err := doctor(); err != nil || !strings.Contains(out, "No problems found.") {
		t.Fatalf("doctor on the running installation: %v\n%s", err, out)
	}

	// A system account in group sudo logs in as an administrator through
	// the installed PAM service and the helper's socket.
	password := "deb-" + randomHex()
	admin := pamAddUser(t, "vpt-deb-", password, "-m", "-s", "/bin/bash", "-G", "sudo")
	jar, _ := cookiejar.New(nil)
	c := &session{t: t, base: url, hc: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
	var sess api.Session
	if st := c.call("POST", "/api/v1/session", api.LoginRequest{Realm: "pam", Username: admin.Username, Password: password}, &sess); st != 200 {
		t.Fatalf("PAM login: %d\nserver log:\n%s\nhelper log:\n%s", st, logs.String(), helperLog)
	}
	if !slices.Equal(sess.Roles, []string{"admin"}) {
		t.Errorf("session roles %v, want admin (group sudo)", sess.Roles)
	}
	c.csrf = sess.CSRFToken
	var list api.VMList
	if st := c.call("GET", "/api/v1/vms", nil, &list); st != 200 {
		t.Fatalf("guests on qemu:///system as the service user: %d\n%s", st, logs.String())
	}

	// Stop both as systemd would (SIGTERM), then purge.
	_ = server.Process.Signal(syscall.SIGTERM)
	_ = helper.Process.Signal(syscall.SIGTERM)
	eventually(t, "server stopped", 25*time.Second, func() bool {
		_, err := http.Get(url + "/healthz")
		return err != nil
	})
	eventually(t, "helper stopped", 25*time.Second, func() bool {
		_, err := os.Lstat("/run/virtportal/helper.sock")
		return os.IsNotExist(err)
	})
	debRun(t, "dpkg", "--purge", "virtportal")
	if exec.Command("dpkg", "-s", "virtportal").Run() == nil {
		t.Error("dpkg still lists virtportal after the purge")
	}
	for _, path := range []string{"/usr/bin/virtportal", "/usr/sbin/virtportal-helper", "/etc/virtportal", "/etc/pam.d/virtportal",
		"/var/lib/virtportal", "/lib/systemd/system/virtportal.service", "/lib/systemd/system/virtportal-helper.service", "/usr/share/doc/virtportal"} {
		if _, err := os.Lstat(path); !os.IsNotExist(err) {
			t.Errorf("%s is still there after the purge (%v)", path, err)
		}
	}
}
