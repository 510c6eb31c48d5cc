package virt

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/fault"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// TestConsolesOnTestDriver: the test driver has displays and serial ports
// in its XML but cannot open them; every path answers a clear error.
func TestConsolesOnTestDriver(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	ctx := context.Background()
	for _, tc := range []struct {
		guest, kind string
		code        fault.Code // the zero Code: no error
		msg         string
	}{
		{"db01", ConsoleVNC, fault.Code{}, ""},
		{"db01", ConsoleSerial, fault.Code{}, ""},
		{"db01", ConsoleSpice, CodeNoDisplay, "has no SPICE display; it has a VNC one"},
		{"win2022-ad", ConsoleSpice, fault.Code{}, ""},
		{"ubuntu-desktop", ConsoleSpice, fault.Code{}, ""}, // paused still has a display
		{"jenkins-old", ConsoleVNC, CodeGuestNotRunning, "is not running"},
		{"db01", "rdp", CodeUnknownConsoleKind, "unknown console kind"},
		{"no-such", ConsoleVNC, CodeGuestNotFound, ""},
		{"bad/name", ConsoleVNC, CodeInvalidName, ""},
	} {
		t.Run(tc.guest+"/"+tc.kind, func(t *testing.T) {
			err := m.CheckConsole(ctx, tc.guest, tc.kind)
			if tc.code == (fault.Code{}) {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if e := wantCode(t, err, tc.code); !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("message %q lacks %q", e.Message, tc.msg)
			}
		})
	}
	_, err := m.OpenGraphics(ctx, "db01")
	wantCode(t, err, CodeNotSupported)
	_, err = m.OpenGraphics(ctx, "jenkins-old")
	wantCode(t, err, CodeGuestNotRunning)
	_, err = m.OpenSerial(ctx, "db01")
	wantCode(t, err, CodeNotSupported)
	_, err = m.SetSpicePassword(ctx, "win2022-ad", 60e9)
	wantCode(t, err, CodeNotSupported)

	if !m.Active("db01") || m.Active("jenkins-old") || m.Active("no-such") {
		t.Fatal("Active disagrees with the fixture")
	}
	if a, err := m.GuestActive(ctx, "db01"); err != nil || !a {
		t.Fatalf("GuestActive(db01) = %v, %v", a, err)
	}
	if a, err := m.GuestActive(ctx, "no-such"); err != nil || a {
		t.Fatalf("GuestActive(no-such) = %v, %v", a, err)
	}
}

func TestScreenshotOnTestDriver(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	ctx := context.Background()
	b, err := m.Screenshot(ctx, "db01")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, pngMagic) {
		t.Fatalf("not a PNG: % x", b[:min(len(b), 8)])
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	_, err = m.Screenshot(ctx, "jenkins-old")
	wantCode(t, err, CodeGuestNotRunning)
	_, err = m.Screenshot(ctx, "no-such")
	wantCode(t, err, CodeGuestNotFound)
}

// A screenshot cached while the guest ran is not served once it stopped.
func TestCachedScreenshotOfAStoppedGuest(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	ctx := context.Background()
	now := time.Now()
	if _, _, err := m.CachedScreenshot("db01", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Action(ctx, "db01", "poweroff"); err != nil {
		t.Fatal(err)
	}
	_, _, err := m.CachedScreenshot("db01", now.Add(time.Second), time.Minute)
	wantCode(t, err, CodeGuestNotRunning)
	if _, err := m.Action(ctx, "db01", "start"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := m.CachedScreenshot("db01", now.Add(2*time.Second), time.Minute); err != nil {
		t.Fatalf("running again: %v", err)
	}
}

func TestPPMToPNG(t *testing.T) {
	// 2x1: red, then a half-grey; a comment in the header; 8 and 16 bit.
	for _, tc := range []struct {
		name string
		ppm  []byte
	}{
		{"8 bit", append([]byte("P6\n# qemu\n2 1\n255\n"), 255, 0, 0, 128, 128, 128)},
		{"16 bit", append([]byte("P6 2 1 65535\n"), 0xff, 0xff, 0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ppmToPNG(tc.ppm)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() != 2 || b.Dy() != 1 {
				t.Fatalf("bounds %v", b)
			}
			r, g, _, a := img.At(0, 0).RGBA()
			r2, _, _, _ := img.At(1, 0).RGBA()
			if r>>8 != 255 || g != 0 || a>>8 != 255 || r2>>8 != 128 {
				t.Fatalf("pixels %d %d %d / %d", r>>8, g>>8, a>>8, r2>>8)
			}
		})
	}
	for _, bad := range [][]byte{[]byte("P3\n1 1\n255\n0 0 0"), []byte("P6\n2 2\n255\n\x00"), []byte("P6\n99999 1\n255\n"), []byte("P6\nx 1\n255\n")} {
		if _, err := ppmToPNG(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestGraphicsAddr(t *testing.T) {
	vnc := func(v libvirtxml.DomainGraphicVNC) libvirtxml.DomainGraphic { return libvirtxml.DomainGraphic{VNC: &v} }
	addr := func(a string) []libvirtxml.DomainGraphicListener {
		return []libvirtxml.DomainGraphicListener{{Address: &libvirtxml.DomainGraphicListenerAddress{Address: a}}}
	}
	for _, tc := range []struct {
		g       libvirtxml.DomainGraphic
		uriHost string
		want    string // network/addr, "" for none
	}{
		{vnc(libvirtxml.DomainGraphicVNC{Port: 5901, Listen: "127.0.0.1"}), "", "tcp/127.0.0.1:5901"},
		{vnc(libvirtxml.DomainGraphicVNC{Port: 5901, Listeners: addr("0.0.0.0")}), "", "tcp/127.0.0.1:5901"},
		{vnc(libvirtxml.DomainGraphicVNC{Port: 5901, Listeners: addr("::")}), "kvm1.example.org", "tcp/kvm1.example.org:5901"},
		{vnc(libvirtxml.DomainGraphicVNC{Port: 5901, Listen: "10.0.0.5"}), "kvm1", "tcp/10.0.0.5:5901"},
		{vnc(libvirtxml.DomainGraphicVNC{Port: -1, AutoPort: "yes", Listen: "127.0.0.1"}), "", ""},
		{vnc(libvirtxml.DomainGraphicVNC{Listeners: []libvirtxml.DomainGraphicListener{{Socket: &libvirtxml.DomainGraphicListenerSocket{Socket: "/run/vnc.sock"}}}}), "", "unix//run/vnc.sock"},
		{vnc(libvirtxml.DomainGraphicVNC{Socket: "/run/vnc.sock"}), "remote", ""},
		{libvirtxml.DomainGraphic{Spice: &libvirtxml.DomainGraphicSpice{Port: 5900}}, "", ""},
	} {
		n, a, ok := graphicsAddr(tc.g, tc.uriHost)
		got := ""
		if ok {
			got = n + "/" + a
		}
		if got != tc.want {
			t.Errorf("%+v via %q: got %q, want %q", tc.g.VNC, tc.uriHost, got, tc.want)
		}
	}
	if h := remoteHost("qemu+ssh://root@kvm1:22/system"); h != "kvm1" {
		t.Errorf("remote host %q", h)
	}
	if h := remoteHost("qemu:///system"); h != "" {
		t.Errorf("local host %q", h)
	}
}
