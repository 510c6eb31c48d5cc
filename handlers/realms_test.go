package handlers

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/auth/ldap"
	"github.com/virtportal/virtportal/auth/ldaptest"
	"github.com/virtportal/virtportal/store"
)

// withLDAP enables an LDAP realm on a real slapd.
func withLDAP(t *testing.T, s *ldaptest.Server) envOpt {
	pw := filepath.Join(t.TempDir(), "bindpw")
	if err := os.WriteFile(pw, []byte(s.BindPassword), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := ldap.New(ldap.Config{
		URLs: []string{s.URL}, BindDN: s.BindDN, BindPasswordFile: pw, BaseDN: s.BaseDN, GroupBaseDN: ldaptest.GroupsDN,
		ConnectTimeout: time.Second, OpTimeout: 2 * time.Second, Roles: auth.RoleMap{AdminGroups: []string{"admins"}},
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return func(c *envConfig) { c.realms = append(c.realms, l) }
}

func TestLDAPRealmThroughTheServer(t *testing.T) {
	dir := ldaptest.Start(t, ldaptest.Options{})
	e := newEnv(t, withLDAP(t, dir))
	var realms api.Realms
	e.client().do("GET", "/api/v1/realms", nil).decode(t, &realms)
	if realms.Default != "ldap" || len(realms.Items) != 3 {
		t.Fatalf("realms %+v", realms)
	}
	c := e.client()
	r := c.login("ldap", "bob", ldaptest.Password("bob"))
	want(t, r, 200, "")
	var s api.Session
	r.decode(t, &s)
	if s.Identity != "ldap:bob" || !slices.Equal(s.Roles, []string{"admin"}) || !slices.Contains(s.Groups, "admins") {
		t.Fatalf("bob's session %+v", s)
	}
	want(t, e.client().login("ldap", "alice", "wrong"), 401, "unauthorized")
	// The same name in another realm is another person.
	want(t, e.client().login("local", "bob", ldaptest.Password("bob")), 401, "unauthorized")

	// Grants to directory users and groups are checked against the directory.
	admin := e.as("local", "admin")
	vm := e.guestIn(api.StateRunning)
	want(t, admin.do("PATCH", "/api/v1/vms/"+vm+"/access", api.AccessPatch{Add: []api.Grant{
		grant("group", "ldap", "ops", "operator"), grant("user", "ldap", "alice", "viewer")}}), 200, "")
	want(t, admin.do("PATCH", "/api/v1/vms/"+vm+"/access", api.AccessPatch{Add: []api.Grant{grant("user", "ldap", "nobody", "viewer")}}), 422, "invalid_grants")
	var dl api.DirList
	admin.do("GET", "/api/v1/directory/groups?realm=ldap&q=op", nil).decode(t, &dl)
	if !slices.ContainsFunc(dl.Items, func(d api.DirEntry) bool { return d.Name == "ops" }) {
		t.Fatalf("directory search %+v", dl)
	}
	// dave is in ops only through a nested group: the group grant reaches him.
	dave := e.client()
	want(t, dave.login("ldap", "dave", ldaptest.Password("dave")), 200, "")
	if r := dave.do("GET", "/api/v1/vms/"+vm, nil); r.status != 200 {
		t.Fatalf("nested group member gets %d", r.status)
	}

	// Directory down: that realm answers 503; the others keep working.
	dir.Stop()
	t0 := time.Now()
	want(t, e.client().login("ldap", "alice", ldaptest.Password("alice")), 503, "realm_unavailable")
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("a down directory took %v to refuse", d)
	}
	e.as("local", "admin")
	want(t, admin.do("GET", "/api/v1/directory/users?realm=ldap", nil), 503, "directory_unavailable")
	// A search over every realm still answers from the others.
	var merged api.DirList
	r = admin.do("GET", "/api/v1/directory/users?q=ali", nil)
	want(t, r, 200, "")
	r.decode(t, &merged)
	if !slices.Equal(merged.Unavailable, []string{"ldap"}) || !slices.ContainsFunc(merged.Items, func(d api.DirEntry) bool { return d.Realm == "local" && d.Name == "alice" }) {
		t.Fatalf("merged search during the outage: %+v", merged)
	}
	want(t, admin.do("PATCH", "/api/v1/vms/"+vm+"/access", api.AccessPatch{Add: []api.Grant{grant("user", "ldap", "carol", "viewer")}}), 503, "directory_unavailable")
	evs := e.audit(store.AuditFilter{Action: "session.login", Realm: "ldap", Limit: 1})
	if len(evs) != 1 || evs[0].Reason != auth.ReasonUnavailable {
		t.Fatalf("a login during the outage is audited as %+v", evs)
	}
	// A directory outage is no reason to throttle the user.
	dir.Restart()
	want(t, e.client().login("ldap", "alice", ldaptest.Password("alice")), 200, "")
}
