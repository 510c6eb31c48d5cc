package virt

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/fault"
)

// Console kinds a caller may ask for.
const (
	ConsoleVNC    = "vnc"
	ConsoleSpice  = "spice"
	ConsoleSerial = "serial"
)

// ConsoleKinds lists the console kinds, in the order the UI offers them.
var ConsoleKinds = []string{ConsoleVNC, ConsoleSpice, ConsoleSerial}

// maxScreenshot bounds what a screenshot stream may deliver: a 4K screen as
// PPM is about 25 MB.
const maxScreenshot = 64 << 20

// Active reports, from the index, whether the guest has a live process
// (running, paused, shutting down …): the states in which a console or a
// screenshot can exist. It makes no libvirt call.
func (m *Manager) Active(name string) bool {
	vm, _, ok := m.vm(name)
	return ok && isActiveState(vm.State)
}

// GuestActive asks libvirt directly whether the guest has a live process;
// for when the index may not have caught up yet (a console that just lost
// its guest side).
func (m *Manager) GuestActive(ctx context.Context, name string) (bool, error) {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		if fault.Is(err, CodeGuestNotFound) {
			return false, nil
		}
		return false, err
	}
	defer release(c)
	defer dom.Free()
	active, err := dom.IsActive()
	if err != nil {
		return false, m.fail("get state", name, err)
	}
	return active, nil
}

// liveDomain finds a guest that has a live process; the caller releases c
// and frees dom. A guest without one is a 409 saying notRunning.
func (m *Manager) liveDomain(ctx context.Context, name, notRunning string) (*libvirt.Connect, *libvirt.Domain, error) {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return nil, nil, err
	}
	active, err := dom.IsActive()
	switch {
	case err != nil:
		err = m.fail("get state", name, err)
	case !active:
		err = CodeGuestNotRunning.New("guest %q is not running; %s", name, notRunning)
	}
	if err != nil {
		_ = dom.Free()
		release(c)
		return nil, nil, err
	}
	return c, dom, nil
}

// liveGuest is liveDomain with the live XML parsed.
func (m *Manager) liveGuest(ctx context.Context, name string, flags libvirt.DomainXMLFlags) (*libvirt.Connect, *libvirt.Domain, *libvirtxml.Domain, error) {
	c, dom, err := m.liveDomain(ctx, name, "start it first")
	if err != nil {
		return nil, nil, nil, err
	}
	ok := false
	defer func() {
		if !ok {
			_ = dom.Free()
			release(c)
		}
	}()
	doc, err := dom.GetXMLDesc(flags)
	if err != nil {
		return nil, nil, nil, m.fail("read guest", name, err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return nil, nil, nil, m.fail("read guest", name, err)
	}
	ok = true
	return c, dom, &d, nil
}

// graphicsIndex returns the index of the guest's first display of kind
// (vnc or spice) among its graphics devices, which is what
// OpenGraphicsFD counts, or -1.
func graphicsIndex(d *libvirtxml.Domain, kind string) int {
	if d.Devices == nil {
		return -1
	}
	for i, g := range d.Devices.Graphics {
		if graphicsKind(g) == kind {
			return i
		}
	}
	return -1
}

// hasSerial says whether d has a serial port or console OpenConsole can
// attach to: a pty, or one without a source (libvirt gives it a pty).
func hasSerial(d *libvirtxml.Domain) bool {
	if d.Devices == nil {
		return false
	}
	pty := func(src *libvirtxml.DomainChardevSource) bool { return src == nil || src.Pty != nil }
	for _, s := range d.Devices.Serials {
		if pty(s.Source) {
			return true
		}
	}
	for _, c := range d.Devices.Consoles {
		if pty(c.Source) {
			return true
		}
	}
	return false
}

// checkDevice says whether d has the device a console of kind needs.
func checkDevice(name string, d *libvirtxml.Domain, kind string) error {
	switch kind {
	case ConsoleVNC, ConsoleSpice:
		if graphicsIndex(d, kind) >= 0 {
			return nil
		}
		label := map[string]string{ConsoleVNC: "VNC", ConsoleSpice: "SPICE"}
		other := map[string]string{ConsoleVNC: ConsoleSpice, ConsoleSpice: ConsoleVNC}[kind]
		if graphicsIndex(d, other) >= 0 {
			return CodeNoDisplay.New("guest %q has no %s display; it has a %s one", name, label[kind], label[other])
		}
		return CodeNoDisplay.New("guest %q has no %s display", name, label[kind])
	case ConsoleSerial:
		if hasSerial(d) {
			return nil
		}
		return CodeNoSerial.New("guest %q has no serial console", name)
	}
	return CodeUnknownConsoleKind.New("unknown console kind %q; use vnc, spice or serial", kind)
}

// ConsoleCapable answers 501 on libvirt's test driver, which has neither
// consoles nor graphics passwords; other drivers decide per guest.
func (m *Manager) ConsoleCapable() error {
	if strings.HasPrefix(m.cfg.URI, "test:") {
		return notSupported("this host runs on libvirt's test driver, which has no consoles")
	}
	return nil
}

// CheckConsole says whether a console of kind can be opened on the guest
// now: it has a live process and the device. It opens nothing.
func (m *Manager) CheckConsole(ctx context.Context, name, kind string) error {
	c, dom, d, err := m.liveGuest(ctx, name, 0)
	if err != nil {
		return err
	}
	defer release(c)
	defer dom.Free()
	return checkDevice(name, d, kind)
}

// OpenGraphics connects to the guest's first VNC display. On a local
// libvirt the socket comes from OpenGraphicsFD, so the display needs no
// TCP port reachable from anywhere, and SKIPAUTH stands in for the VNC
// password (the portal has authorised the caller). When libvirt cannot hand
// a socket over (a remote URI, a driver without it) it falls back to a TCP
// connection to the listen address and port of the live XML; a VNC
// password, if the guest has one, is then asked by the viewer.
func (m *Manager) OpenGraphics(ctx context.Context, name string) (io.ReadWriteCloser, error) {
	c, dom, d, err := m.liveGuest(ctx, name, 0)
	if err != nil {
		return nil, err
	}
	defer release(c)
	defer dom.Free()
	if err := checkDevice(name, d, ConsoleVNC); err != nil {
		return nil, err
	}
	idx := graphicsIndex(d, ConsoleVNC)
	f, ferr := dom.OpenGraphicsFD(uint(idx), libvirt.DOMAIN_OPEN_GRAPHICS_SKIPAUTH)
	if ferr == nil {
		conn, err := net.FileConn(f)
		// FileConn holds its own duplicate of the descriptor.
		_ = f.Close()
		if err != nil {
			return nil, m.fail("open graphics", name, err)
		}
		return conn, nil
	}
	switch code := libvirtCode(ferr); {
	case isConnErr(ferr), code == libvirt.ERR_NO_DOMAIN, code == libvirt.ERR_OPERATION_INVALID:
		return nil, m.fail("open graphics", name, ferr)
	}
	m.log.Debug("no graphics socket from libvirt; trying the listen address", "guest", name, "err", ferr)
	network, addr, ok := graphicsAddr(d.Devices.Graphics[idx], remoteHost(m.cfg.URI))
	if !ok {
		return nil, notSupported("libvirt cannot hand over the display of guest %q on this connection, and the display listens on no address the portal can reach", name)
	}
	var dialer net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := dialer.DialContext(dctx, network, addr)
	if err != nil {
		m.log.Warn("graphics connection failed", "guest", name, "addr", addr, "err", err)
		return nil, CodeDisplayUnavailable.New("the display of guest %q does not answer", name)
	}
	return conn, nil
}

// remoteHost is the host of a remote libvirt URI ("qemu+ssh://h/system"),
// "" for a local one.
func remoteHost(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// graphicsAddr is where a VNC display listens, as the portal can reach it.
func graphicsAddr(g libvirtxml.DomainGraphic, uriHost string) (network, addr string, ok bool) {
	v := g.VNC
	if v == nil {
		return "", "", false
	}
	host := v.Listen
	for _, l := range v.Listeners {
		switch {
		case l.Socket != nil && l.Socket.Socket != "" && uriHost == "":
			return "unix", l.Socket.Socket, true
		case l.Address != nil && host == "":
			host = l.Address.Address
		case l.Network != nil && host == "":
			host = l.Network.Address
		}
	}
	if v.Socket != "" && uriHost == "" {
		return "unix", v.Socket, true
	}
	if v.Port <= 0 {
		return "", "", false
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = uriHost
		if host == "" {
			host = "127.0.0.1"
		}
	}
	return "tcp", net.JoinHostPort(host, strconv.Itoa(v.Port)), true
}

// OpenSerial opens the guest's first serial console on a libvirt stream.
//
// It asks with DOMAIN_CONSOLE_SAFE, not FORCE: FORCE would silently take the
// console away from whoever holds it (an administrator in `virsh console`,
// or another portal), while SAFE refuses, which is answered with a 409
// naming the reason. The portal itself admits one serial session per guest.
func (m *Manager) OpenSerial(ctx context.Context, name string) (io.ReadWriteCloser, error) {
	c, dom, d, err := m.liveGuest(ctx, name, 0)
	if err != nil {
		return nil, err
	}
	defer dom.Free()
	keep := false
	defer func() {
		if !keep {
			release(c)
		}
	}()
	if err := checkDevice(name, d, ConsoleSerial); err != nil {
		return nil, err
	}
	st, err := c.NewStream(0)
	if err != nil {
		return nil, m.fail("open console", name, err)
	}
	if err := dom.OpenConsole("", st, libvirt.DOMAIN_CONSOLE_SAFE); err != nil {
		_ = st.Free()
		switch code := libvirtCode(err); {
		case code == libvirt.ERR_NO_SUPPORT:
			return nil, notSupported("this libvirt driver has no serial consoles")
		case code == libvirt.ERR_OPERATION_FAILED && strings.Contains(err.Error(), "console session"):
			// "Active console session exists for this domain".
			return nil, CodeConsoleBusy.New("the serial console of guest %q is in use elsewhere (virsh console?); close it there first", name)
		}
		return nil, m.fail("open console", name, err)
	}
	keep = true
	return &streamConn{st: st, conn: c}, nil
}

// streamConn is a blocking libvirt stream as an io.ReadWriteCloser. Read and
// Write may run concurrently (one goroutine each); Close aborts the stream,
// which wakes a blocked Recv, waits for the calls in flight, and only then
// frees the stream, so no call ever uses a freed one.
type streamConn struct {
	st   *libvirt.Stream
	conn *libvirt.Connect // a reference held until Close

	mu     sync.Mutex
	closed bool
	eof    bool
	calls  sync.WaitGroup
	once   sync.Once
}

func (s *streamConn) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.calls.Add(1)
	return true
}

func (s *streamConn) Read(p []byte) (int, error) {
	if !s.enter() {
		return 0, net.ErrClosed
	}
	defer s.calls.Done()
	for {
		n, err := s.st.Recv(p)
		switch {
		case errors.Is(err, io.EOF):
			s.mu.Lock()
			s.eof = true
			s.mu.Unlock()
			return 0, io.EOF
		case err != nil:
			if s.isClosed() {
				return 0, net.ErrClosed
			}
			return 0, err
		case n < 0:
			continue // -2/-3 happen only on non-blocking or sparse streams
		}
		return n, nil
	}
}

func (s *streamConn) Write(p []byte) (int, error) {
	if !s.enter() {
		return 0, net.ErrClosed
	}
	defer s.calls.Done()
	done := 0
	for done < len(p) {
		n, err := s.st.Send(p[done:])
		if err != nil {
			if s.isClosed() {
				return done, net.ErrClosed
			}
			return done, err
		}
		if n > 0 {
			done += n
		}
	}
	return done, nil
}

func (s *streamConn) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close ends the stream: Finish when the guest side already ended it
// cleanly, Abort otherwise.
func (s *streamConn) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		eof := s.eof
		s.mu.Unlock()
		if eof {
			if err := s.st.Finish(); err != nil {
				_ = s.st.Abort()
			}
		} else {
			_ = s.st.Abort()
		}
		s.calls.Wait()
		_ = s.st.Free()
		release(s.conn)
	})
	return nil
}

// Screenshot returns the guest's first screen as PNG. QEMU answers PNG
// where it can and PPM otherwise (the MIME type says which); PPM is
// converted here.
func (m *Manager) Screenshot(ctx context.Context, name string) ([]byte, error) {
	c, dom, err := m.liveDomain(ctx, name, "it has no screen to show")
	if err != nil {
		return nil, err
	}
	defer release(c)
	defer dom.Free()
	st, err := c.NewStream(0)
	if err != nil {
		return nil, m.fail("screenshot", name, err)
	}
	defer func() { _ = st.Free() }()
	mime, err := dom.Screenshot(st, 0, 0)
	if err != nil {
		switch libvirtCode(err) {
		case libvirt.ERR_NO_SUPPORT:
			return nil, notSupported("this libvirt driver takes no screenshots")
		case libvirt.ERR_OPERATION_INVALID, libvirt.ERR_OPERATION_FAILED:
			// No display, or the guest stopped meanwhile.
			return nil, CodeNoScreen.New("guest %q has no screen to show", name)
		}
		return nil, m.fail("screenshot", name, err)
	}
	var buf bytes.Buffer
	chunk := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			_ = st.Abort()
			return nil, m.fail("screenshot", name, err)
		}
		n, rerr := st.Recv(chunk)
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			_ = st.Abort()
			return nil, m.fail("screenshot", name, rerr)
		}
		if n > 0 {
			buf.Write(chunk[:n])
		}
		if buf.Len() > maxScreenshot {
			_ = st.Abort()
			return nil, m.fail("screenshot", name, fmt.Errorf("screenshot larger than %d bytes", maxScreenshot))
		}
	}
	if err := st.Finish(); err != nil {
		return nil, m.fail("screenshot", name, err)
	}
	switch mime {
	case "image/png":
		return buf.Bytes(), nil
	case "image/x-portable-pixmap":
		out, err := ppmToPNG(buf.Bytes())
		if err != nil {
			return nil, m.fail("screenshot", name, err)
		}
		return out, nil
	}
	return nil, m.fail("screenshot", name, fmt.Errorf("screenshot in unexpected format %q", mime))
}

// ppmToPNG converts a binary PPM (P6) image to PNG.
func ppmToPNG(b []byte) ([]byte, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	magic, err := ppmField(r)
	if err != nil || magic != "P6" {
		return nil, fmt.Errorf("ppm: not a binary PPM (magic %q)", magic)
	}
	var v [3]int
	for i := range v {
		f, err := ppmField(r)
		if err != nil {
			return nil, fmt.Errorf("ppm: header: %w", err)
		}
		if v[i], err = strconv.Atoi(f); err != nil || v[i] <= 0 {
			return nil, fmt.Errorf("ppm: bad header field %q", f)
		}
	}
	w, h, maxval := v[0], v[1], v[2]
	if maxval > 65535 || w > 16384 || h > 16384 {
		return nil, fmt.Errorf("ppm: %dx%d max %d out of range", w, h, maxval)
	}
	bpp := 3
	if maxval > 255 {
		bpp = 6
	}
	pix := make([]byte, w*h*bpp)
	if _, err := io.ReadFull(r, pix); err != nil {
		return nil, fmt.Errorf("ppm: pixels: %w", err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	scale := func(x int) uint8 { return uint8(x * 255 / maxval) }
	for i := range w * h {
		var c color.NRGBA
		if bpp == 3 {
			p := pix[i*3:]
			c = color.NRGBA{scale(int(p[0])), scale(int(p[1])), scale(int(p[2])), 255}
		} else {
			p := pix[i*6:]
			c = color.NRGBA{scale(int(p[0])<<8 | int(p[1])), scale(int(p[2])<<8 | int(p[3])), scale(int(p[4])<<8 | int(p[5])), 255}
		}
		img.Pix[i*4], img.Pix[i*4+1], img.Pix[i*4+2], img.Pix[i*4+3] = c.R, c.G, c.B, c.A
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&out, img); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ppmField reads one whitespace-separated header field, skipping comments;
// the single whitespace byte after the last field is consumed with it.
func ppmField(r *bufio.Reader) (string, error) {
	var f []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		switch {
		case c == '#' && len(f) == 0:
			if _, err := r.ReadString('\n'); err != nil {
				return "", err
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(f) > 0 {
				return string(f), nil
			}
		default:
			if len(f) >= 16 {
				return "", errors.New("header field too long")
			}
			f = append(f, c)
		}
	}
}

// SpiceTicket is what a SPICE client needs to connect once.
type SpiceTicket struct {
	Host     string // the listen address of the live XML; "" or a wildcard when it listens everywhere
	Port     int    // 0 when there is only a TLS port
	TLSPort  int    // 0 when there is none
	Password string
	ValidTo  time.Time
}

// SetSpicePassword sets a fresh random password on the running guest's
// SPICE display, valid for validFor, and returns it with where the display
// listens. The display must have been started with ticketing, that is with
// some password in its definition (an expired one is fine: libvirt
// disables ticketing for SPICE without a password, and then QEMU refuses
// to set one). The device is updated live from its own live XML with only
// passwd and passwdValidTo changed, so every other attribute stays as it
// is. A later call replaces the password; clients already connected stay
// (QEMU's default for "connected").
func (m *Manager) SetSpicePassword(ctx context.Context, name string, validFor time.Duration) (SpiceTicket, error) {
	c, dom, d, err := m.liveGuest(ctx, name, libvirt.DOMAIN_XML_SECURE)
	if err != nil {
		return SpiceTicket{}, err
	}
	defer release(c)
	defer dom.Free()
	if err := checkDevice(name, d, ConsoleSpice); err != nil {
		return SpiceTicket{}, err
	}
	g := d.Devices.Graphics[graphicsIndex(d, ConsoleSpice)]
	pw := make([]byte, 18)
	if _, err := rand.Read(pw); err != nil {
		return SpiceTicket{}, m.fail("spice password", name, err)
	}
	// Whole seconds: libvirt's passwdValidTo has no fraction.
	t := SpiceTicket{Password: base64.RawURLEncoding.EncodeToString(pw), ValidTo: time.Now().Add(validFor).UTC().Truncate(time.Second)}
	g.Spice.Passwd = t.Password
	// libvirt reads passwdValidTo as UTC.
	g.Spice.PasswdValidTo = t.ValidTo.Format("2006-01-02T15:04:05")
	doc, err := g.Marshal()
	if err != nil {
		return SpiceTicket{}, m.fail("spice password", name, err)
	}
	if err := dom.UpdateDeviceFlags(doc, libvirt.DOMAIN_DEVICE_MODIFY_LIVE); err != nil {
		switch {
		case libvirtCode(err) == libvirt.ERR_NO_SUPPORT:
			return SpiceTicket{}, notSupported("this libvirt driver cannot set display passwords")
		case strings.Contains(err.Error(), "Could not set password"):
			// libvirt starts SPICE with ticketing disabled when the
			// definition has no password, and QEMU then refuses one.
			return SpiceTicket{}, CodeSpiceNoPassword.New("the SPICE display of guest %q was started without a password, so none can be set now; "+
				"give its graphics a passwd (an expired passwdValidTo keeps it unusable) and restart it", name)
		}
		return SpiceTicket{}, m.fail("spice password", name, err)
	}
	s := g.Spice
	t.Port, t.TLSPort, t.Host = max(s.Port, 0), max(s.TLSPort, 0), s.Listen
	for _, l := range s.Listeners {
		switch {
		case t.Host != "":
		case l.Address != nil:
			t.Host = l.Address.Address
		case l.Network != nil:
			t.Host = l.Network.Address
		}
	}
	if t.Port == 0 && t.TLSPort == 0 {
		return SpiceTicket{}, CodeSpiceNoPort.New("the SPICE display of guest %q listens on no TCP port", name)
	}
	return t, nil
}
