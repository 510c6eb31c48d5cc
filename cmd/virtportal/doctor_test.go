package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDoctorDataDir(t *testing.T) {
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, level, detail string
	}{
		{"missing", filepath.Join(base, "absent"), "FAIL", "no such file"},
		{"a file", file, "FAIL", "not a folder"},
		{"open to others", mk("open", 0o755), "FAIL", "lets others in"},
		{"right", mk("right", 0o700), "ok", "mode 0700, writable"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := checkDataDir(tc.dir)
			if f.level != tc.level || !strings.Contains(f.detail, tc.detail) || (f.level == "FAIL") != (f.fix != "") {
				t.Errorf("%+v", f)
			}
		})
	}
}

// cert writes a self-signed certificate valid from..until and its key.
func cert(t *testing.T, from, until time.Time, keyMode os.FileMode) (string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "portal.test"},
		DNSNames: []string{"portal.test"}, NotBefore: from, NotAfter: until}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	dir := t.TempDir()
	c, k := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_ = os.WriteFile(c, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	_ = os.WriteFile(k, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), keyMode)
	_ = os.Chmod(k, keyMode)
	return c, k
}

func TestDoctorTLS(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	good, goodKey := cert(t, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0), 0o640)
	old, oldKey := cert(t, now.AddDate(-2, 0, 0), now.AddDate(0, 0, -1), 0o640)
	soon, soonKey := cert(t, now.AddDate(0, -1, 0), now.AddDate(0, 0, 10), 0o640)
	open, openKey := cert(t, now.AddDate(0, -1, 0), now.AddDate(1, 0, 0), 0o644)
	for _, tc := range []struct {
		name, listen, cert, key, level, detail string
	}{
		{"off on loopback", "127.0.0.1:8080", "", "", "ok", "loopback"},
		{"off on localhost", "localhost:8080", "", "", "ok", "loopback"},
		{"off beyond the machine", "0.0.0.0:8080", "", "", "FAIL", "in clear"},
		{"valid", "0.0.0.0:8443", good, goodKey, "ok", "portal.test"},
		{"expired", "0.0.0.0:8443", old, oldKey, "FAIL", "expired"},
		{"expiring", "0.0.0.0:8443", soon, soonKey, "warn", "expires on"},
		{"key readable by all", "0.0.0.0:8443", open, openKey, "FAIL", "every local user"},
		{"key of another certificate", "0.0.0.0:8443", good, oldKey, "FAIL", "private key does not match"},
		{"missing files", "0.0.0.0:8443", "/nonexistent/c.pem", "/nonexistent/k.pem", "FAIL", "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults()
			cfg.Listen, cfg.TLS.Cert, cfg.TLS.Key = tc.listen, tc.cert, tc.key
			f := checkTLS(cfg, now)
			if f.level != tc.level || !strings.Contains(f.detail, tc.detail) {
				t.Errorf("%+v", f)
			}
		})
	}
}

func TestDoctorHelperSocket(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	_ = os.WriteFile(plain, nil, 0o600)
	sock := filepath.Join(dir, "helper.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if err := os.Chmod(sock, 0o660); err != nil {
		t.Fatal(err)
	}
	wide := filepath.Join(dir, "wide.sock")
	wl, err := net.Listen("unix", wide)
	if err != nil {
		t.Fatal(err)
	}
	defer wl.Close()
	_ = os.Chmod(wide, 0o666)
	root := os.Geteuid() == 0
	for _, tc := range []struct {
		name, path, level, detail string
	}{
		{"missing", filepath.Join(dir, "absent.sock"), "FAIL", "not running"},
		{"not a socket", plain, "FAIL", "not a socket"},
		{"open to everyone", wide, "FAIL", "any local user"},
		// The test's own listener stands for the helper: root's when the
		// suite runs as root (as CI does), someone else's otherwise.
		{"listening", sock, map[bool]string{true: "ok", false: "FAIL"}[root], map[bool]string{true: "accepts this user", false: "not root"}[root]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := checkHelper(tc.path)
			if f.level != tc.level || !strings.Contains(f.detail, tc.detail) {
				t.Errorf("%+v", f)
			}
		})
	}
}

// TestDoctorCommand runs the whole command on the test driver: a healthy
// folder passes; an open one fails with the fix printed.
func TestDoctorCommand(t *testing.T) {
	dir := t.TempDir()
	_ = os.Chmod(dir, 0o700)
	var out, errb bytes.Buffer
	args := []string{"--libvirt-uri", "test:///default", "--data-dir", dir, "--allow-root", "--osinfo-path", t.TempDir()}
	if err := doctor(context.Background(), args, &out, &errb, func(string) string { return "" }); err != nil {
		t.Fatalf("%v\n%s%s", err, out.String(), errb.String())
	}
	for _, want := range []string{"ok    data folder", "ok    libvirt test:///default: reachable", "warn  osinfo database", "No problems found."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
	_ = os.Chmod(dir, 0o755)
	out.Reset()
	err := doctor(context.Background(), args, &out, &errb, func(string) string { return "" })
	if err == nil || !strings.Contains(out.String(), "FAIL  data folder") || !strings.Contains(out.String(), "fix: chmod 0700 "+dir) {
		t.Fatalf("%v\n%s", err, out.String())
	}
}
