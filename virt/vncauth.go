// VNC password authentication done by the portal, for displays reached
// over TCP (libvirt could not hand the socket over with SKIPAUTH): the
// portal logs in with the guest's password, read from libvirt, and the
// browser is offered security type None on a fresh handshake, so the
// password never leaves the server.

package virt

import (
	"bytes"
	"crypto/des"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"net"
	"sync"
	"time"
)

// RFB security types.
const (
	rfbSecNone = 1
	rfbSecVNC  = 2
)

var rfb38 = []byte("RFB 003.008\n")

// errVNCAuth: the display refused the portal's login.
var errVNCAuth = errors.New("vnc: authentication failed")

// vncLogin runs the client half of the RFB handshake on back with
// password (VNC authentication, or None when the server offers it), up to
// the point where the server waits for ClientInit, and returns a
// connection that gives its reader a handshake of its own offering None.
func vncLogin(back net.Conn, password string, timeout time.Duration) (io.ReadWriteCloser, error) {
	if err := back.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	read := func(n int) ([]byte, error) {
		b := make([]byte, n)
		_, err := io.ReadFull(back, b)
		return b, err
	}
	ver, err := read(12)
	if err != nil {
		return nil, fmt.Errorf("vnc: version: %w", err)
	}
	var major, minor int
	if _, err := fmt.Sscanf(string(ver), "RFB %03d.%03d\n", &major, &minor); err != nil || major != 3 {
		return nil, fmt.Errorf("vnc: not an RFB server: %q", ver)
	}
	minor = min(minor, 8)
	if minor != 3 && minor != 7 && minor != 8 {
		minor = 3 // what the protocol says of unknown minors
	}
	if _, err := fmt.Fprintf(back, "RFB 003.%03d\n", minor); err != nil {
		return nil, err
	}
	reason := func() error {
		b, err := read(4)
		if err != nil {
			return errVNCAuth
		}
		n := min(binary.BigEndian.Uint32(b), 1024)
		msg, _ := read(int(n))
		return fmt.Errorf("%w: %s", errVNCAuth, msg)
	}
	var sec byte
	if minor == 3 {
		b, err := read(4)
		if err != nil {
			return nil, err
		}
		switch t := binary.BigEndian.Uint32(b); t {
		case 0:
			return nil, reason()
		case rfbSecNone, rfbSecVNC:
			sec = byte(t)
		default:
			return nil, fmt.Errorf("vnc: security type %d not supported", t)
		}
	} else {
		n, err := read(1)
		if err != nil {
			return nil, err
		}
		if n[0] == 0 {
			return nil, reason()
		}
		types, err := read(int(n[0]))
		if err != nil {
			return nil, err
		}
		switch {
		case bytes.IndexByte(types, rfbSecNone) >= 0:
			sec = rfbSecNone
		case bytes.IndexByte(types, rfbSecVNC) >= 0:
			sec = rfbSecVNC
		default:
			return nil, fmt.Errorf("vnc: none of the security types %v is supported", types)
		}
		if _, err := back.Write([]byte{sec}); err != nil {
			return nil, err
		}
	}
	if sec == rfbSecVNC {
		challenge, err := read(16)
		if err != nil {
			return nil, err
		}
		if _, err := back.Write(vncResponse(password, challenge)); err != nil {
			return nil, err
		}
	}
	if sec == rfbSecVNC || minor == 8 {
		b, err := read(4)
		if err != nil {
			return nil, err
		}
		if binary.BigEndian.Uint32(b) != 0 {
			if minor == 8 {
				return nil, reason()
			}
			return nil, errVNCAuth
		}
	}
	if err := back.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	f := &vncFront{back: back}
	f.cond = sync.NewCond(&f.mu)
	f.out.Write(rfb38)
	return f, nil
}

// vncResponse is DES of the challenge under the password: its first 8
// bytes, NUL-padded, each byte's bits reversed (VNC's quirk).
func vncResponse(password string, challenge []byte) []byte {
	key := make([]byte, 8)
	copy(key, password)
	for i, b := range key {
		key[i] = bits.Reverse8(b)
	}
	c, _ := des.NewCipher(key) // 8 bytes: never fails
	out := make([]byte, 16)
	c.Encrypt(out[:8], challenge[:8])
	c.Encrypt(out[8:], challenge[8:16])
	return out
}

// vncFront speaks the server half of the handshake (version, None) to
// the browser, then passes bytes through.
type vncFront struct {
	back   net.Conn
	mu     sync.Mutex
	cond   *sync.Cond
	out    bytes.Buffer // handshake bytes for the reader
	in     []byte       // the browser's handshake bytes so far
	state  int          // 0: its version, 1: its security choice, 2: through
	minor  int
	closed bool
	err    error
}

func (f *vncFront) Read(p []byte) (int, error) {
	f.mu.Lock()
	for f.out.Len() == 0 && f.state < 2 && !f.closed && f.err == nil {
		f.cond.Wait()
	}
	if f.out.Len() > 0 {
		n, _ := f.out.Read(p)
		f.mu.Unlock()
		return n, nil
	}
	err := f.err
	if f.closed && err == nil {
		err = net.ErrClosed
	}
	f.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return f.back.Read(p)
}

func (f *vncFront) Write(p []byte) (int, error) {
	f.mu.Lock()
	if f.err != nil {
		f.mu.Unlock()
		return 0, f.err
	}
	if f.state == 2 {
		f.mu.Unlock()
		return f.back.Write(p)
	}
	f.in = append(f.in, p...)
	for f.state < 2 {
		switch {
		case f.state == 0 && len(f.in) >= 12:
			var major int
			if _, err := fmt.Sscanf(string(f.in[:12]), "RFB %03d.%03d\n", &major, &f.minor); err != nil || major != 3 {
				f.err = fmt.Errorf("vnc: the viewer sent %q", f.in[:12])
			}
			f.in = f.in[12:]
			if f.minor < 7 {
				// 3.3: the server names the type; None needs no answer.
				_ = binary.Write(&f.out, binary.BigEndian, uint32(rfbSecNone))
				f.state = 2
			} else {
				f.out.Write([]byte{1, rfbSecNone})
				f.state = 1
			}
		case f.state == 1 && len(f.in) >= 1:
			if f.in[0] != rfbSecNone {
				f.err = fmt.Errorf("vnc: the viewer chose security type %d", f.in[0])
			}
			f.in = f.in[1:]
			if f.minor >= 8 {
				_ = binary.Write(&f.out, binary.BigEndian, uint32(0))
			}
			f.state = 2
		default:
			f.cond.Broadcast()
			f.mu.Unlock()
			return len(p), nil
		}
		if f.err != nil {
			f.cond.Broadcast()
			f.mu.Unlock()
			return 0, f.err
		}
	}
	rest := f.in
	f.in = nil
	f.cond.Broadcast()
	f.mu.Unlock()
	if len(rest) > 0 {
		if _, err := f.back.Write(rest); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (f *vncFront) Close() error {
	f.mu.Lock()
	f.closed = true
	f.cond.Broadcast()
	f.mu.Unlock()
	return f.back.Close()
}
