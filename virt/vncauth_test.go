package virt

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"
)

// fakeVNC is a VNC server (a fake beside QEMU, for the handshake alone)
// asking for password with VNC authentication, then echoing.
func fakeVNC(t *testing.T, conn net.Conn, version, password string) {
	defer conn.Close()
	read := func(n int) []byte {
		b := make([]byte, n)
		if _, err := io.ReadFull(conn, b); err != nil {
			t.Errorf("server read: %v", err)
		}
		return b
	}
	conn.Write([]byte(version))
	got := read(12)
	if version == "RFB 003.003\n" {
		binary.Write(conn, binary.BigEndian, uint32(rfbSecVNC))
	} else {
		conn.Write([]byte{1, rfbSecVNC})
		if c := read(1); c[0] != rfbSecVNC {
			t.Errorf("client chose %d", c[0])
		}
	}
	_ = got
	challenge := []byte("0123456789abcdef")
	conn.Write(challenge)
	resp := read(16)
	if !bytes.Equal(resp, vncResponse(password, challenge)) {
		binary.Write(conn, binary.BigEndian, uint32(1))
		return
	}
	binary.Write(conn, binary.BigEndian, uint32(0))
	// ClientInit, then echo.
	if ci := read(1); ci[0] != 1 {
		t.Errorf("ClientInit %d", ci[0])
	}
	io.Copy(conn, conn)
}

func TestVNCLogin(t *testing.T) {
	for _, version := range []string{"RFB 003.008\n", "RFB 003.003\n"} {
		t.Run(version[:11], func(t *testing.T) {
			srv, cli := net.Pipe()
			go fakeVNC(t, srv, version, "s3cret")
			front, err := vncLogin(cli, "s3cret", 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer front.Close()
			read := func(n int) []byte {
				b := make([]byte, n)
				if _, err := io.ReadFull(front, b); err != nil {
					t.Fatal(err)
				}
				return b
			}
			// The viewer's side: a 3.8 handshake offering None only.
			if v := string(read(12)); v != "RFB 003.008\n" {
				t.Fatalf("version %q", v)
			}
			front.Write([]byte("RFB 003.008\n"))
			if types := read(2); !bytes.Equal(types, []byte{1, rfbSecNone}) {
				t.Fatalf("security types %v", types)
			}
			front.Write([]byte{rfbSecNone})
			if r := read(4); binary.BigEndian.Uint32(r) != 0 {
				t.Fatalf("SecurityResult %v", r)
			}
			front.Write([]byte{1}) // ClientInit reaches the server
			front.Write([]byte("echo"))
			if got := string(read(4)); got != "echo" {
				t.Fatalf("got %q", got)
			}
		})
	}
}

func TestVNCLoginWrongPassword(t *testing.T) {
	srv, cli := net.Pipe()
	go fakeVNC(t, srv, "RFB 003.008\n", "right")
	if _, err := vncLogin(cli, "wrong", 5*time.Second); err == nil {
		t.Fatal("a wrong password logged in")
	}
}
