//go:build e2e

package e2e

import (
	"bytes"
	"context"
	bin "encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// consoleTicket is the answer of POST /api/v1/vms/{name}/console.
type consoleTicket struct {
	Kind    string    `json:"kind"`
	Token   string    `json:"token"`
	WSURL   string    `json:"ws_url"`
	Expires time.Time `json:"expires"`
	VV      string    `json:"vv"`
}

// consoleTokenTTL is the server's token life in this suite: short, so the
// expiry is tested in seconds rather than half a minute.
const consoleTokenTTL = 3 * time.Second

// consoleGuest defines and starts a diskless 64 MiB KVM guest whose SeaBIOS
// prints to a pty serial console, with a VNC or SPICE display on
// 127.0.0.1 (autoport); it is destroyed and undefined in t.Cleanup.
func consoleGuest(t *testing.T, conn *libvirt.Connect, display string) string {
	t.Helper()
	name := guestName()
	g := libvirtxml.DomainGraphic{VNC: &libvirtxml.DomainGraphicVNC{AutoPort: "yes", Listen: "127.0.0.1"}}
	if display == "spice" {
		// A password that expired long ago: SPICE starts with ticketing on
		// (without a password it is off, and none can be set later), and
		// nobody can connect until the portal sets a fresh one.
		g = libvirtxml.DomainGraphic{Spice: &libvirtxml.DomainGraphicSpice{AutoPort: "yes", Listen: "127.0.0.1",
			Passwd: name + "-expired", PasswdValidTo: "2000-01-01T00:00:00"}}
	}
	dom := tinyDomain(name)
	dom.Devices.Consoles = []libvirtxml.DomainConsole{{Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}}, Target: &libvirtxml.DomainConsoleTarget{Type: "serial"}}}
	dom.Devices.Graphics = []libvirtxml.DomainGraphic{g}
	dom.Devices.Videos = []libvirtxml.DomainVideo{{Model: libvirtxml.DomainVideoModel{Type: "vga"}}}
	doc, err := dom.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := conn.DomainDefineXML(doc)
	if err != nil {
		t.Fatal("define:", err)
	}
	t.Cleanup(func() {
		if d, err := conn.LookupDomainByName(name); err == nil {
			_ = d.Destroy()
			_ = d.Undefine()
			_ = d.Free()
		}
	})
	if err := d.Create(); err != nil {
		t.Fatal("start:", err)
	}
	_ = d.Free()
	return name
}

func (c *session) ticket(t *testing.T, guest, kind string) consoleTicket {
	t.Helper()
	var tk consoleTicket
	if st := c.call("POST", "/api/v1/vms/"+guest+"/console", map[string]string{"kind": kind}, &tk); st != 200 {
		t.Fatalf("console ticket (%s) for %s: %d", kind, guest, st)
	}
	return tk
}

// dial presents a ticket's WebSocket URL with c's cookies and the given
// Origin ("" for none); it returns the connection, or the refusal's status
// and error code.
func (c *session) dial(t *testing.T, wsURL, origin string) (*websocket.Conn, int, string) {
	t.Helper()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{HTTPClient: c.hc, HTTPHeader: h, Subprotocols: []string{"binary"}})
	if err == nil {
		ws.SetReadLimit(4 << 20) // the proxy sends at most 1 MiB per message
		t.Cleanup(func() { ws.CloseNow() })
		return ws, http.StatusSwitchingProtocols, ""
	}
	if res == nil {
		t.Fatalf("dial %s: %v", wsURL, err)
	}
	var eb api.ErrorBody
	if res.Body != nil {
		b, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(b, &eb)
	}
	if eb.Error == nil {
		return nil, res.StatusCode, ""
	}
	return nil, res.StatusCode, eb.Error.Code
}

func (c *session) open(t *testing.T, guest, kind string) *websocket.Conn {
	t.Helper()
	ws, st, code := c.dial(t, c.ticket(t, guest, kind).WSURL, c.base)
	if ws == nil {
		t.Fatalf("console %s of %s refused: %d %s", kind, guest, st, code)
	}
	return ws
}

// get fetches a path raw.
func (c *session) get(t *testing.T, path string) (int, http.Header, []byte) {
	t.Helper()
	res, err := c.hc.Get(c.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// readUntil reads the console until it has shown want, within d.
func readUntil(t *testing.T, ws *websocket.Conn, want string, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var seen []byte
	for !bytes.Contains(seen, []byte(want)) {
		typ, b, err := ws.Read(ctx)
		if err != nil {
			t.Fatalf("console never showed %q within %v (%v); it showed:\n%s", want, d, err, seen)
		}
		if typ != websocket.MessageBinary {
			t.Fatalf("a %v message", typ)
		}
		seen = append(seen, b...)
	}
}

// closeOf reads until the server closes ws and returns the close frame,
// failing if none comes within d.
func closeOf(t *testing.T, ws *websocket.Conn, d time.Duration) websocket.CloseError {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for {
		_, _, err := ws.Read(ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) {
			t.Fatalf("no close frame within %v: %v", d, err)
		}
		return ce
	}
}

// rfbHandshake completes a minimal RFB 3.8 handshake through the proxy:
// version, security type None, ClientInit; it returns the framebuffer size
// and the desktop name from ServerInit.
func rfbHandshake(t *testing.T, ws *websocket.Conn) (w, h uint16, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	nc := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	read := func(n int) []byte {
		t.Helper()
		b := make([]byte, n)
		if _, err := io.ReadFull(nc, b); err != nil {
			t.Fatalf("RFB: %v", err)
		}
		return b
	}
	if v := string(read(12)); v != "RFB 003.008\n" {
		t.Fatalf("ProtocolVersion %q", v)
	}
	if _, err := nc.Write([]byte("RFB 003.008\n")); err != nil {
		t.Fatal(err)
	}
	types := read(int(read(1)[0]))
	if !slices.Contains(types, 1) {
		// With no password, and handed over with SKIPAUTH, QEMU offers None.
		t.Fatalf("security types %v lack None", types)
	}
	if _, err := nc.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if r := bin.BigEndian.Uint32(read(4)); r != 0 {
		t.Fatalf("SecurityResult %d", r)
	}
	if _, err := nc.Write([]byte{1}); err != nil { // ClientInit, shared
		t.Fatal(err)
	}
	si := read(24)
	w, h = bin.BigEndian.Uint16(si[0:]), bin.BigEndian.Uint16(si[2:])
	return w, h, string(read(int(bin.BigEndian.Uint32(si[20:]))))
}

func setRole(t *testing.T, admin *session, guest, role string) {
	t.Helper()
	items := []api.Grant{}
	if role != "" {
		items = append(items, api.Grant{Kind: "user", Realm: "local", Name: plainUser, Role: role})
	}
	if st := admin.call("PUT", "/api/v1/vms/"+guest+"/access", api.Access{Items: items}, nil); st != 200 {
		t.Fatalf("PUT access: %d", st)
	}
}

// waitRunning waits until the portal's index has guest as running.
func waitRunning(t *testing.T, admin *session, guest string) {
	t.Helper()
	eventually(t, "the guest is indexed as running", 5*time.Second, func() bool {
		var vm api.VMDetail
		return admin.call("GET", "/api/v1/vms/"+guest, nil, &vm) == 200 && vm.State == api.StateRunning
	})
}

// TestConsolesOnKVM: serial and VNC consoles of a real guest through the
// real server, each refusal, and each way a console ends, all audited.
func TestConsolesOnKVM(t *testing.T) {
	// Closed in a cleanup registered before the guests' own, which need it.
	conn, uri := kvm(t)
	t.Setenv("VIRTPORTAL_CONSOLE_TOKEN_TTL", consoleTokenTTL.String())
	srv := startServer(t, uri)
	admin := srv.login(t)
	user := srv.loginAs(t, plainUser)
	name := consoleGuest(t, conn, "vnc")
	waitRunning(t, admin, name)
	setRole(t, admin, name, "operator")

	t.Run("serial shows SeaBIOS", func(t *testing.T) {
		ws := user.open(t, name, "serial")
		// One writer per serial port: a second session is refused while it is open.
		if st := admin.call("POST", "/api/v1/vms/"+name+"/console", map[string]string{"kind": "serial"}, nil); st != 409 {
			t.Fatalf("second serial console: %d, want 409", st)
		}
		readUntil(t, ws, "No bootable device", 30*time.Second)
		ws.Close(websocket.StatusNormalClosure, "")
	})

	t.Run("VNC handshake through the proxy", func(t *testing.T) {
		tk := user.ticket(t, name, "vnc")
		if !strings.HasPrefix(tk.WSURL, "ws://") || len(tk.Token) != 43 || time.Until(tk.Expires) > consoleTokenTTL+time.Second {
			t.Fatalf("ticket %+v", tk)
		}
		ws, st, code := user.dial(t, tk.WSURL, srv.url)
		if ws == nil {
			t.Fatalf("refused: %d %s", st, code)
		}
		w, h, desktop := rfbHandshake(t, ws)
		if w == 0 || h == 0 || !strings.Contains(desktop, name) {
			t.Fatalf("ServerInit %dx%d %q", w, h, desktop)
		}
		t.Logf("ServerInit: %dx%d %q", w, h, desktop)
		ws.Close(websocket.StatusNormalClosure, "")
		// Replay of a spent token.
		if _, st, code := user.dial(t, tk.WSURL, srv.url); st != 410 || code != "token_used" {
			t.Fatalf("replay: %d %s", st, code)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		st, hdr, b := user.get(t, "/api/v1/vms/"+name+"/screenshot")
		if st != 200 || !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) || hdr.Get("Content-Type") != "image/png" {
			t.Fatalf("screenshot: %d %q % x", st, hdr.Get("Content-Type"), b[:min(8, len(b))])
		}
	})

	t.Run("refusals", func(t *testing.T) {
		// User B (here the admin, who may open any console) with user A's token.
		tk := user.ticket(t, name, "vnc")
		if _, st, code := admin.dial(t, tk.WSURL, srv.url); st != 403 || code != "token_session" {
			t.Fatalf("another user's token: %d %s", st, code)
		}
		// A second session of the same user.
		tk = user.ticket(t, name, "vnc")
		if _, st, code := srv.loginAs(t, plainUser).dial(t, tk.WSURL, srv.url); st != 403 || code != "token_session" {
			t.Fatalf("another session's token: %d %s", st, code)
		}
		// Foreign and missing Origin, which leave the token unspent.
		tk = user.ticket(t, name, "vnc")
		for _, origin := range []string{"http://evil.example", ""} {
			if _, st, code := user.dial(t, tk.WSURL, origin); st != 403 || code != "bad_origin" {
				t.Fatalf("origin %q: %d %s", origin, st, code)
			}
		}
		// Expired.
		time.Sleep(consoleTokenTTL + 500*time.Millisecond)
		if _, st, code := user.dial(t, tk.WSURL, srv.url); st != 410 || code != "token_expired" {
			t.Fatalf("expired: %d %s", st, code)
		}
		// A viewer may not ask.
		setRole(t, admin, name, "viewer")
		if st := user.call("POST", "/api/v1/vms/"+name+"/console", map[string]string{"kind": "vnc"}, nil); st != 403 {
			t.Fatalf("viewer: %d, want 403", st)
		}
		setRole(t, admin, name, "operator")
	})

	t.Run("revoking the grant closes the console within a second", func(t *testing.T) {
		ws := user.open(t, name, "vnc")
		start := time.Now()
		patch := api.AccessPatch{Remove: []api.Grant{{Kind: "user", Realm: "local", Name: plainUser}}}
		if st := admin.call("PATCH", "/api/v1/vms/"+name+"/access", patch, nil); st != 200 {
			t.Fatalf("PATCH: %d", st)
		}
		ce := closeOf(t, ws, time.Second)
		if ce.Code != 4003 || ce.Reason != "access revoked" {
			t.Fatalf("closed with %d %q", ce.Code, ce.Reason)
		}
		t.Logf("closed %v after the PATCH was sent", time.Since(start))
		setRole(t, admin, name, "operator")
	})

	t.Run("logout closes the console", func(t *testing.T) {
		other := srv.loginAs(t, plainUser)
		ws := other.open(t, name, "serial")
		if st := other.call("DELETE", "/api/v1/session", nil, nil); st != 204 {
			t.Fatalf("logout: %d", st)
		}
		if ce := closeOf(t, ws, time.Second); ce.Code != 4004 || ce.Reason != "logged out" {
			t.Fatalf("closed with %d %q", ce.Code, ce.Reason)
		}
	})

	t.Run("powering the guest off closes the console", func(t *testing.T) {
		ws := user.open(t, name, "vnc")
		ser := user.open(t, name, "serial")
		if st := admin.call("POST", "/api/v1/vms/"+name+"/poweroff", nil, nil); st != 200 {
			t.Fatalf("poweroff: %d", st)
		}
		for _, c := range []*websocket.Conn{ws, ser} {
			if ce := closeOf(t, c, 2*time.Second); ce.Code != 4001 || ce.Reason != "guest stopped" {
				t.Fatalf("closed with %d %q", ce.Code, ce.Reason)
			}
		}
		if st := user.call("POST", "/api/v1/vms/"+name+"/console", map[string]string{"kind": "vnc"}, nil); st != 409 {
			t.Fatalf("console of a stopped guest: %d, want 409", st)
		}
		if st, _, _ := user.get(t, "/api/v1/vms/"+name+"/screenshot"); st != 409 {
			t.Fatalf("screenshot of a stopped guest: %d, want 409", st)
		}
	})

	var audit api.AuditList
	eventually(t, "every close audited", 5*time.Second, func() bool {
		if st := admin.call("GET", "/api/v1/audit?target=vm:"+name+"&action=vm.console.*&limit=1000", nil, &audit); st != 200 {
			t.Fatalf("audit: %d", st)
		}
		n := 0
		for _, e := range audit.Items {
			if e.Action == "vm.console.close" {
				n++
			}
		}
		return n == 6
	})
	var got []string
	for _, e := range audit.Items {
		switch e.Action {
		case "vm.console.close":
			got = append(got, "close="+strings.SplitN(strings.TrimPrefix(e.Reason, "reason="), ";", 2)[0])
			if !regexp.MustCompile(`duration=[0-9.]+m?s`).MatchString(e.Reason) {
				t.Errorf("close without a duration: %+v", e)
			}
		default:
			got = append(got, e.Action+"="+e.Result)
		}
	}
	for _, w := range []string{"vm.console.open=ok", "vm.console.token=ok", "vm.console.open=denied:token_used",
		"vm.console.open=denied:token_session", "vm.console.open=denied:token_expired", "vm.console.token=denied:forbidden",
		"close=closed by the browser", "close=access revoked", "close=logged out", "close=guest stopped"} {
		if !slices.Contains(got, w) {
			t.Errorf("audit lacks %s: %v", w, got)
		}
	}

	// Last, as it ends the server: a shutdown closes live consoles with a
	// close frame (http.Server.Shutdown alone leaves hijacked connections).
	if st := admin.call("POST", "/api/v1/vms/"+name+"/start", nil, nil); st != 200 {
		t.Fatalf("start: %d", st)
	}
	ws := user.open(t, name, "vnc")
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if ce := closeOf(t, ws, 5*time.Second); ce.Code != websocket.StatusGoingAway || ce.Reason != "server shutting down" {
		t.Fatalf("closed with %d %q", ce.Code, ce.Reason)
	}
}

// TestSpiceTicketOnKVM: a SPICE console is a remote-viewer file with a
// one-time password that libvirt has set on the running display.
func TestSpiceTicketOnKVM(t *testing.T) {
	// Closed in a cleanup registered before the guests' own, which need it.
	conn, uri := kvm(t)
	srv := startServer(t, uri)
	admin := srv.login(t)
	name := consoleGuest(t, conn, "spice")
	waitRunning(t, admin, name)
	tk := admin.ticket(t, name, "spice")
	if tk.Token != "" || tk.WSURL != "" || time.Until(tk.Expires) < 50*time.Second || time.Until(tk.Expires) > 70*time.Second {
		t.Fatalf("ticket %+v", tk)
	}
	fields := map[string]string{}
	for _, l := range strings.Split(tk.VV, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			fields[k] = v
		}
	}
	if !strings.HasPrefix(tk.VV, "[virt-viewer]\n") || fields["type"] != "spice" || fields["host"] != "127.0.0.1" ||
		fields["port"] == "" || len(fields["password"]) < 20 || fields["delete-this-file"] != "1" {
		t.Fatalf("vv file:\n%s", tk.VV)
	}
	out, err := exec.Command("virsh", "-c", uri, "dumpxml", "--security-info", name).CombinedOutput()
	if err != nil {
		t.Fatalf("virsh: %v\n%s", err, out)
	}
	g := regexp.MustCompile(`<graphics type='spice'[^>]*>`).FindString(string(out))
	validTo := tk.Expires.UTC().Format("2006-01-02T15:04:05")
	if !strings.Contains(g, "passwd='"+fields["password"]+"'") || !strings.Contains(g, "passwdValidTo='"+validTo) ||
		!strings.Contains(g, "port='"+fields["port"]+"'") || !strings.Contains(g, "listen='127.0.0.1'") {
		t.Fatalf("live graphics %s lack the password valid to %s", g, validTo)
	}
	// A second ticket replaces the password.
	tk2 := admin.ticket(t, name, "spice")
	if tk2.VV == tk.VV {
		t.Fatal("the same password twice")
	}
	if st := admin.call("POST", "/api/v1/vms/"+name+"/console", map[string]string{"kind": "vnc"}, nil); st != 409 {
		t.Fatalf("VNC on a SPICE guest: %d, want 409", st)
	}
	// The screenshot works for SPICE displays too.
	if st, _, b := admin.get(t, "/api/v1/vms/"+name+"/screenshot"); st != 200 || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("screenshot: %d", st)
	}
}
