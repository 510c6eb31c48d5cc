//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/internal/syncbuf"
)

// binary returns the server binary the Makefile built, failing loudly without it.
func binary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("VIRTPORTAL_BIN")
	if bin == "" {
		t.Fatal("VIRTPORTAL_BIN is not set: run the end-to-end suite with `make e2e`")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("server binary: %v (run `make build`)", err)
	}
	return bin
}

// server is the real virtportal process.
type server struct {
	url, user, password string
	cmd                 *exec.Cmd
}

// plainUser is a local user without a global admin role, added to every server.
const plainUser = "e2euser"

var listenRE = regexp.MustCompile(`listening on (https?://\S+)`)

// runServer starts cmd, a `virtportal serve` writing its log to logs, and
// returns the URL it prints; in t.Cleanup it sends SIGTERM and expects a
// clean exit within 25 s.
func runServer(t *testing.T, cmd *exec.Cmd, logs fmt.Stringer) string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found, exited := make(chan string, 1), make(chan struct{})
	var waitErr error
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		// Wait only once stdout is read to its end, as os/exec asks.
		waitErr = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			if waitErr != nil {
				t.Errorf("server exited with %v after SIGTERM; log:\n%s", waitErr, logs)
			}
		case <-time.After(25 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("server ignored SIGTERM")
		}
	})
	select {
	case u := <-found:
		return u
	case <-exited:
		t.Fatalf("server exited (%v) before listening; log:\n%s", waitErr, logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not start within 30 s; log:\n%s", logs)
	}
	return ""
}

// startServer adds a local admin and starts `virtportal serve` on a random
// loopback port; it is stopped with SIGTERM in t.Cleanup and must exit cleanly.
func startServer(t *testing.T, uri string) *server {
	t.Helper()
	bin := binary(t)
	dir := t.TempDir()
	s := &server{user: "e2eadmin", password: "e2e-" + time.Now().Format("150405.000000")}
	add := exec.Command(bin, "user", "add", "--admin", "--password-stdin", "--data-dir", dir, s.user)
	add.Stdin = strings.NewReader(s.password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	add = exec.Command(bin, "user", "add", "--password-stdin", "--data-dir", dir, plainUser)
	add.Stdin = strings.NewReader(s.password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	s.cmd = exec.Command(bin, "serve", "--allow-root", "--listen", "127.0.0.1:0", "--data-dir", dir, "--libvirt-uri", uri)
	var logs syncbuf.Buffer
	s.cmd.Stderr = &logs
	s.url = runServer(t, s.cmd, &logs)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.url + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server never ready; log:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// session is a logged-in API client.
type session struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (s *server) login(t *testing.T) *session { return s.loginAs(t, s.user) }

// loginAs logs user in with the suite's password.
func (s *server) loginAs(t *testing.T, user string) *session {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &session{t: t, base: s.url, hc: &http.Client{Jar: jar, Timeout: 60 * time.Second}}
	var sess api.Session
	if st := c.call("POST", "/api/v1/session", api.LoginRequest{Realm: "local", Username: user, Password: s.password}, &sess); st != 200 {
		t.Fatalf("login: %d", st)
	}
	c.csrf = sess.CSRFToken
	return c
}

// call sends a JSON request and decodes a 2xx answer into out; it returns the status.
func (c *session) call(method, path string, in, out any) int {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, c.base+path, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, raw)
		}
	}
	if res.StatusCode/100 != 2 {
		c.t.Logf("%s %s → %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode
}
