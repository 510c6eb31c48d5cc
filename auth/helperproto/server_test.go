package helperproto

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/virtportal/virtportal/internal/syncbuf"
)

// childEnv switches the test binary into a client that connects to the
// socket it names, for the SO_PEERCRED tests run under another uid.
const childEnv = "HELPERPROTO_TEST_CHILD_SOCKET"

func TestMain(m *testing.M) {
	if sock := os.Getenv(childEnv); sock != "" {
		c := Client{Socket: sock, Timeout: 5 * time.Second}
		u, err := c.Authenticate(context.Background(), "alice", "right")
		if err != nil {
			fmt.Printf("uid=%d error %s\n", os.Getuid(), Code(err))
		} else {
			fmt.Printf("uid=%d ok %s\n", os.Getuid(), u.Name)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakePAM accepts alice/right; "slow" blocks until release is closed.
type fakePAM struct {
	calls   atomic.Int32
	release chan struct{}
	mu      sync.Mutex
	seen    []Secret // the secrets handed in, to check they are wiped
}

func newFake() *fakePAM { return &fakePAM{release: make(chan struct{})} }

func (f *fakePAM) Authenticate(ctx context.Context, username string, password Secret) (UserInfo, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.seen = append(f.seen, password)
	f.mu.Unlock()
	switch {
	case username == "slow" || strings.HasPrefix(username, "made"):
		<-f.release
		if username != "slow" {
			return UserInfo{}, &Error{Code: CodeBadCredentials}
		}
		return UserInfo{Name: "slow", UID: 1001, GID: 1001, Groups: []string{"slow"}}, nil
	case username == "panic":
		panic("boom")
	case username == "alice" && string(password) == "right":
		return UserInfo{Name: "alice", UID: 1000, GID: 1000, Home: "/home/alice", Shell: "/bin/bash", Groups: []string{"alice", "sudo"}}, nil
	case username == "ghost":
		return UserInfo{}, &Error{Code: CodeUnknownUser}
	}
	return UserInfo{}, &Error{Code: CodeBadCredentials}
}

// Exists implements Knower: the names of the fake's system.
func (f *fakePAM) Exists(username string) bool {
	switch username {
	case "alice", "bob", "slow", "panic":
		return true
	}
	return false
}

type testServer struct {
	socket string
	cancel context.CancelFunc
	done   chan error
	logs   *syncbuf.Buffer
}

// serve starts Serve on a fresh socket in dir (a temp dir when empty).
func serve(t *testing.T, dir string, h Handler, o ServeOptions) *testServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ts := &testServer{socket: filepath.Join(dir, "h.sock"), done: make(chan error, 1), logs: &syncbuf.Buffer{}}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: ts.socket, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(ts.logs, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	go func() { ts.done <- Serve(ctx, ln, h, o) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-ts.done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return after cancel")
		}
	})
	return ts
}

func (ts *testServer) client() *Client { return &Client{Socket: ts.socket, Timeout: 5 * time.Second} }

// raw sends bytes as they are and returns the decoded answer, if any.
func raw(t *testing.T, socket string, data []byte, closeWrite bool) (Response, error) {
	t.Helper()
	c, err := net.Dial("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(data); err != nil {
		return Response{}, err
	}
	if closeWrite {
		_ = c.(*net.UnixConn).CloseWrite()
	}
	body, err := ReadFrame(c, MaxResponseFrame)
	if err != nil {
		return Response{}, err
	}
	var r Response
	return r, json.Unmarshal(body, &r)
}

func frame(body string) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(body))), body...)
}

func TestServeAuthenticate(t *testing.T) {
	f := newFake()
	ts := serve(t, "", f, ServeOptions{AllowedUID: uint32(os.Getuid())})
	c := ts.client()
	u, err := c.Authenticate(context.Background(), "alice", "right")
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "alice" || u.UID != 1000 || strings.Join(u.Groups, ",") != "alice,sudo" || u.Shell != "/bin/bash" {
		t.Errorf("user %+v", u)
	}
	if _, err := c.Authenticate(context.Background(), "alice", "wrong"); Code(err) != CodeBadCredentials {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := c.Authenticate(context.Background(), "ghost", "x"); Code(err) != CodeUnknownUser {
		t.Errorf("unknown user: %v", err)
	}
	if _, err := c.Authenticate(context.Background(), "panic", "x"); Code(err) != CodeInternal {
		t.Errorf("panicking handler: %v", err)
	}
	// The helper wipes every password once its handler has returned.
	f.mu.Lock()
	for i, s := range f.seen {
		if len(s) == 0 || bytes.Count(s, []byte{0}) != len(s) {
			t.Errorf("password %d not wiped: %d bytes", i, len(s))
		}
	}
	f.mu.Unlock()
	logs := ts.logs.String()
	for _, want := range []string{"result=ok", "result=bad_credentials", "user=alice", "op=authenticate", "peer_uid=" + strconv.Itoa(os.Getuid()), "duration="} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "right") || strings.Contains(logs, "wrong") {
		t.Errorf("a password reached the log:\n%s", logs)
	}
	if n := strings.Count(logs, "helper request"); n != 4 {
		t.Errorf("%d log lines for 4 requests:\n%s", n, logs)
	}
}

func TestServeMalformed(t *testing.T) {
	f := newFake()
	ts := serve(t, "", f, ServeOptions{AllowedUID: uint32(os.Getuid())})
	good := `{"v":1,"id":42,"op":"authenticate","username":"alice","password":"right"}`
	cases := []struct {
		name       string
		data       []byte
		closeWrite bool
	}{
		{"oversize frame", binary.BigEndian.AppendUint32(nil, MaxRequestFrame+1), false},
		{"4 GiB frame", []byte{0xff, 0xff, 0xff, 0xff}, false},
		{"empty frame", binary.BigEndian.AppendUint32(nil, 0), false},
		{"truncated frame", append(binary.BigEndian.AppendUint32(nil, 100), `{"v":1`...), true},
		{"truncated header", []byte{0, 0}, true},
		{"garbage JSON", frame(`{"v":1,"id":`), false},
		{"not an object", frame(`"alice"`), false},
		{"unknown version", frame(strings.Replace(good, `"v":1`, `"v":2`, 1)), false},
		{"unknown op", frame(strings.Replace(good, "authenticate", "exec", 1)), false},
		{"chosen service", frame(strings.Replace(good, `"op"`, `"service":"sshd","op"`, 1)), false},
		{"empty password", frame(strings.Replace(good, `"right"`, `""`, 1)), false},
		{"NUL in password", frame(strings.Replace(good, `"right"`, `"ri\u0000ght"`, 1)), false},
	}
	for _, h := range hostile {
		b, _ := json.Marshal(h.s)
		cases = append(cases, struct {
			name       string
			data       []byte
			closeWrite bool
		}{"username " + h.name, frame(strings.Replace(good, `"alice"`, string(b), 1)), false})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := raw(t, ts.socket, tc.data, tc.closeWrite)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if res.OK || res.Error != CodeInvalid || res.Version != Version {
				t.Errorf("answer %+v", res)
			}
		})
	}
	if n := f.calls.Load(); n != 0 {
		t.Errorf("the handler ran %d times for malformed requests", n)
	}
	// And the server still answers a good request, echoing its id.
	res, err := raw(t, ts.socket, frame(good), false)
	if err != nil || !res.OK || res.ID != 42 || res.User == nil || res.User.Name != "alice" {
		t.Fatalf("good request after malformed ones: %+v %v", res, err)
	}
	// The client refuses hostile names itself, without connecting.
	c := &Client{Socket: filepath.Join(t.TempDir(), "none.sock")}
	for _, h := range hostile {
		if _, err := c.Authenticate(context.Background(), h.s, "pw"); Code(err) != CodeInvalid {
			t.Errorf("client sent %s: %v", h.name, err)
		}
	}
	if _, err := c.Authenticate(context.Background(), "alice", "a\x00b"); Code(err) != CodeInvalid {
		t.Errorf("client sent a NUL password: %v", err)
	}
}

func TestServeRateLimit(t *testing.T) {
	t.Run("names that do not exist share one bucket", func(t *testing.T) {
		ts := serve(t, "", newFake(), ServeOptions{AllowedUID: uint32(os.Getuid()), Rate: 0.001, Burst: 2, UserRate: 1000, UserBurst: 1000})
		c := ts.client()
		for i, s := range []struct{ user, pw, want string }{
			{"ghost", "x", CodeUnknownUser},
			{"nobody1", "x", CodeBadCredentials},
			{"nobody2", "x", CodeRateLimited},
			{"ghost", "x", CodeRateLimited},
			{"alice", "right", ""}, // a real user is not in that bucket
			{"alice", "wrong", CodeBadCredentials},
		} {
			_, err := c.Authenticate(context.Background(), s.user, s.pw)
			if got := codeOrEmpty(err); got != s.want {
				t.Errorf("request %d (%s): %q, want %q", i, s.user, got, s.want)
			}
		}
	})
	t.Run("without a Knower every name shares it", func(t *testing.T) {
		ts := serve(t, "", plainHandler{newFake()}, ServeOptions{AllowedUID: uint32(os.Getuid()), Rate: 0.001, Burst: 2, UserRate: 1000, UserBurst: 1000})
		c := ts.client()
		for i, want := range []string{"", CodeBadCredentials, CodeRateLimited} {
			pw := "right"
			if i > 0 {
				pw = "wrong"
			}
			if _, err := c.Authenticate(context.Background(), "alice", pw); codeOrEmpty(err) != want {
				t.Errorf("request %d: %q, want %q", i, codeOrEmpty(err), want)
			}
		}
	})
	t.Run("per user", func(t *testing.T) {
		ts := serve(t, "", newFake(), ServeOptions{AllowedUID: uint32(os.Getuid()), Rate: 1000, Burst: 1000, UserRate: 0.001, UserBurst: 1})
		c := ts.client()
		steps := []struct{ user, pw, want string }{
			{"alice", "right", ""},
			{"alice", "right", CodeRateLimited},
			{"bob", "x", CodeBadCredentials}, // another name has its own bucket
			{"bob", "x", CodeRateLimited},
		}
		for i, s := range steps {
			_, err := c.Authenticate(context.Background(), s.user, s.pw)
			if got := codeOrEmpty(err); got != s.want {
				t.Errorf("step %d: %q, want %q", i, got, s.want)
			}
		}
		if !strings.Contains(ts.logs.String(), "result=rate_limited") {
			t.Errorf("no rate_limited line:\n%s", ts.logs.String())
		}
	})
	t.Run("refill", func(t *testing.T) {
		now := time.Now()
		b := newBucket(10, 1, now)
		if !b.take(now) || b.take(now) {
			t.Fatal("burst of 1")
		}
		if !b.take(now.Add(150 * time.Millisecond)) {
			t.Error("no token after 1.5 intervals")
		}
	})
}

// plainHandler hides the fake's Exists.
type plainHandler struct{ f *fakePAM }

func (p plainHandler) Authenticate(ctx context.Context, u string, pw Secret) (UserInfo, error) {
	return p.f.Authenticate(ctx, u, pw)
}

// Regression (issue 8 §7): 60 parallel logins with made-up names turned the
// helper's global limit into 503 for every user. They now fill their own
// lane; a real user still gets in while they wait.
func TestMadeUpNamesDoNotStarveRealUsers(t *testing.T) {
	f := newFake()
	ts := serve(t, "", f, ServeOptions{AllowedUID: uint32(os.Getuid()), Timeout: time.Minute})
	c := &Client{Socket: ts.socket, Timeout: time.Minute}
	var wg sync.WaitGroup
	codes := make(chan string, 60)
	for i := range 60 {
		wg.Go(func() {
			_, err := c.Authenticate(context.Background(), fmt.Sprintf("made%d", i), "x")
			codes <- codeOrEmpty(err)
		})
	}
	// Wait until the made-up names hold their lane's slots and queue.
	for deadline := time.Now().Add(30 * time.Second); f.calls.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("made-up names never reached the handler")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 3 {
		if u, err := c.Authenticate(context.Background(), "alice", "right"); err != nil || u.Name != "alice" {
			t.Fatalf("a real user during the flood: %v", err)
		}
	}
	close(f.release)
	wg.Wait()
	close(codes)
	n := map[string]int{}
	for code := range codes {
		n[code]++
	}
	if n[CodeBadCredentials] == 0 || n[""] != 0 {
		t.Fatalf("made-up names answered %v", n)
	}
}

func codeOrEmpty(err error) string {
	if err == nil {
		return ""
	}
	return Code(err)
}

func TestServeConcurrencyCap(t *testing.T) {
	t.Run("no queue", func(t *testing.T) {
		f := newFake()
		ts := serve(t, "", f, ServeOptions{AllowedUID: uint32(os.Getuid()), MaxConcurrent: 1, MaxQueue: -1})
		c := ts.client()
		slow := make(chan error, 1)
		go func() { _, err := c.Authenticate(context.Background(), "slow", "x"); slow <- err }()
		waitCalls(t, f, 1)
		if _, err := c.Authenticate(context.Background(), "alice", "right"); Code(err) != CodeBusy {
			t.Errorf("second request: %v, want busy", err)
		}
		close(f.release)
		if err := <-slow; err != nil {
			t.Errorf("slow request: %v", err)
		}
		if _, err := c.Authenticate(context.Background(), "alice", "right"); err != nil {
			t.Errorf("after the slot freed: %v", err)
		}
	})
	t.Run("queue of one", func(t *testing.T) {
		f := newFake()
		ts := serve(t, "", f, ServeOptions{AllowedUID: uint32(os.Getuid()), MaxConcurrent: 1, MaxQueue: 1})
		c := ts.client()
		queued := make(chan struct{}, 1)
		testHookQueued = func() { queued <- struct{}{} }
		defer func() { testHookQueued = func() {} }()
		results := make(chan error, 2)
		go func() { _, err := c.Authenticate(context.Background(), "slow", "x"); results <- err }()
		waitCalls(t, f, 1)
		go func() { _, err := c.Authenticate(context.Background(), "alice", "right"); results <- err }()
		// Once the second request waits in the queue, a third finds it full.
		<-queued
		if _, err := c.Authenticate(context.Background(), "alice", "right"); Code(err) != CodeBusy {
			t.Errorf("third request: %v, want busy", err)
		}
		close(f.release)
		for range 2 {
			if err := <-results; err != nil {
				t.Errorf("queued request: %v", err)
			}
		}
	})
}

func waitCalls(t *testing.T, f *fakePAM, n int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.calls.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("handler called %d times, want %d", f.calls.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestServeTimeout(t *testing.T) {
	f := newFake()
	defer close(f.release)
	ts := serve(t, "", f, ServeOptions{AllowedUID: uint32(os.Getuid()), Timeout: 200 * time.Millisecond})
	t0 := time.Now()
	_, err := ts.client().Authenticate(context.Background(), "slow", "x")
	if Code(err) != CodeUnavailable {
		t.Errorf("hung PAM: %v, want unavailable", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("answered after %v", d)
	}
	// A client that stops listening gets no hang either.
	hung := serveSilent(t)
	c := &Client{Socket: hung, Timeout: 150 * time.Millisecond}
	t0 = time.Now()
	if _, err := c.Authenticate(context.Background(), "alice", "right"); Code(err) != CodeUnavailable {
		t.Errorf("silent helper: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := (&Client{Socket: hung}).Authenticate(ctx, "alice", "right"); Code(err) != CodeUnavailable {
		t.Errorf("silent helper, context deadline: %v", err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("client waited %v", d)
	}
	if _, err := (&Client{Socket: filepath.Join(t.TempDir(), "gone.sock")}).Authenticate(context.Background(), "alice", "right"); Code(err) != CodeUnavailable {
		t.Errorf("no helper: %v", err)
	}
}

// serveSilent accepts connections and never answers.
func serveSilent(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "silent.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return path
}

func TestServeShutdownFinishesInFlight(t *testing.T) {
	f := newFake()
	ts := serve(t, "", f, ServeOptions{AllowedUID: uint32(os.Getuid())})
	res := make(chan error, 1)
	go func() { _, err := ts.client().Authenticate(context.Background(), "slow", "x"); res <- err }()
	waitCalls(t, f, 1)
	ts.cancel()
	select {
	case err := <-ts.done:
		t.Fatalf("Serve returned (%v) with a request in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.Dial("unix", ts.socket); err == nil {
		t.Error("still accepting after shutdown began")
	}
	close(f.release)
	if err := <-res; err != nil {
		t.Errorf("in-flight request: %v", err)
	}
	if err := <-ts.done; err != nil {
		t.Errorf("Serve: %v", err)
	}
	ts.done <- nil // for the cleanup
	if _, err := os.Lstat(ts.socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// TestPeerCred runs clients under other uids: a re-exec of this test binary
// with SysProcAttr.Credential. Only the allowed uid gets an answer.
func TestPeerCred(t *testing.T) {
	if os.Getuid() != 0 {
		t.Fatal("TestPeerCred must run as root (it starts clients under other uids); CI runs as root")
	}
	const allowed, foreign = 65534, 65533
	// A directory every uid may enter, holding a copy of this binary (the
	// build cache is private to root).
	dir, err := os.MkdirTemp("", "helperproto-peercred-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "child.test")
	copyFile(t, self, bin)

	f := newFake()
	ts := serve(t, dir, f, ServeOptions{AllowedUID: allowed})
	// The socket's mode lets anyone connect: only SO_PEERCRED stands guard.
	if err := os.Chmod(ts.socket, 0o666); err != nil {
		t.Fatal(err)
	}
	child := func(uid uint32) string {
		cmd := exec.Command(bin)
		cmd.Env = []string{childEnv + "=" + ts.socket}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child as uid %d: %v\n%s", uid, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got, want := child(allowed), "uid=65534 ok alice"; got != want {
		t.Errorf("allowed uid: %q, want %q", got, want)
	}
	if got, want := child(foreign), "uid=65533 error unavailable"; got != want {
		t.Errorf("foreign uid: %q, want %q", got, want)
	}
	// root itself is as foreign as any other uid.
	if _, err := ts.client().Authenticate(context.Background(), "alice", "right"); Code(err) != CodeUnavailable {
		t.Errorf("root: %v", err)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("handler ran %d times; only the allowed peer should reach it", n)
	}
	logs := ts.logs.String()
	for _, want := range []string{"peer refused", "peer_uid=65533", "peer_uid=0", "allowed_uid=65534", "peer_uid=65534"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
