package virt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
)

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
