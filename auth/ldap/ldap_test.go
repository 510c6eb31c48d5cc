package ldap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/auth/ldaptest"
	"github.com/virtportal/virtportal/internal/syncbuf"
	"github.com/virtportal/virtportal/rbac"
)

var flavors = []string{ldaptest.FlavorOpenLDAP, ldaptest.FlavorAD}

type realmT struct {
	*Realm
	logs *syncbuf.Buffer
}

// newRealm returns a realm on s (first URL s.URL unless cfg.URLs is set by mod).
func newRealm(t *testing.T, s *ldaptest.Server, mod func(*Config)) realmT {
	t.Helper()
	pw := filepath.Join(t.TempDir(), "bindpw")
	// A trailing newline, as editors leave one: it must be trimmed.
	if err := os.WriteFile(pw, []byte(s.BindPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		URLs: []string{s.URL}, BindDN: s.BindDN, BindPasswordFile: pw,
		BaseDN: s.BaseDN, GroupBaseDN: ldaptest.GroupsDN, Flavor: s.Flavor,
		ConnectTimeout: 2 * time.Second, OpTimeout: 3 * time.Second,
		Roles: auth.RoleMap{
			AdminGroups:   []string{"admins"},                     // by cn
			AuditorGroups: []string{ldaptest.GroupDN("auditors")}, // by DN
			AuditorUsers:  []string{"first_last"},                 // by user
		},
	}
	if mod != nil {
		mod(&cfg)
	}
	logs := &syncbuf.Buffer{}
	l, err := New(cfg, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
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

func login(t *testing.T, l *Realm, user string) rbac.Principal {
	t.Helper()
	p, err := l.Authenticate(context.Background(), user, ldaptest.Password(user))
	if err != nil {
		t.Fatalf("login %s: %v", user, err)
	}
	return p
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	if got := auth.LoginReason(err); got != reason {
		t.Fatalf("want %s, got %q (%v)", reason, got, err)
	}
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
				{"wrong password", "alice", "not-her-password", auth.ReasonBadPassword},
				{"another user's password", "alice", ldaptest.Password("bob"), auth.ReasonBadPassword},
				{"unknown user", "nobody", "whatever-1", auth.ReasonUnknownUser},
				{"disabled", "mallory", ldaptest.Password("mallory"), auth.ReasonDisabled},
				{"disabled, wrong password", "mallory", "nope", auth.ReasonDisabled},
				{"empty password", "alice", "", auth.ReasonInvalid},
				{"password too long", "alice", strings.Repeat("x", auth.MaxPasswordLen+1), auth.ReasonInvalid},
				{"leading space", " alice", ldaptest.Password("alice"), auth.ReasonInvalid},
			}
			for _, tc := range bad {
				t.Run("refused/"+tc.name, func(t *testing.T) {
					mark := len(s.Log())
					_, err := r.Authenticate(context.Background(), tc.user, tc.password)
					wantReason(t, err, tc.reason)
					if tc.reason == auth.ReasonInvalid || tc.reason == auth.ReasonDisabled {
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
				{"star", "*", auth.ReasonUnknownUser, true},
				{"close-open", ")(uid=*", auth.ReasonUnknownUser, true},
				{"backslash", `\`, auth.ReasonUnknownUser, true},
				{"admin star", "admin*", auth.ReasonUnknownUser, true},
				{"alice star", "al*", auth.ReasonUnknownUser, true},
				{"or injection", "a)(|(uid=*)", auth.ReasonUnknownUser, true},
				{"sam injection", "*)(sAMAccountName=*", auth.ReasonUnknownUser, true},
				{"escaped star", `\2a`, auth.ReasonUnknownUser, true},
				{"NUL", "alice\x00", auth.ReasonInvalid, false},
				{"NUL star", "\x00*", auth.ReasonInvalid, false},
				{"10 kB", strings.Repeat("a", 10<<10), auth.ReasonInvalid, false},
				{"non-UTF-8", "alice\xff\xfe", auth.ReasonInvalid, false},
				{"newline", "alice\n", auth.ReasonInvalid, false},
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

func TestLDAPConcurrentLogins(t *testing.T) {
	for _, flavor := range flavors {
		t.Run(flavor, func(t *testing.T) {
			s := ldaptest.Start(t, ldaptest.Options{Flavor: flavor})
			r := newRealm(t, s, nil)
			users := []string{"alice", "bob", "carol", "dave", "j.doe-2"}
			want := map[string][]string{}
			for _, u := range users {
				want[u] = login(t, r.Realm, u).Groups
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
	wantReason(t, err, auth.ReasonDisabled)
	if !strings.Contains(s.Log()[mark:], `BIND dn="`+dn) {
		t.Fatal("a timed lock must be left to the directory's bind")
	}
	if err := s.Modify(dn, map[string][]string{"pwdAccountLockedTime": nil}); err != nil {
		t.Fatal(err)
	}
	login(t, r.Realm, "j.doe-2")
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
		{ad("52e"), false, auth.ReasonBadPassword},
		{ad("533"), false, auth.ReasonDisabled},
		{ad("775"), false, auth.ReasonDisabled},
		{ad("701"), false, auth.ReasonDisabled},
		{&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("")}, true, auth.ReasonDisabled},
		{&ldap.Error{ResultCode: ldap.LDAPResultInvalidCredentials, Err: errors.New("")}, false, auth.ReasonBadPassword},
		{&ldap.Error{ResultCode: ldap.LDAPResultUnavailable, Err: errors.New("")}, false, auth.ReasonUnavailable},
		{&ldap.Error{ResultCode: ldap.ErrorNetwork, Err: errors.New("")}, false, auth.ReasonUnavailable},
		{errors.New("read tcp: i/o timeout"), false, auth.ReasonUnavailable},
	} {
		if got := auth.LoginReason(bindFailure(tc.err, tc.locked)); got != tc.want {
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
	good := Config{URLs: []string{"ldap://127.0.0.1:1"}, BaseDN: "dc=example,dc=org", BindDN: "cn=r,dc=example,dc=org", BindPasswordFile: pw}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // error substring, "" for success
	}{
		{"good", func(*Config) {}, ""},
		{"no urls", func(c *Config) { c.URLs = nil }, "urls"},
		{"http url", func(c *Config) { c.URLs = []string{"http://x"} }, "url"},
		{"no base", func(c *Config) { c.BaseDN = "" }, "base_dn"},
		{"bad base", func(c *Config) { c.BaseDN = "not a dn" }, "base_dn"},
		{"filter without username", func(c *Config) { c.UserFilter = "(uid=%s)" }, "{username}"},
		{"broken filter", func(c *Config) { c.UserFilter = "(uid={username}" }, "user_filter"},
		{"bind dn without password", func(c *Config) { c.BindPasswordFile = "" }, "bind_password_file"},
		{"missing password file", func(c *Config) { c.BindPasswordFile = filepath.Join(dir, "none") }, "bind_password_file"},
		{"empty password file", func(c *Config) { c.BindPasswordFile = empty }, "empty"},
		{"bad flavor", func(c *Config) { c.Flavor = "novell" }, "flavor"},
		{"bad name", func(c *Config) { c.Name = "LDAP:x" }, "name"},
		{"bad attribute", func(c *Config) { c.UsernameAttr = "uid=*)(x" }, "attribute"},
		{"missing CA", func(c *Config) { c.CAFile = filepath.Join(dir, "none") }, "ca_file"},
		{"CA not PEM", func(c *Config) { c.CAFile = pw }, "ca_file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.mod(&c)
			l, err := New(c, slog.New(slog.DiscardHandler))
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
	var _ auth.Realm = (*Realm)(nil)
	var _ auth.Refresher = (*Realm)(nil)
	var _ auth.Directory = (*Realm)(nil)
	var _ auth.Lookup = (*Realm)(nil)
}

// TestLDAPRefresh: a session's groups are re-read with the service account;
// membership changes show, and a disabled or vanished user is refused.
func TestLDAPRefresh(t *testing.T) {
	for _, flavor := range []string{FlavorOpenLDAP, FlavorAD} {
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
			if _, err := r.Refresh(ctx, "mallory"); auth.LoginReason(err) != auth.ReasonDisabled {
				t.Fatalf("disabled user: %v", err)
			}
			if _, err := r.Refresh(ctx, "nobody-here"); auth.LoginReason(err) != auth.ReasonUnknownUser {
				t.Fatalf("unknown user: %v", err)
			}
			// Escaped, so a literal name nobody has: never a search for everyone.
			if _, err := r.Refresh(ctx, "*"); auth.LoginReason(err) != auth.ReasonUnknownUser {
				t.Fatalf("wildcard: %v", err)
			}
			s.Stop()
			if _, err := r.Refresh(ctx, "dave"); auth.LoginReason(err) != auth.ReasonUnavailable {
				t.Fatalf("directory down: %v", err)
			}
		})
	}
}
