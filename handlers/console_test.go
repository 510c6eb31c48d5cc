package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/consoles"
	"github.com/virtportal/virtportal/store"
)

// consoleGuest is a running guest of the demo fixture with a VNC display
// and a serial port; the tests grant it to op (operator) and view (viewer).
const consoleGuest = "db01"

// fakeClock is a settable clock for token expiry.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeOpener hands out one end of a connection as the guest side of each
// console and gives the test the other end: for graphics a Unix socket
// pair, as OpenGraphicsFD gives, for serial an in-memory pipe standing in
// for a libvirt stream (no descriptor).
type fakeOpener struct {
	guests chan net.Conn
	fail   error
}

func newFakeOpener() *fakeOpener { return &fakeOpener{guests: make(chan net.Conn, 16)} }

func (f *fakeOpener) ConsoleCapable() error { return nil }

func (f *fakeOpener) OpenGraphics(context.Context, string) (io.ReadWriteCloser, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	a, b, err := socketPair()
	if err != nil {
		return nil, err
	}
	f.guests <- b
	return a, nil
}

func (f *fakeOpener) OpenSerial(context.Context, string) (io.ReadWriteCloser, error) {
	if f.fail != nil {
		return nil, f.fail
	}
	a, b := net.Pipe()
	f.guests <- b
	return a, nil
}

// socketPair is a connected pair of Unix stream sockets.
func socketPair() (net.Conn, net.Conn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var conns [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			return nil, nil, err
		}
		conns[i] = c
	}
	return conns[0], conns[1], nil
}

func (f *fakeOpener) next(t *testing.T) net.Conn {
	t.Helper()
	select {
	case g := <-f.guests:
		t.Cleanup(func() { g.Close() })
		return g
	case <-time.After(5 * time.Second):
		t.Fatal("no guest side was opened")
		return nil
	}
}

// consoleEnv is newEnv with consoleGuest granted to op and view, and a
// cleanup that closes the consoles still open.
func consoleEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	e := newEnv(t, opts...)
	t.Cleanup(e.srv.CloseConsoles)
	err := e.vm.SetGrants(context.Background(), consoleGuest, []api.Grant{
		{Kind: "user", Realm: "local", Name: "op", Role: rbac.RoleOperator},
		{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer},
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (c *client) ticket(t *testing.T, guest, kind string) api.ConsoleTicket {
	t.Helper()
	r := c.do("POST", "/api/v1/vms/"+guest+"/console", api.ConsoleRequest{Kind: kind})
	want(t, r, http.StatusOK, "")
	var tk api.ConsoleTicket
	r.decode(t, &tk)
	return tk
}

// dial opens a WebSocket as c with the given Origin ("-": none) and returns
// the refusal's status and error code, or the connection.
func (c *client) dial(t *testing.T, wsURL, origin string) (int, string, *websocket.Conn) {
	t.Helper()
	h := http.Header{}
	if origin != "-" {
		h.Set("Origin", origin)
	}
	if c.bearer != "" {
		h.Set("Authorization", "Bearer "+c.bearer)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: c.http, HTTPHeader: h, Subprotocols: []string{"binary"}})
	if err == nil {
		t.Cleanup(func() { ws.CloseNow() })
		return http.StatusSwitchingProtocols, "", ws
	}
	if res == nil {
		t.Fatalf("dial: %v", err)
	}
	var eb api.ErrorBody
	if res.Body != nil {
		b, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(b, &eb)
	}
	code := ""
	if eb.Error != nil {
		code = eb.Error.Code
	}
	return res.StatusCode, code, nil
}

func (c *client) connect(t *testing.T, tk api.ConsoleTicket) *websocket.Conn {
	t.Helper()
	st, code, ws := c.dial(t, tk.WSURL, c.e.url)
	if ws == nil {
		t.Fatalf("console refused: %d %s", st, code)
	}
	if ws.Subprotocol() != "binary" {
		t.Fatalf("subprotocol %q", ws.Subprotocol())
	}
	// The server sends up to consoles.MaxPipeMessage per message.
	ws.SetReadLimit(2 * consoles.MaxPipeMessage)
	return ws
}

// closedWith reads until the server closes ws, and checks how and how soon.
func closedWith(t *testing.T, ws *websocket.Conn, code websocket.StatusCode, reason string, within time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for {
		_, _, err := ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("console not closed with a close frame within %v: %v", within, err)
		}
		if ce.Code != code || ce.Reason != reason {
			t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
		}
		return
	}
}

func auditActions(t *testing.T, e *env, action string) []api.AuditEvent {
	t.Helper()
	return e.audit(store.AuditFilter{Action: action, Target: "vm:" + consoleGuest})
}

func TestConsoleTokenIssue(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	e := consoleEnv(t, withOptions(func(o *Options) { o.Now = clk.Now }))
	// The test driver itself has no consoles: no token is handed out.
	want(t, e.as("local", "op").do("POST", "/api/v1/vms/"+consoleGuest+"/console", api.ConsoleRequest{Kind: "vnc"}), 501, "not_supported")
	unopenable(e)
	op := e.as("local", "op")

	tk := op.ticket(t, consoleGuest, "vnc")
	if len(tk.Token) != 43 || tk.Kind != "vnc" || tk.VV != "" || !tk.Expires.Equal(clk.Now().Add(30*time.Second).UTC()) {
		t.Fatalf("ticket %+v", tk)
	}
	if want := "ws://" + strings.TrimPrefix(e.url, "http://") + "/api/v1/console/ws?token=" + tk.Token; tk.WSURL != want {
		t.Fatalf("ws_url %q, want %q", tk.WSURL, want)
	}
	if tk2 := op.ticket(t, consoleGuest, "serial"); tk2.Token == tk.Token {
		t.Fatal("two tickets share a token")
	}
	// The database holds no usable token.
	if _, err := e.st.ConsumeConsoleToken(context.Background(), store.SessionHash(tk.Token), clk.Now()); !fault.IsKind(err, fault.NotFound) {
		t.Fatalf("the token's hash opens a console: %v", err)
	}

	for _, tc := range []struct {
		who, guest, kind string
		status           int
		code             string
	}{
		{"op", consoleGuest, "rdp", 400, "unknown_console_kind"},
		{"op", consoleGuest, "", 400, "unknown_console_kind"},
		{"op", consoleGuest, "spice", 409, "no_display"},          // it has VNC only
		{"admin", "jenkins-old", "vnc", 409, "guest_not_running"}, // shut off
		{"admin", "win2022-ad", "spice", 501, "not_supported"},    // the test driver sets no passwords
		{"view", consoleGuest, "vnc", 403, "forbidden"},
		{"alice", consoleGuest, "vnc", 404, "guest_not_found"},
	} {
		t.Run(tc.who+"/"+tc.guest+"/"+tc.kind, func(t *testing.T) {
			want(t, e.as("local", tc.who).do("POST", "/api/v1/vms/"+tc.guest+"/console", api.ConsoleRequest{Kind: tc.kind}), tc.status, tc.code)
		})
	}
	// CSRF and cross-origin protection hold as for every unsafe route.
	noCSRF := e.as("local", "op")
	noCSRF.csrf = ""
	want(t, noCSRF.do("POST", "/api/v1/vms/"+consoleGuest+"/console", api.ConsoleRequest{Kind: "vnc"}), 403, "csrf")
	want(t, op.do("POST", "/api/v1/vms/"+consoleGuest+"/console", api.ConsoleRequest{Kind: "vnc"}, "Origin", "https://evil.example"), 403, "bad_origin")

	evs := auditActions(t, e, "vm.console.token")
	issued := slices.ContainsFunc(evs, func(ev api.AuditEvent) bool {
		return ev.Result == "ok" && ev.Reason == "kind=vnc" && ev.Actor == "local:op"
	})
	refused := slices.ContainsFunc(evs, func(ev api.AuditEvent) bool { return ev.Result == "error:not_supported" })
	if !issued || !refused {
		t.Fatalf("audit %+v", evs)
	}
}

// unopenable claims consoles and fails to open them as the test driver
// would, so every check before the opening runs on the test driver.
func unopenable(e *env) {
	e.srv.consoles.UseOpener(&fakeOpener{fail: fault.CodeNotSupported.New("no consoles here")})
}

// TestConsoleRefusals: every check of the WebSocket runs before a console
// is opened, so the test driver (which has none) shows each refusal.
func TestConsoleRefusals(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	e := consoleEnv(t, withOptions(func(o *Options) { o.Now = clk.Now }))
	unopenable(e)
	op := e.as("local", "op")

	t.Run("a valid token reaches the guest side", func(t *testing.T) {
		tk := op.ticket(t, consoleGuest, "vnc")
		if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 501 || code != "not_supported" {
			t.Fatalf("got %d %s", st, code)
		}
		// Spent: a replay is refused.
		if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 410 || code != "token_used" {
			t.Fatalf("replay: %d %s", st, code)
		}
		tk = op.ticket(t, consoleGuest, "serial")
		if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 501 || code != "not_supported" {
			t.Fatalf("serial: %d %s", st, code)
		}
	})
	t.Run("expired", func(t *testing.T) {
		tk := op.ticket(t, consoleGuest, "vnc")
		clk.Add(31 * time.Second)
		if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 410 || code != "token_expired" {
			t.Fatalf("got %d %s", st, code)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		tk := op.ticket(t, consoleGuest, "vnc")
		if st, code, _ := op.dial(t, tk.WSURL+"x", e.url); st != 404 || code != "console_token_not_found" {
			t.Fatalf("got %d %s", st, code)
		}
	})
	t.Run("another session of the same user, another user", func(t *testing.T) {
		for _, other := range []*client{e.as("local", "op"), e.as("local", "admin")} {
			tk := op.ticket(t, consoleGuest, "vnc")
			if st, code, _ := other.dial(t, tk.WSURL, e.url); st != 403 || code != "token_session" {
				t.Fatalf("got %d %s", st, code)
			}
			// And the token is spent for its owner too.
			if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 410 || code != "token_used" {
				t.Fatalf("owner after theft: %d %s", st, code)
			}
		}
	})
	t.Run("origin", func(t *testing.T) {
		tk := op.ticket(t, consoleGuest, "vnc")
		for _, origin := range []string{"https://evil.example", "-", "null", strings.Replace(e.url, "127.0.0.1", "localhost", 1)} {
			if st, code, _ := op.dial(t, tk.WSURL, origin); st != 403 || code != "bad_origin" {
				t.Fatalf("origin %q: %d %s", origin, st, code)
			}
		}
		// A refused origin does not spend the token.
		if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 501 {
			t.Fatalf("after bad origins: %d %s", st, code)
		}
	})
	t.Run("not logged in, no token, not a WebSocket", func(t *testing.T) {
		tk := op.ticket(t, consoleGuest, "vnc")
		if st, _, _ := e.client().dial(t, tk.WSURL, e.url); st != 401 {
			t.Fatalf("anonymous: %d", st)
		}
		if st, code, _ := op.dial(t, strings.Split(tk.WSURL, "?")[0], e.url); st != 400 || code != "bad_request" {
			t.Fatalf("no token: %d %s", st, code)
		}
		want(t, op.do("GET", "/api/v1/console/ws?token="+tk.Token, nil, "Origin", e.url), 426, "upgrade_required")
	})
	t.Run("grant lowered or revoked between POST and GET", func(t *testing.T) {
		admin := e.as("local", "admin")
		access := func(p api.AccessPatch) {
			t.Helper()
			want(t, admin.do("PATCH", "/api/v1/vms/"+consoleGuest+"/access", p), 200, "")
		}
		opAs := func(role string) api.AccessPatch {
			return api.AccessPatch{Add: []api.Grant{{Kind: "user", Realm: "local", Name: "op", Role: role}}}
		}
		tk := op.ticket(t, consoleGuest, "vnc")
		access(opAs(rbac.RoleViewer))
		if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 403 || code != "forbidden" {
			t.Fatalf("demoted to viewer: %d %s", st, code)
		}
		access(opAs(rbac.RoleOperator))
		tk = op.ticket(t, consoleGuest, "vnc")
		access(api.AccessPatch{Remove: []api.Grant{{Kind: "user", Realm: "local", Name: "op"}}})
		if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 404 || code != "guest_not_found" {
			t.Fatalf("revoked: %d %s", st, code)
		}
		access(opAs(rbac.RoleOperator))
	})

	evs := e.audit(store.AuditFilter{Action: "vm.console.open", Limit: 1000})
	results := map[string]int{}
	for _, ev := range evs {
		results[ev.Result]++
	}
	for _, r := range []string{"error:not_supported", "denied:token_used", "denied:token_expired", "denied:console_token_not_found", "denied:guest_not_found",
		"denied:token_session", "denied:bad_origin", "denied:forbidden", "denied:bad_request", "denied:upgrade_required"} {
		if results[r] == 0 {
			t.Errorf("no %s audited: %v", r, results)
		}
	}
	if strings.Contains(e.logs.String(), "token=") {
		t.Error("a console token reached the logs")
	}
}

// TestConsoleProxy runs whole consoles with an in-memory guest side.
func TestConsoleProxy(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, f func(*Options)) (*env, *fakeOpener) {
		fake := newFakeOpener()
		e := consoleEnv(t, withOptions(func(o *Options) {
			// A client answers pings only while it reads, and these tests
			// leave it unread while they make other requests (slow under
			// the race detector): a short keepalive would drop it then. The
			// tests of keepalive itself set theirs.
			o.Console.Keepalive = 2 * time.Second
			if f != nil {
				f(o)
			}
		}))
		e.srv.consoles.UseOpener(fake)
		return e, fake
	}

	// vnc's guest side is a socket (pooled buffers), serial's a stream.
	for _, kind := range []string{"vnc", "serial"} {
		t.Run("bytes both ways, audited: "+kind, func(t *testing.T) {
			// A ping unanswered within one period closes the console: the
			// period must outlast a loaded machine's round trip (under the
			// race detector, with other suites running, 250 ms did not).
			e, fake := setup(t, func(o *Options) { o.Console.Keepalive = time.Second })
			op := e.as("local", "op")
			ws := op.connect(t, op.ticket(t, consoleGuest, kind))
			guest := fake.next(t)
			go func() { _, _ = guest.Write([]byte("RFB 003.008\n")) }()
			typ, b, err := ws.Read(ctx)
			if err != nil || typ != websocket.MessageBinary || string(b) != "RFB 003.008\n" {
				t.Fatalf("read %v %q %v", typ, b, err)
			}
			if err := ws.Write(ctx, websocket.MessageBinary, []byte("RFB 003.008\n")); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, 12)
			if _, err := io.ReadFull(guest, got); err != nil || string(got) != "RFB 003.008\n" {
				t.Fatalf("guest got %q %v", got, err)
			}
			// A large burst arrives whole and in order.
			big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
			go func() { _, _ = guest.Write(big) }()
			var rcv []byte
			for len(rcv) < len(big) {
				_, b, err := ws.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				rcv = append(rcv, b...)
			}
			if !bytes.Equal(rcv, big) {
				t.Fatal("burst corrupted")
			}
			// Several keepalive periods pass while the browser reads (and so answers pings).
			go func() { time.Sleep(2500 * time.Millisecond); guest.Close() }()
			closedWith(t, ws, websocket.StatusNormalClosure, "console closed", 8*time.Second)

			eventually(t, "open and close audited", func() bool { return len(auditActions(t, e, "vm.console.close")) == 1 })
			open, closed := auditActions(t, e, "vm.console.open"), auditActions(t, e, "vm.console.close")
			if len(open) != 1 || open[0].Result != "ok" || open[0].Actor != "local:op" || open[0].Reason != "kind="+kind {
				t.Fatalf("open audit %+v", open)
			}
			if r := closed[0].Reason; closed[0].Actor != "local:op" || !strings.Contains(r, "reason=console closed; duration=") ||
				!strings.Contains(r, "bytes_from_guest=1048588; bytes_to_guest=12") {
				t.Fatalf("close audit %+v", closed[0])
			}
		})
	}

	t.Run("revoke closes within a second", func(t *testing.T) {
		e, fake := setup(t, nil)
		op := e.as("local", "op")
		ws := op.connect(t, op.ticket(t, consoleGuest, "serial"))
		fake.next(t)
		patch := api.AccessPatch{Remove: []api.Grant{{Kind: "user", Realm: "local", Name: "op"}}}
		want(t, e.as("local", "admin").do("PATCH", "/api/v1/vms/"+consoleGuest+"/access", patch), 200, "")
		closedWith(t, ws, consoles.CloseAccessRevoked, "access revoked", time.Second)
		eventually(t, "close audited", func() bool {
			c := auditActions(t, e, "vm.console.close")
			return len(c) == 1 && strings.HasPrefix(c[0].Reason, "reason=access revoked;")
		})
	})

	t.Run("an unrelated grant change keeps the console", func(t *testing.T) {
		e, fake := setup(t, nil)
		op := e.as("local", "op")
		ws := op.connect(t, op.ticket(t, consoleGuest, "vnc"))
		guest := fake.next(t)
		patch := api.AccessPatch{Add: []api.Grant{{Kind: "user", Realm: "local", Name: "alice", Role: rbac.RoleViewer}}}
		want(t, e.as("local", "admin").do("PATCH", "/api/v1/vms/"+consoleGuest+"/access", patch), 200, "")
		go func() { _, _ = guest.Write([]byte("still here")) }()
		if _, b, err := ws.Read(ctx); err != nil || string(b) != "still here" {
			t.Fatalf("%q %v", b, err)
		}
	})

	t.Run("logout closes that session's consoles only", func(t *testing.T) {
		e, fake := setup(t, nil)
		op, op2 := e.as("local", "op"), e.as("local", "op")
		ws := op.connect(t, op.ticket(t, consoleGuest, "vnc"))
		fake.next(t)
		ws2 := op2.connect(t, op2.ticket(t, consoleGuest, "vnc"))
		guest2 := fake.next(t)
		want(t, op.do("DELETE", "/api/v1/session", nil), 204, "")
		closedWith(t, ws, consoles.CloseLoggedOut, "logged out", time.Second)
		go func() { _, _ = guest2.Write([]byte("other session")) }()
		if _, b, err := ws2.Read(ctx); err != nil || string(b) != "other session" {
			t.Fatalf("%q %v", b, err)
		}
	})

	t.Run("a session ended elsewhere closes its consoles", func(t *testing.T) {
		// Noticed at the keepalive tick, which re-reads the session.
		e, fake := setup(t, func(o *Options) { o.Console.Keepalive = 250 * time.Millisecond })
		op := e.as("local", "op")
		ws := op.connect(t, op.ticket(t, consoleGuest, "vnc"))
		fake.next(t)
		if _, err := e.st.DeleteSessionsOf(ctx, "local:op"); err != nil {
			t.Fatal(err)
		}
		closedWith(t, ws, consoles.CloseSessionEnded, "session ended", time.Second)
	})

	t.Run("guest stopped", func(t *testing.T) {
		e, fake := setup(t, nil)
		op := e.as("local", "op")
		ws := op.connect(t, op.ticket(t, consoleGuest, "vnc"))
		fake.next(t)
		want(t, op.do("POST", "/api/v1/vms/"+consoleGuest+"/poweroff", nil), 200, "")
		closedWith(t, ws, consoles.CloseGuestStopped, "guest stopped", time.Second)
	})

	t.Run("idle", func(t *testing.T) {
		// Margins wide enough for a loaded CI machine under -race.
		const idle = 600 * time.Millisecond
		e, fake := setup(t, func(o *Options) { o.Console.IdleTimeout = idle; o.Console.Keepalive = time.Minute })
		op := e.as("local", "op")
		ws := op.connect(t, op.ticket(t, consoleGuest, "vnc"))
		guest := fake.next(t)
		// Traffic every idle/3, for more than twice the timeout, defers the close.
		var last time.Time
		for range 7 {
			time.Sleep(idle / 3)
			go func() { _, _ = guest.Write([]byte("x")) }()
			if _, _, err := ws.Read(ctx); err != nil {
				t.Fatal(err, auditActions(t, e, "vm.console.close"))
			}
			last = time.Now()
		}
		closedWith(t, ws, consoles.CloseIdle, "idle", 5*time.Second)
		if d := time.Since(last); d < idle-50*time.Millisecond {
			t.Fatalf("closed as idle %v after the last byte", d)
		}
	})

	t.Run("a browser that stops answering is dropped", func(t *testing.T) {
		e, fake := setup(t, func(o *Options) { o.Console.Keepalive = 100 * time.Millisecond })
		op := e.as("local", "op")
		// Never read: pongs are sent only by a reading client.
		op.connect(t, op.ticket(t, consoleGuest, "vnc"))
		fake.next(t)
		eventually(t, "keepalive timeout audited", func() bool {
			c := auditActions(t, e, "vm.console.close")
			return len(c) == 1 && strings.HasPrefix(c[0].Reason, "reason=keepalive timeout;")
		})
	})

	t.Run("caps and one serial writer", func(t *testing.T) {
		e, fake := setup(t, func(o *Options) { o.Console.MaxPerUser = 2; o.Console.MaxPerGuest = 3 })
		op, admin := e.as("local", "op"), e.as("local", "admin")
		serial := op.connect(t, op.ticket(t, consoleGuest, "serial"))
		fake.next(t)
		// A second serial session is refused, at the POST and at the socket.
		r := admin.do("POST", "/api/v1/vms/"+consoleGuest+"/console", api.ConsoleRequest{Kind: "serial"})
		want(t, r, 409, "console_busy")
		if !strings.Contains(string(r.body), "already open (by local:op") {
			t.Fatalf("message %s", r.body)
		}
		op.connect(t, op.ticket(t, consoleGuest, "vnc"))
		fake.next(t)
		want(t, op.do("POST", "/api/v1/vms/"+consoleGuest+"/console", api.ConsoleRequest{Kind: "vnc"}), 429, "console_limit")
		admin.connect(t, admin.ticket(t, consoleGuest, "vnc"))
		fake.next(t)
		want(t, admin.do("POST", "/api/v1/vms/"+consoleGuest+"/console", api.ConsoleRequest{Kind: "vnc"}), 429, "console_limit")
		// Freed when one closes.
		serial.Close(websocket.StatusNormalClosure, "")
		eventually(t, "slot freed", func() bool { return e.srv.consoles.Count() == 2 })
		admin.connect(t, admin.ticket(t, consoleGuest, "serial"))
		fake.next(t)
	})

	t.Run("shutdown closes every console", func(t *testing.T) {
		e, fake := setup(t, nil)
		op := e.as("local", "op")
		tk := op.ticket(t, consoleGuest, "vnc")
		var wss []*websocket.Conn
		for range 3 {
			wss = append(wss, op.connect(t, op.ticket(t, consoleGuest, "vnc")))
			fake.next(t)
		}
		done := make(chan struct{})
		go func() { e.srv.CloseConsoles(); close(done) }()
		for _, ws := range wss {
			closedWith(t, ws, websocket.StatusGoingAway, "server shutting down", 2*time.Second)
		}
		<-done
		if n := len(auditActions(t, e, "vm.console.close")); n != 3 {
			t.Fatalf("%d closes audited before CloseConsoles returned", n)
		}
		if st, code, _ := op.dial(t, tk.WSURL, e.url); st != 503 || code != "shutting_down" {
			t.Fatalf("after shutdown: %d %s", st, code)
		}
	})
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

func TestScreenshot(t *testing.T) {
	e := consoleEnv(t)
	view := e.as("local", "view")
	r := view.do("GET", "/api/v1/vms/"+consoleGuest+"/screenshot", nil)
	want(t, r, 200, "")
	if !bytes.HasPrefix(r.body, []byte("\x89PNG\r\n\x1a\n")) || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("not a PNG: %q %q", r.header.Get("Content-Type"), r.body[:min(8, len(r.body))])
	}
	if cc := r.header.Get("Cache-Control"); !strings.HasPrefix(cc, "private, max-age=") {
		t.Fatalf("Cache-Control %q", cc)
	}
	lm := r.header.Get("Last-Modified")
	// Within the cache period the same capture is served.
	for range 3 {
		if r2 := view.do("GET", "/api/v1/vms/"+consoleGuest+"/screenshot", nil); r2.header.Get("Last-Modified") != lm || !bytes.Equal(r2.body, r.body) {
			t.Fatal("a second capture within the cache period")
		}
	}
	want(t, e.as("local", "admin").do("GET", "/api/v1/vms/jenkins-old/screenshot", nil), 409, "guest_not_running")
	want(t, e.as("local", "alice").do("GET", "/api/v1/vms/"+consoleGuest+"/screenshot", nil), 404, "guest_not_found")
}
