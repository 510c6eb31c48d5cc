package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth/ldaptest"
	"github.com/virtportal/virtportal/internal/syncbuf"
	"github.com/virtportal/virtportal/rbac"
)

var flavors = []string{ldaptest.FlavorOpenLDAP, ldaptest.FlavorAD}

type realmT struct {
	*LDAP
	logs *syncbuf.Buffer
}

// newRealm returns a realm on s (first URL s.URL unless cfg.URLs is set by mod).
func newRealm(t *testing.T, s *ldaptest.Server, mod func(*LDAPConfig)) realmT {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "bindpw")
	// A trailing newline, as editors leave one: it must be trimmed.
	if err := os.WriteFile(pw, []byte(s.BindPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := LDAPConfig{
		URLs: []string{s.URL}, BindDN: s.BindDN, BindPasswordFile: pw,
		BaseDN: s.BaseDN, GroupBaseDN: ldaptest.GroupsDN, Flavor: s.Flavor,
		ConnectTimeout: 2 * time.Second, OpTimeout: 3 * time.Second,
		Roles: RoleMap{
			AdminGroups:   []string{"admins"},                     // by cn
			AuditorGroups: []string{ldaptest.GroupDN("auditors")}, // by DN
			AuditorUsers:  []string{"first_last"},                 // by user
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	logs := &syncbuf.Buffer{}
	l, err := NewLDAP(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Close()
		if t.Failed() {
			t.Logf("realm log:\n%s", logs.String())
		}
	})
	return realmT{l, logs}
}

func login(t *testing.T, l *LDAP, user string) rbac.Principal {
	t.Helper()
	p, err := l.Authenticate(context.Background(), user, ldaptest.Password(user))
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return p
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := LoginReason(err); got != reason {
		t.Fatalf("want %s, got %q (%v)", reason, got, err)
	}
}

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
func drainPool(l *LDAP) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, lc := range l.idle {
		lc.close()
	}
	l.idle = nil
}

func TestLDAPLogin(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			r := newRealm(t, s, nil)
			ok := []struct {
				login, name string
				groups      []string
				role        string
			}{
				{"alice", "alice", []string{"developers", "ops"}, "user"}, // posix (or member) + groupOfNames
				{"ALICE", "alice", []string{"developers", "ops"}, "user"}, // the directory's spelling wins
				{"bob", "bob", []string{"admins"}, "admin"},               // role by group cn
				{"carol", "carol", []string{"auditors"}, "auditor"},       // role by group DN
				{"dave", "dave", []string{"netops", "ops"}, "user"},       // ops only through netops
				{"j.doe-2", "j.doe-2", []string{"developers"}, "user"},
				{"first_last", "first_last", []string{}, "auditor"}, // role by user
			}
			if flavor == ldaptest.FlavorAD {
				ok = append(ok, struct {
					login, name string
					groups      []string
					role        string
				}{"alice@example.org", "alice", []string{"developers", "ops"}, "user"}) // UPN
			}
			for _, tc := range ok {
				t.Run("ok/"+tc.login, func(t *testing.T) {
					p, err := r.Authenticate(context.Background(), tc.login, ldaptest.Password(tc.name))
					if err != nil {
						t.Fatal(err)
					}
					if p.Realm != "ldap" || p.Name != tc.name || !slices.Equal(p.Groups, tc.groups) || !slices.Equal(p.Roles, []string{tc.role}) {
						t.Fatalf("got %+v, want name %s groups %v role %s", p, tc.name, tc.groups, tc.role)
					}
				})
			}
			bad := []struct {
				name, user, password, reason string
			}{
				{"wrong password", "alice", "not-her-password", ReasonBadPassword},
				{"another user's password", "alice", ldaptest.Password("bob"), ReasonBadPassword},
				{"unknown user", "nobody", "whatever-1", ReasonUnknownUser},
				{"disabled", "mallory", ldaptest.Password("mallory"), ReasonDisabled},
				{"disabled, wrong password", "mallory", "nope", ReasonDisabled},
				{"empty password", "alice", "", ReasonInvalid},
				{"password too long", "alice", strings.Repeat("x", MaxPasswordLen+1), ReasonInvalid},
				{"leading space", " alice", ldaptest.Password("alice"), ReasonInvalid},
			}
			for _, tc := range bad {
				t.Run("refused/"+tc.name, func(t *testing.T) {
					mark := len(s.Log())
					_, err := r.Authenticate(context.Background(), tc.user, tc.password)
					wantReason(t, err, tc.reason)
					if tc.reason == ReasonInvalid || tc.reason == ReasonDisabled {
						// Refused before any bind as the user: an empty
						// password would be an unauthenticated bind that succeeds.
						if strings.Contains(s.Log()[mark:], `BIND dn="`+s.UserDN(strings.TrimSpace(tc.user))) {
							t.Fatalf("a bind as %s was sent:\n%s", tc.user, s.Log()[mark:])
						}
					}
				})
			}
			t.Run("no password in the logs", func(t *testing.T) {
				for _, u := range ldaptest.Users {
					if strings.Contains(r.logs.String(), ldaptest.Password(u)) {
						t.Fatalf("the log holds %s's password", u)
					}
				}
				if !strings.Contains(r.logs.String(), "reason=bad_password") || !strings.Contains(r.logs.String(), "reason=disabled") {
					t.Fatalf("one line per result class expected:\n%s", r.logs)
				}
			})
		})
	}
}

// TestLDAPHostileNames logs in with names that would broaden a filter built
// by concatenation: each is refused, and slapd's own log shows that every
// search it ran had the name escaped (no wildcard reached it).
func TestLDAPHostileNames(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			r := newRealm(t, s, nil)
			cases := []struct {
				name, user, reason string
				searched           bool // reaches the directory, escaped
			}{
				{"star", "*", ReasonUnknownUser, true},
				{"close-open", ")(uid=*", ReasonUnknownUser, true},
				{"backslash", `\`, ReasonUnknownUser, true},
				{"admin star", "admin*", ReasonUnknownUser, true},
				{"alice star", "al*", ReasonUnknownUser, true},
				{"or injection", "a)(|(uid=*)", ReasonUnknownUser, true},
				{"sam injection", "*)(sAMAccountName=*", ReasonUnknownUser, true},
				{"escaped star", `\2a`, ReasonUnknownUser, true},
				{"NUL", "alice\x00", ReasonInvalid, false},
				{"NUL star", "\x00*", ReasonInvalid, false},
				{"10 kB", strings.Repeat("a", 10<<10), ReasonInvalid, false},
				{"non-UTF-8", "alice\xff\xfe", ReasonInvalid, false},
				{"newline", "alice\n", ReasonInvalid, false},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					mark := len(s.Log())
					// Whatever the password, nobody gets in.
					for _, u := range ldaptest.Users {
						p, err := r.Authenticate(context.Background(), tc.user, ldaptest.Password(u))
						if err == nil {
							t.Fatalf("%q logged in as %+v with %s's password", tc.user, p, u)
						}
						wantReason(t, err, tc.reason)
					}
					var filters []string
					for _, line := range strings.Split(s.Log()[mark:], "\n") {
						if i := strings.Index(line, ` filter="`); i >= 0 {
							filters = append(filters, line[i+len(` filter="`):])
						}
					}
					if !tc.searched {
						if len(filters) > 0 {
							t.Fatalf("%q reached the directory: %v", tc.user, filters)
						}
						return
					}
					if len(filters) != len(ldaptest.Users) {
						t.Fatalf("want one search per attempt, got %v", filters)
					}
					for _, f := range filters {
						if strings.Contains(f, "*") || !strings.Contains(strings.ToLower(f), strings.ToLower(ldap.EscapeFilter(tc.user))) {
							t.Fatalf("broadened or unescaped search for %q: %s", tc.user, f)
						}
					}
				})
			}
		})
	}
}

func TestLDAPDirectoryDown(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{})
	r := newRealm(t, s, nil)
	login(t, r.LDAP, "alice") // the pool holds a connection now
	s.Stop()
	t0 := time.Now()
	_, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
	wantReason(t, err, ReasonUnavailable)
	if d := time.Since(t0); d > time.Second {
		t.Fatalf("a refused connection took %v", d)
	}
	_, err = r.SearchUsers(context.Background(), "a", 10)
	wantReason(t, err, ReasonUnavailable)
	_, err = r.LookupUser(context.Background(), "alice")
	wantReason(t, err, ReasonUnavailable)
	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	login(t, r.LDAP, "alice")
}

func TestLDAPSlowDirectory(t *testing.T) {
	// slack is what a loaded CI machine may add to a timeout under -race;
	// what matters is that the wait ends near opT, not after a default.
	const connectT, opT, slack = 300 * time.Millisecond, 500 * time.Millisecond, time.Second
	t.Run("accepts and never answers", func(t *testing.T) {
		s := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s, func(c *LDAPConfig) {
			c.URLs = []string{hangListener(t)}
			c.ConnectTimeout, c.OpTimeout = connectT, opT
		})
		t0 := time.Now()
		_, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
		wantReason(t, err, ReasonUnavailable)
		if d := time.Since(t0); d > opT+slack {
			t.Fatalf("took %v, want within the op timeout %v", d, opT)
		}
	})
	t.Run("StartTLS to a server that never answers", func(t *testing.T) {
		s := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s, func(c *LDAPConfig) {
			c.URLs = []string{hangListener(t)}
			c.StartTLS = true
			c.ConnectTimeout, c.OpTimeout = connectT, opT
		})
		t0 := time.Now()
		_, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
		wantReason(t, err, ReasonUnavailable)
		if d := time.Since(t0); d > opT+slack {
			t.Fatalf("took %v", d)
		}
	})
	t.Run("the caller's context ends first", func(t *testing.T) {
		s := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s, func(c *LDAPConfig) {
			c.URLs = []string{hangListener(t)}
			c.ConnectTimeout, c.OpTimeout = 30*time.Second, 30*time.Second
		})
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		_, err := r.Authenticate(ctx, "alice", ldaptest.Password("alice"))
		wantReason(t, err, ReasonUnavailable)
		if d := time.Since(t0); d > 200*time.Millisecond+slack {
			t.Fatalf("took %v after a 200ms context", d)
		}
	})
	t.Run("hangs on a pooled connection", func(t *testing.T) {
		// slapd stopped with SIGSTOP: pooled connections stay open, new
		// ones are accepted by the kernel, nothing answers.
		s := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s, func(c *LDAPConfig) { c.ConnectTimeout, c.OpTimeout = connectT, opT })
		login(t, r.LDAP, "alice")
		s.Freeze()
		t0 := time.Now()
		_, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
		wantReason(t, err, ReasonUnavailable)
		if d := time.Since(t0); d > opT+slack {
			t.Fatalf("took %v, want within the op timeout %v", d, opT)
		}
		_, err = r.SearchGroups(context.Background(), "", 10)
		wantReason(t, err, ReasonUnavailable)
		s.Thaw()
		login(t, r.LDAP, "alice")
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
			r := newRealm(t, s2, func(c *LDAPConfig) {
				c.URLs = []string{first.url(t), s2.URL}
				// A connect timeout well above any scheduling delay, so that
				// a login that waits on the first server again is unmistakable.
				c.ConnectTimeout, c.OpTimeout = 3*time.Second, 3*time.Second
			})
			if p := login(t, r.LDAP, "dave"); !slices.Equal(p.Groups, []string{"netops", "ops"}) {
				t.Fatalf("groups %v", p.Groups)
			}
			// The second server is remembered: no more waiting on the first.
			drainPool(r.LDAP)
			t0 := time.Now()
			login(t, r.LDAP, "alice")
			if d := time.Since(t0); d > time.Second {
				t.Fatalf("second login took %v: the good server was not remembered", d)
			}
		})
	}
	t.Run("primary stops", func(t *testing.T) {
		s1 := ldaptest.Start(t, ldaptest.Options{})
		r := newRealm(t, s1, func(c *LDAPConfig) { c.URLs = []string{s1.URL, s2.URL} })
		login(t, r.LDAP, "alice")
		s1.Stop()
		login(t, r.LDAP, "bob")
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
			r := newRealm(t, s, func(c *LDAPConfig) {
				c.URLs, c.StartTLS, c.CAFile, c.InsecureSkipVerify = []string{tc.url}, tc.startTLS, tc.ca, tc.insecure
			})
			p, err := r.Authenticate(context.Background(), "alice", ldaptest.Password("alice"))
			if tc.wantError {
				wantReason(t, err, ReasonUnavailable)
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
	login(t, r.LDAP, "alice")
	for i := 0; i < 2; i++ {
		if err := s.Restart(); err != nil {
			t.Fatal(err)
		}
		login(t, r.LDAP, "dave")
		if _, err := r.SearchUsers(context.Background(), "", 5); err != nil {
			t.Fatal(err)
		}
	}
}

func TestLDAPConcurrentLogins(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			r := newRealm(t, s, nil)
			users := []string{"alice", "bob", "carol", "dave", "j.doe-2"}
			want := map[string][]string{}
			for _, u := range users {
				want[u] = login(t, r.LDAP, u).Groups
			}
			var wg sync.WaitGroup
			errs := make(chan error, 50)
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func(u string) {
					defer wg.Done()
					p, err := r.Authenticate(context.Background(), u, ldaptest.Password(u))
					if err == nil && (p.Name != u || !slices.Equal(p.Groups, want[u])) {
						err = fmt.Errorf("%s got %+v", u, p)
					}
					if err != nil {
						errs <- err
					}
				}(users[i%len(users)])
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			r.mu.Lock()
			defer r.mu.Unlock()
			if len(r.idle) > r.cfg.PoolSize {
				t.Fatalf("%d idle connections kept, pool size %d", len(r.idle), r.cfg.PoolSize)
			}
		})
	}
}

func TestLDAPSearch(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			var seed strings.Builder
			for i := 0; i < 260; i++ {
				seed.WriteString(ldaptest.UserLDIF(flavor, fmt.Sprintf("user%03d", i), 20000+i, false) + "\n")
			}
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor, Seed: seed.String()})
			// A name with a star in it, for "* is a literal".
			star := ldaptest.UserLDIF(flavor, "stargazer", 30000, false)
			star = strings.ReplaceAll(star, "displayName: Stargazer Example", "displayName: Star * Gazer")
			if err := s.AddLDIF(star); err != nil {
				t.Fatal(err)
			}
			r := newRealm(t, s, nil)
			big := newRealm(t, s, func(c *LDAPConfig) { c.SearchLimit = 1000 })
			ctx := context.Background()
			names := func(l []string) func(t *testing.T, got []string) {
				return func(t *testing.T, got []string) {
					t.Helper()
					if !slices.Equal(got, l) {
						t.Fatalf("got %v want %v", got, l)
					}
				}
			}
			cases := []struct {
				name      string
				realm     realmT
				groups    bool
				q         string
				limit     int
				count     int
				truncated bool
				check     func(t *testing.T, got []string)
			}{
				// slapd answers at most 100 entries to an unpaged search:
				// anything above needs RFC 2696 paging.
				{"all 260 over pages", big, false, "user", 1000, 260, false, nil},
				{"capped by search_limit", r, false, "user", 0, 200, true, nil},
				{"capped by limit", r, false, "user", 250, 200, true, nil},
				{"limit", big, false, "user", 50, 50, true, nil},
				{"empty q lists the first", r, false, "", 10, 10, true, nil},
				{"star is literal", r, false, "*", 0, 1, false, names([]string{"stargazer"})},
				{"case-insensitive", r, false, "ALIC", 0, 1, false, names([]string{"alice"})},
				{"by display name", r, false, "Gazer", 0, 1, false, names([]string{"stargazer"})},
				{"no match", r, false, "zzz", 0, 0, false, nil},
				{"parenthesis is literal", r, false, ")(uid=*", 0, 0, false, nil},
				{"NUL", r, false, "a\x00", 0, 0, false, nil},
				{"groups", r, true, "ops", 0, 2, false, names([]string{"netops", "ops"})},
				{"all groups", r, true, "", 0, 5, false, names([]string{"admins", "auditors", "developers", "netops", "ops"})},
				{"group star", r, true, "*", 0, 0, false, nil},
				{"group limit", r, true, "", 3, 3, true, nil},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					search := tc.realm.SearchUsers
					if tc.groups {
						search = tc.realm.SearchGroups
					}
					res, err := search(ctx, tc.q, tc.limit)
					if err != nil {
						t.Fatal(err)
					}
					if len(res.Items) != tc.count || res.Truncated != tc.truncated {
						t.Fatalf("got %d items truncated=%v, want %d truncated=%v", len(res.Items), res.Truncated, tc.count, tc.truncated)
					}
					var got []string
					for _, it := range res.Items {
						if it.Realm != "ldap" || it.DN == "" || it.Kind != map[bool]string{false: "user", true: "group"}[tc.groups] {
							t.Fatalf("bad entry %+v", it)
						}
						got = append(got, it.Name)
					}
					if tc.check != nil {
						tc.check(t, got)
					}
				})
			}
			t.Run("entry", func(t *testing.T) {
				res, err := r.SearchUsers(ctx, "alice", 0)
				if err != nil || len(res.Items) != 1 {
					t.Fatal(res, err)
				}
				if it := res.Items[0]; it.Name != "alice" || it.Display != "Alice Example" || it.DN != s.UserDN("alice") {
					t.Fatalf("%+v", it)
				}
			})
		})
	}
}

func TestLDAPLookup(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			r := newRealm(t, s, nil)
			ctx := context.Background()
			for _, tc := range []struct {
				name  string
				group bool
				want  bool
			}{
				{"alice", false, true}, {"ALICE", false, true}, {"nobody", false, false},
				{"*", false, false}, {"al*", false, false}, {"", false, false}, {"alice\x00", false, false},
				{"ops", true, true}, {"netops", true, true}, {"op*", true, false}, {"*", true, false},
				{"alice", true, false}, {"ops", false, false},
			} {
				look := r.LookupUser
				if tc.group {
					look = r.LookupGroup
				}
				got, err := look(ctx, tc.name)
				if err != nil || got != tc.want {
					t.Errorf("lookup(group=%v) %q = %v, %v; want %v", tc.group, tc.name, got, err, tc.want)
				}
			}
			// Two entries answering one name: neither exists for grants.
			if err := s.AddLDIF(strings.ReplaceAll(ldaptest.UserLDIF(flavor, "twin", 40001, false), "ou=people", "ou=system")); err != nil {
				t.Fatal(err)
			}
			if err := s.AddLDIF(ldaptest.UserLDIF(flavor, "twin", 40002, false)); err != nil {
				t.Fatal(err)
			}
			if ok, err := r.LookupUser(ctx, "twin"); ok || err == nil {
				t.Fatalf("ambiguous name: %v %v", ok, err)
			}
			// For a grant that is a verdict on the name (422), not a 503.
			realms, err := NewRealms(r.LDAP)
			if err != nil {
				t.Fatal(err)
			}
			twin := api.Grant{Kind: "user", Realm: r.LDAP.Name(), Name: "twin", Role: "viewer"}
			if fe, err := realms.CheckGrants(ctx, []api.Grant{twin}, nil); err != nil || len(fe) != 1 || !strings.Contains(fe[0].Message, "several entries") {
				t.Fatalf("grant to an ambiguous name: %v %v", fe, err)
			}
			_, err = r.Authenticate(ctx, "twin", ldaptest.Password("twin"))
			wantReason(t, err, ReasonUnknownUser)
		})
	}
}

func TestLDAPInChainFallback(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{Flavor: ldaptest.FlavorAD})
	r := newRealm(t, s, nil)
	for i := 0; i < 3; i++ {
		for _, u := range []string{"alice", "dave", "first_last"} {
			login(t, r.LDAP, u)
		}
	}
	if r.inChain.Load() != inChainUnsupported {
		t.Fatalf("slapd answers the in-chain rule with nothing; state %d", r.inChain.Load())
	}
	if n := strings.Count(r.logs.String(), "does not evaluate the in-chain rule"); n != 1 {
		t.Fatalf("fallback logged %d times:\n%s", n, r.logs)
	}
	// slapd received the rule once (and took it for Undefined), then only
	// the level-by-level walk.
	if n := strings.Count(s.Log(), `filter="(&(objectClass=group)(?=undefined))"`); n != 1 {
		t.Fatalf("slapd saw %d in-chain searches, want 1", n)
	}
}

// TestLDAPNestedCache: direct memberships are read at every login; what
// nesting adds is remembered for nested_group_ttl.
func TestLDAPNestedCache(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			const ttl = 300 * time.Millisecond
			cached := newRealm(t, s, func(c *LDAPConfig) { c.NestedGroupTTL = ttl })
			uncached := newRealm(t, s, func(c *LDAPConfig) { c.NestedGroupTTL = -1 })
			groups := func(r realmT) []string { t.Helper(); return login(t, r.LDAP, "dave").Groups }
			if g := groups(cached); !slices.Equal(g, []string{"netops", "ops"}) {
				t.Fatal(g)
			}
			// netops leaves ops: dave is no longer in ops.
			if err := s.Modify(s.GroupDN("ops"), map[string][]string{"member": {s.UserDN("alice")}}); err != nil {
				t.Fatal(err)
			}
			t0 := time.Now()
			if g := groups(uncached); !slices.Equal(g, []string{"netops"}) {
				t.Fatalf("without the cache: %v", g)
			}
			if g := groups(cached); !slices.Equal(g, []string{"netops", "ops"}) && time.Since(t0) < ttl {
				t.Fatalf("cached nesting not used: %v", g)
			}
			time.Sleep(ttl + 50*time.Millisecond)
			if g := groups(cached); !slices.Equal(g, []string{"netops"}) {
				t.Fatalf("after the TTL: %v", g)
			}
			// A direct membership change shows at once, cache or not.
			if err := s.Modify(s.GroupDN("admins"), map[string][]string{"member": {s.UserDN("bob"), s.UserDN("dave")}}); err != nil {
				t.Fatal(err)
			}
			if p := login(t, cached.LDAP, "dave"); !slices.Equal(p.Groups, []string{"admins", "netops"}) || !slices.Equal(p.Roles, []string{"admin"}) {
				t.Fatalf("direct change: %+v", p)
			}
		})
	}
}

// TestLDAPTimedLock: a ppolicy lock after failed attempts (any time but the
// "forever" value) is left to the bind, and its refusal counts as disabled.
func TestLDAPTimedLock(t *testing.T) {
	s := ldaptest.Start(t, ldaptest.Options{})
	r := newRealm(t, s, nil)
	dn := s.UserDN("j.doe-2")
	if err := s.Modify(dn, map[string][]string{"pwdAccountLockedTime": {time.Now().UTC().Format("20060102150405Z")}}); err != nil {
		t.Fatal(err)
	}
	mark := len(s.Log())
	_, err := r.Authenticate(context.Background(), "j.doe-2", ldaptest.Password("j.doe-2"))
	wantReason(t, err, ReasonDisabled)
	if !strings.Contains(s.Log()[mark:], `BIND dn="`+dn) {
		t.Fatal("a timed lock must be left to the directory's bind")
	}
	if err := s.Modify(dn, map[string][]string{"pwdAccountLockedTime": nil}); err != nil {
		t.Fatal(err)
	}
	login(t, r.LDAP, "j.doe-2")
}

func TestLDAPBindFailure(t *testing.T) {
	ad := func(data string) error {
		return &ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials,
			Err: errors.New("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data " + data + ", v4563")}
	}
	for _, tc := range []struct {
		err    error
		locked bool
		want   string
	}{
		{ad("52e"), false, ReasonBadPassword},
		{ad("533"), false, ReasonDisabled},
		{ad("775"), false, ReasonDisabled},
		{ad("701"), false, ReasonDisabled},
		{&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("")}, true, ReasonDisabled},
		{&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("")}, false, ReasonBadPassword},
		{&ldap.Error{ResultCode: ldap.LDAPResultUnavailable, Err: errors.New("")}, false, ReasonUnavailable},
		{&ldap.Error{ResultCode: ldap.ErrorNetwork, Err: errors.New("")}, false, ReasonUnavailable},
		{errors.New("read tcp: i/o timeout"), false, ReasonUnavailable},
	} {
		if got := LoginReason(bindFailure(tc.err, tc.locked)); got != tc.want {
			t.Errorf("%v locked=%v: %s, want %s", tc.err, tc.locked, got, tc.want)
		}
	}
}

func TestNewLDAPConfig(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw")
	empty := filepath.Join(dir, "empty")
	os.WriteFile(pw, []byte("secret\n"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	good := LDAPConfig{URLs: []string{"ldap://127.0.0.1:1"}, BaseDN: "dc=example,dc=org", BindDN: "cn=r,dc=example,dc=org", BindPasswordFile: pw}
	for _, tc := range []struct {
		name string
		mod  func(*LDAPConfig)
		want string // error substring, "" for success
	}{
		{"good", func(*LDAPConfig) {}, ""},
		{"no urls", func(c *LDAPConfig) { c.URLs = nil }, "urls"},
		{"http url", func(c *LDAPConfig) { c.URLs = []string{"http://x"} }, "url"},
		{"no base", func(c *LDAPConfig) { c.BaseDN = "" }, "base_dn"},
		{"bad base", func(c *LDAPConfig) { c.BaseDN = "not a dn" }, "base_dn"},
		{"filter without username", func(c *LDAPConfig) { c.UserFilter = "(uid=%s)" }, "{username}"},
		{"broken filter", func(c *LDAPConfig) { c.UserFilter = "(uid={username}" }, "user_filter"},
		{"bind dn without password", func(c *LDAPConfig) { c.BindPasswordFile = "" }, "bind_password_file"},
		{"missing password file", func(c *LDAPConfig) { c.BindPasswordFile = filepath.Join(dir, "none") }, "bind_password_file"},
		{"empty password file", func(c *LDAPConfig) { c.BindPasswordFile = empty }, "empty"},
		{"bad flavor", func(c *LDAPConfig) { c.Flavor = "novell" }, "flavor"},
		{"bad name", func(c *LDAPConfig) { c.Name = "LDAP:x" }, "name"},
		{"bad attribute", func(c *LDAPConfig) { c.UsernameAttr = "uid=*)(x" }, "attribute"},
		{"missing CA", func(c *LDAPConfig) { c.CAFile = filepath.Join(dir, "none") }, "ca_file"},
		{"CA not PEM", func(c *LDAPConfig) { c.CAFile = pw }, "ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			l, err := NewLDAP(c, slog.New(slog.DiscardHandler))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if l.Name() != "ldap" || l.Label() != "LDAP" || l.cfg.OpTimeout != 10*time.Second || l.cfg.ConnectTimeout != 5*time.Second || l.cfg.PoolSize != 4 || l.cfg.SearchLimit != 200 {
					t.Fatalf("defaults: %+v", l.cfg)
				}
				if p, _ := l.bindPassword(); p != "secret" {
					t.Fatalf("password %q: trailing newline not trimmed", p)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want error with %q, got %v", tc.want, err)
			}
		})
	}
}

// TestLDAPRealmInterfaces pins the realm to the interfaces the server uses.
func TestLDAPRealmInterfaces(t *testing.T) {
	var _ Realm = (*LDAP)(nil)
	var _ Directory = (*LDAP)(nil)
}

// TestLDAPRefresh: a session's groups are re-read with the service account;
// membership changes show, and a disabled or vanished user is refused.
func TestLDAPRefresh(t *testing.T) {
	for _, flavor := range []string{LDAPFlavorOpenLDAP, LDAPFlavorAD} {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			r := newRealm(t, s, nil)
			ctx := context.Background()
			p, err := r.Refresh(ctx, "dave")
			if err != nil || !slices.Contains(p.Groups, "ops") || !slices.Contains(p.Groups, "netops") {
				t.Fatalf("dave: %+v %v", p, err)
			}
			if !slices.Equal(p.Roles, []string{"user"}) {
				t.Fatalf("dave's roles %v", p.Roles)
			}
			// dave joins admins: the next refresh makes him an admin.
			if err := s.Modify(s.GroupDN("admins"), map[string][]string{"member": {s.UserDN("bob"), s.UserDN("dave")}}); err != nil {
				t.Fatal(err)
			}
			if p, err = r.Refresh(ctx, "dave"); err != nil || !slices.Equal(p.Roles, []string{"admin"}) {
				t.Fatalf("after joining admins: %+v %v", p, err)
			}
			if _, err := r.Refresh(ctx, "mallory"); LoginReason(err) != ReasonDisabled {
				t.Fatalf("disabled user: %v", err)
			}
			if _, err := r.Refresh(ctx, "nobody-here"); LoginReason(err) != ReasonUnknownUser {
				t.Fatalf("unknown user: %v", err)
			}
			// Escaped, so a literal name nobody has: never a search for everyone.
			if _, err := r.Refresh(ctx, "*"); LoginReason(err) != ReasonUnknownUser {
				t.Fatalf("wildcard: %v", err)
			}
			s.Stop()
			if _, err := r.Refresh(ctx, "dave"); LoginReason(err) != ReasonUnavailable {
				t.Fatalf("directory down: %v", err)
			}
		})
	}
}
