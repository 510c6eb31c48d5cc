package virt

import (
	"context"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
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
// and frees dom. A guest without one is CodeGuestNotRunning saying notRunning.
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

// ConsoleCapable answers CodeNotSupported on libvirt's test driver, which has neither
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
// password, if the guest has one, is then given by the portal itself
// (vncauth.go) and the viewer is offered None: it never sees it.
func (m *Manager) OpenGraphics(ctx context.Context, name string) (io.ReadWriteCloser, error) {
	c, dom, d, err := m.liveGuest(ctx, name, libvirt.DOMAIN_XML_SECURE)
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
	if pw := d.Devices.Graphics[idx].VNC.Passwd; pw != "" {
		front, err := vncLogin(conn, pw, 10*time.Second)
		if err != nil {
			_ = conn.Close()
			m.log.Warn("graphics login failed", "guest", name, "err", err)
			return nil, CodeDisplayUnavailable.New("the display of guest %q refused the portal's login (has its password expired?)", name)
		}
		return front, nil
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
// or another portal), while SAFE refuses, which is answered with CodeConsoleBusy
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
