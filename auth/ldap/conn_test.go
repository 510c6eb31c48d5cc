package ldap

import (
	"context"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/auth/ldaptest"
)

// hangListener accepts TCP connections and never answers: a directory that
// is up for the kernel and dead for LDAP.
func hangListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "ldap://" + ln.Addr().String()
}

// deadURL is a loopback port nobody listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "ldap://" + addr
}

// drainPool closes the pooled connections, so the next call dials.
func drainPool(l *Realm) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lc := range l.idle {
		lc.close()
	}
	l.idle = nil
}

func TestLDAPDirectoryDown(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{})
	r := newRealm(t, s, nil)
	login(t, r.Realm, "alice") // the pool holds a connection now
	s.Stop()
	t0 := time.Now()
	_, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
	wantReason(t, err, auth.ReasonUnavailable)
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("a refused connection took %v", d)
	}
	_, err = r.SearchUsers(context.Background(), "a", 10)
	wantReason(t, err, auth.ReasonUnavailable)
	_, err = r.LookupUser(context.Background(), "alice")
	wantReason(t, err, auth.ReasonUnavailable)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	login(t, r.Realm, "alice")
}

func TestLDAPSlowDirectory(t *testing.T) {
	// slack is what a loaded CI machine may add to a timeout under -race;
	// what matters is that the wait ends near opT, not after a default.
	const connectT, opT, slack = 300 * time.Millisecond, 500 * time.Millisecond, time.Second
	t.Run("accepts and never answers", func(t *testing.T) {
		s := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s, func(c *Config) {
			c.URLs = []string{hangListener(t)}
			c.ConnectTimeout, c.OpTimeout = connectT, opT
		})
		t0 := time.Now()
		_, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
		wantReason(t, err, auth.ReasonUnavailable)
		if d := time.Since(t0); d > opT+slack {
			t.Fatalf("took %v, want within the op timeout %v", d, opT)
		}
	})
	t.Run("StartTLS to a server that never answers", func(t *testing.T) {
		s := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s, func(c *Config) {
			c.URLs = []string{hangListener(t)}
			c.StartTLS = true
			c.ConnectTimeout, c.OpTimeout = connectT, opT
		})
		t0 := time.Now()
		_, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
		wantReason(t, err, auth.ReasonUnavailable)
		if d := time.Since(t0); d > opT+slack {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("the caller's context ends first", func(t *testing.T) {
		s := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s, func(c *Config) {
			c.URLs = []string{hangListener(t)}
			c.ConnectTimeout, c.OpTimeout = 30*time.Second, 30*time.Second
		})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		_, err := r.Authenticate(ctx, "alice", ldaptest.Password("alice"))
		wantReason(t, err, auth.ReasonUnavailable)
		if d := time.Since(t0); d > 200*time.Millisecond+slack {
			t.Fatalf("took %v after a 200ms context", d)
		}
	})
	t.Run("hangs on a pooled connection", func(t *testing.T) {
		// slapd stopped with SIGSTOP: pooled connections stay open, new
		// ones are accepted by the kernel, nothing answers.
		s := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s, func(c *Config) { c.ConnectTimeout, c.OpTimeout = connectT, opT })
		login(t, r.Realm, "alice")
		s.Freeze()
		t0 := time.Now()
		_, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
		wantReason(t, err, auth.ReasonUnavailable)
		if d := time.Since(t0); d > opT+slack {
			t.Fatalf("took %v, want within the op timeout %v", d, opT)
		}
		_, err = r.SearchGroups(context.Background(), "", 10)
		wantReason(t, err, auth.ReasonUnavailable)
		s.Thaw()
		login(t, r.Realm, "alice")
	})
}

func TestLDAPFailover(t *testing.T) {
	s2 := ldaptest.Start(t, ldaptest.Options{})
	for _, first := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"dead", deadURL},
		{"hanging", hangListener},
	} {
		t.Run(first.name, func(t *testing.T) {
			r := newRealm(t, s2, func(c *Config) {
				c.URLs = []string{first.url(t), s2.URL}
				// A connect timeout well above any scheduling delay, so that
				// a login that waits on the first server again is unmistakable.
				c.ConnectTimeout, c.OpTimeout = 3*time.Second, 3*time.Second
			})
			if p := login(t, r.Realm, "dave"); !slices.Equal(p.Groups, []string{"netops", "ops"}) {
				t.Fatalf("groups %v", p.Groups)
			}
			// The second server is remembered: no more waiting on the first.
			drainPool(r.Realm)
			t0 := time.Now()
			login(t, r.Realm, "alice")
			if d := time.Since(t0); d > time.Second {
				t.Fatalf("second login took %v: the good server was not remembered", d)
			}
		})
	}
	t.Run("primary stops", func(t *testing.T) {
		s1 := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s1, func(c *Config) { c.URLs = []string{s1.URL, s2.URL} })
		login(t, r.Realm, "alice")
		s1.Stop()
		login(t, r.Realm, "bob")
		if !strings.Contains(r.logs.String(), "now using another server") {
			t.Fatalf("failover not logged:\n%s", r.logs)
		}
	})
}

func TestLDAPTLS(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{TLS: true})
	wrongCA := filepath.Join(t.TempDir(), "wrong-ca.crt")
	if err := ldaptest.WriteUnrelatedCA(wrongCA); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		url       string
		startTLS  bool
		ca        string
		insecure  bool
		wantError bool
	}{
		{"StartTLS", s.URL, true, s.CAFile, false, false},
		{"LDAPS", s.LDAPSURL, false, s.CAFile, false, false},
		{"StartTLS wrong CA", s.URL, true, wrongCA, false, true},
		{"LDAPS wrong CA", s.LDAPSURL, false, wrongCA, false, true},
		{"LDAPS system roots", s.LDAPSURL, false, "", false, true},
		{"LDAPS insecure", s.LDAPSURL, false, wrongCA, true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRealm(t, s, func(c *Config) {
				c.URLs, c.StartTLS, c.CAFile, c.InsecureSkipVerify = []string{tc.url}, tc.startTLS, tc.ca, tc.insecure
			})
			p, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
			if tc.wantError {
				wantReason(t, err, auth.ReasonUnavailable)
				if !strings.Contains(err.Error(), "certificate") {
					t.Fatalf("want a certificate error, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p.Groups, []string{"developers", "ops"}) {
				t.Fatalf("groups %v", p.Groups)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.idle) == 0 {
				t.Fatal("no pooled connection")
			}
			if st, ok := r.idle[0].c.TLSConnectionState(); !ok || !st.HandshakeComplete || st.Version < 0x0303 {
				t.Fatalf("pooled connection is not TLS ≥ 1.2: %+v", st)
			}
			if tc.insecure && !strings.Contains(r.logs.String(), "VERIFICATION IS OFF") {
				t.Fatal("insecure mode not logged")
			}
		})
	}
}

func TestLDAPPoolSurvivesRestart(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{})
	r := newRealm(t, s, nil)
	login(t, r.Realm, "alice")
	for i := 0; i < 2; i++ {
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		login(t, r.Realm, "dave")
		if _, err := r.SearchUsers(context.Background(), "", 5); err != nil {
			t.Fatal(err)
		}
	}
}
