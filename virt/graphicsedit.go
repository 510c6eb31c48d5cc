// Changing a guest's display (VNC or SPICE, listen address, keymap,
// password with expiry) and its serial console. Passwords go to libvirt
// only: never logged, never returned.

package virt

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Keymaps QEMU knows (its pc-bios/keymaps).
var Keymaps = []string{"ar", "bepo", "cz", "da", "de", "de-ch", "en-gb", "en-us", "es", "et", "fi", "fo", "fr", "fr-be", "fr-ca",
	"fr-ch", "hr", "hu", "is", "it", "ja", "lt", "lv", "mk", "nl", "no", "pl", "pt", "pt-br", "ru", "sl", "sv", "th", "tr"}

// Password lengths: VNC uses only the first 8 bytes, so a longer one
// would be a lie.
const (
	maxVNCPassword   = 8
	maxSpicePassword = 60
)

const passwdTimeLayout = "2006-01-02T15:04:05"

type graphicsPlan struct {
	next     api.VMGraphics
	serial   bool
	password *string // nil: unchanged
	validTo  string  // passwdValidTo, UTC, "" none
	applied  map[string]string
}

// planGraphics checks u against the guest. admin may let the display
// listen beyond 127.0.0.1.
func planGraphics(cur api.VMGraphics, curSerial bool, running, persistent bool, u api.VMGraphicsUpdate, admin bool) (*graphicsPlan, error) {
	p := &graphicsPlan{next: cur, serial: curSerial, applied: map[string]string{}}
	n := &p.next
	var det []fault.Detail
	bad := func(field, format string, a ...any) {
		det = append(det, fault.Detail{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	// Only the password can change on a running display.
	set := func(field string, differs bool, live bool) {
		switch {
		case !differs:
		case !running || live:
			p.applied[field] = api.AppliesNow
		default:
			p.applied[field] = api.AppliesNextBoot
		}
	}
	if u.Type != nil {
		switch *u.Type {
		case "vnc", "spice", "none":
		default:
			bad("graphics.type", "vnc, spice or none")
		}
		set("graphics.type", *u.Type != cur.Type, false)
		n.Type = *u.Type
		if n.Type != "none" && cur.Type == "none" && n.Listen == "" {
			n.Listen = DefaultListen
		}
	}
	if u.Listen != nil {
		a, err := netip.ParseAddr(*u.Listen)
		switch {
		case err != nil || a.Zone() != "":
			bad("graphics.listen", "an IP address")
		case *u.Listen != DefaultListen && *u.Listen != cur.Listen && !admin:
			bad("graphics.listen", "127.0.0.1 unless an administrator sets another address")
		}
		set("graphics.listen", *u.Listen != cur.Listen, false)
		n.Listen = *u.Listen
	}
	if u.Keymap != nil {
		if *u.Keymap != "" && !slices.Contains(Keymaps, *u.Keymap) {
			bad("graphics.keymap", "one of QEMU's keymaps (en-us, de, fr, pt-br …) or empty for the guest's default")
		}
		set("graphics.keymap", *u.Keymap != cur.Keymap, false)
		n.Keymap = *u.Keymap
	}
	if u.Password != nil || u.PasswordValidTo != nil {
		pw := ""
		if u.Password != nil {
			pw = *u.Password
		}
		limit := maxVNCPassword
		if n.Type == "spice" {
			limit = maxSpicePassword
		}
		switch {
		case n.Type == "none" && (pw != "" || u.PasswordValidTo != nil):
			bad("graphics.password", "a guest without a display has no password")
		case u.Password == nil && !cur.PasswordSet:
			bad("graphics.password_valid_to", "set a password with its expiry")
		case len(pw) > limit:
			bad("graphics.password", "at most %d characters for %s", limit, n.Type)
		case !printableASCII(pw):
			bad("graphics.password", "printable ASCII characters only")
		case pw == "" && u.PasswordValidTo != nil && u.Password != nil:
			bad("graphics.password_valid_to", "no expiry without a password")
		}
		if u.PasswordValidTo != nil {
			p.validTo = u.PasswordValidTo.UTC().Format(passwdTimeLayout)
			t, _ := time.Parse(passwdTimeLayout, p.validTo)
			n.PasswordValidTo = &t
		} else if u.Password != nil {
			n.PasswordValidTo = nil
		}
		if u.Password != nil {
			p.password = u.Password
			n.PasswordSet = pw != ""
		}
		// Where libvirt can set it live, a password takes effect now.
		set("graphics.password", true, cur.Type == n.Type)
	}
	if u.Serial != nil {
		set("serial", *u.Serial != curSerial, false)
		p.serial = *u.Serial
	}
	if n.Type == "none" {
		n.Listen, n.Keymap, n.PasswordSet, n.PasswordValidTo = "", "", false, nil
	}
	if len(det) > 0 {
		return nil, CodeInvalidSettings.New("the display cannot be changed as asked; nothing was changed").WithDetails(det)
	}
	if running && !persistent && slices.Contains(slices.Collect(maps.Values(p.applied)), api.AppliesNextBoot) {
		return nil, CodeGuestState.New("the guest is transient: it has no saved configuration for the next boot")
	}
	return p, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// UpdateGraphics changes the guest's display and serial console as u
// asks; admin may set a listen address beyond 127.0.0.1.
func (m *Manager) UpdateGraphics(ctx context.Context, name string, u api.VMGraphicsUpdate, admin bool) (api.VMUpdateResult, error) {
	if err := ValidateName(name); err != nil {
		return api.VMUpdateResult{}, err
	}
	unlock := m.grantLocks.lock(name)
	defer unlock()
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	defer release(c)
	defer dom.Free()
	g, err := m.readGuest(dom, name)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	p, err := planGraphics(graphicsFrom(g.cfg), hasSerial(g.cfg), g.live != nil, g.persistent, u, admin)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	if len(p.applied) > 0 {
		if err := m.applyGraphics(dom, name, g, p); err != nil {
			m.enqueue(name, refreshFull)
			return api.VMUpdateResult{}, err
		}
	}
	if err := m.refreshDom(dom, name, refreshFull); err != nil {
		m.log.Warn("refresh after display change failed", "guest", name, "err", err)
	}
	if g, err = m.readGuest(dom, name); err != nil {
		return api.VMUpdateResult{}, err
	}
	s, err := m.settingsOf(ctx, name, g)
	if err != nil {
		return api.VMUpdateResult{}, err
	}
	return api.VMUpdateResult{Settings: s, Applied: p.applied}, nil
}

func (m *Manager) applyGraphics(dom *libvirt.Domain, name string, g *guestDocs, p *graphicsPlan) error {
	if g.persistent {
		editGraphics(g.cfg, p)
		if err := m.define(dom, name, g.cfg); err != nil {
			return err
		}
	}
	if g.live == nil || p.password == nil && p.validTo == "" || p.applied["graphics.password"] != api.AppliesNow {
		return nil
	}
	i := displayIndex(g.live)
	if i < 0 {
		return nil
	}
	dev := g.live.Devices.Graphics[i]
	setPassword(&dev, p)
	doc, err := dev.Marshal()
	if err != nil {
		return m.fail("set display password", name, err)
	}
	if err := dom.UpdateDeviceFlags(doc, libvirt.DOMAIN_DEVICE_MODIFY_LIVE); err != nil {
		if isUnsupportedFlags(err) || strings.Contains(err.Error(), "Could not set password") {
			// The saved configuration has it: the next boot takes it.
			// (QEMU refuses a password on a display it started without
			// one; the test driver sets none live.)
			p.applied["graphics.password"] = api.AppliesNextBoot
			return nil
		}
		return m.liveFail("graphics.password", name, err)
	}
	return nil
}

// setPassword writes the planned password and expiry into a display.
func setPassword(dev *libvirtxml.DomainGraphic, p *graphicsPlan) {
	var pw, validTo *string
	if dev.VNC != nil {
		pw, validTo = &dev.VNC.Passwd, &dev.VNC.PasswdValidTo
	} else {
		pw, validTo = &dev.Spice.Passwd, &dev.Spice.PasswdValidTo
	}
	if p.password != nil {
		*pw = *p.password
		*validTo = ""
	}
	if p.validTo != "" {
		*validTo = p.validTo
	}
	if *pw == "" {
		*validTo = ""
	}
}

// editGraphics writes the planned display and serial console into a
// configuration document.
func editGraphics(d *libvirtxml.Domain, p *graphicsPlan) {
	if d.Devices == nil {
		d.Devices = &libvirtxml.DomainDeviceList{}
	}
	dev := d.Devices
	n := p.next
	i := displayIndex(d)
	switch {
	case n.Type == "none":
		if i >= 0 {
			dev.Graphics = slices.Delete(dev.Graphics, i, i+1)
		}
	case i < 0 || graphicsKind(dev.Graphics[i]) != n.Type:
		var old *libvirtxml.DomainGraphic
		if i >= 0 {
			old = &dev.Graphics[i]
		}
		ng := newDisplay(n.Type, old)
		if i >= 0 {
			dev.Graphics[i] = ng
		} else {
			dev.Graphics = append(dev.Graphics, ng)
		}
		if len(dev.Videos) == 0 {
			model := "virtio"
			if n.Type == "spice" {
				model = "qxl"
			}
			dev.Videos = []libvirtxml.DomainVideo{{Model: libvirtxml.DomainVideoModel{Type: model}}}
		}
		if !slices.ContainsFunc(dev.Inputs, func(in libvirtxml.DomainInput) bool { return in.Type == "tablet" }) {
			dev.Inputs = append(dev.Inputs, libvirtxml.DomainInput{Type: "tablet", Bus: "usb"})
		}
	}
	if i = displayIndex(d); i >= 0 {
		g := &dev.Graphics[i]
		var listen, keymap *string
		var listeners *[]libvirtxml.DomainGraphicListener
		if g.VNC != nil {
			listen, keymap, listeners = &g.VNC.Listen, &g.VNC.Keymap, &g.VNC.Listeners
		} else {
			listen, keymap, listeners = &g.Spice.Listen, &g.Spice.Keymap, &g.Spice.Listeners
		}
		if _, ok := p.applied["graphics.listen"]; ok || n.Listen != "" && *listen != n.Listen {
			*listen = ""
			*listeners = []libvirtxml.DomainGraphicListener{{Address: &libvirtxml.DomainGraphicListenerAddress{Address: n.Listen}}}
		}
		*keymap = n.Keymap
		setPassword(g, p)
	}
	hasSer := hasSerial(d)
	switch {
	case p.serial && !hasSer:
		port := uint(0)
		dev.Serials = append(dev.Serials, libvirtxml.DomainSerial{
			Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
			Target: &libvirtxml.DomainSerialTarget{Port: &port},
		})
		dev.Consoles = append(dev.Consoles, libvirtxml.DomainConsole{
			Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
			Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: &port},
		})
	case !p.serial && hasSer:
		dev.Serials = nil
		dev.Consoles = slices.DeleteFunc(dev.Consoles, func(c libvirtxml.DomainConsole) bool {
			return c.Target == nil || c.Target.Type == "" || c.Target.Type == "serial"
		})
	}
}

// newDisplay is a display of kind taking over old's listen address,
// keymap and password.
func newDisplay(kind string, old *libvirtxml.DomainGraphic) libvirtxml.DomainGraphic {
	var listeners []libvirtxml.DomainGraphicListener
	var listen, keymap, pw, validTo string
	if old != nil {
		if v := old.VNC; v != nil {
			listen, keymap, pw, validTo, listeners = v.Listen, v.Keymap, v.Passwd, v.PasswdValidTo, v.Listeners
		} else if s := old.Spice; s != nil {
			listen, keymap, pw, validTo, listeners = s.Listen, s.Keymap, s.Passwd, s.PasswdValidTo, s.Listeners
		}
	}
	if len(listeners) == 0 {
		if listen == "" {
			listen = DefaultListen
		}
		listeners = []libvirtxml.DomainGraphicListener{{Address: &libvirtxml.DomainGraphicListenerAddress{Address: listen}}}
	}
	if kind == "vnc" && len(pw) > maxVNCPassword {
		pw, validTo = "", ""
	}
	if kind == "vnc" {
		return libvirtxml.DomainGraphic{VNC: &libvirtxml.DomainGraphicVNC{Port: -1, AutoPort: "yes", Keymap: keymap, Passwd: pw, PasswdValidTo: validTo, Listeners: listeners}}
	}
	return libvirtxml.DomainGraphic{Spice: &libvirtxml.DomainGraphicSpice{Port: -1, AutoPort: "yes", Keymap: keymap, Passwd: pw, PasswdValidTo: validTo, Listeners: listeners}}
}
