package rbac

import (
	"slices"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/policy"
)

// grantMap is a unit-test GrantSource; the real one is virt.Fleet.
type grantMap map[api.GuestRef][]api.Grant

func (g grantMap) GrantsOf(vm api.GuestRef) ([]api.Grant, bool) { v, ok := g[vm]; return v, ok }

func (g grantMap) GuestsGrantedTo(realm, user string, groups []string) []api.GuestRef {
	var out []api.GuestRef
	for vm, gs := range g {
		for _, x := range gs {
			if x.Realm == realm && ((x.Kind == "user" && x.Name == user) || (x.Kind == "group" && slices.Contains(groups, x.Name))) {
				out = append(out, vm)
				break
			}
		}
	}
	slices.SortFunc(out, cmpRef)
	return out
}

func cmpRef(a, b api.GuestRef) int { return strings.Compare(a.String(), b.String()) }

// on names a guest of host "kvm1"; other is the same name on "kvm2".
func on(name string) api.GuestRef    { return api.GuestRef{Host: "kvm1", Name: name} }
func other(name string) api.GuestRef { return api.GuestRef{Host: "kvm2", Name: name} }

func newAuthz(t *testing.T, g GrantSource) *Authorizer {
	t.Helper()
	a, err := New(policy.Model, policy.Policy, g)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestRoleMatrix(t *testing.T) {
	a := newAuthz(t, nil)
	perms := []string{"vm:list", "vm:read", "vm:power", "vm:console", "vm:media", "vm:edit", "vm:snapshot", "vm:clone", "vm:delete",
		"host:read", "audit:read", "directory:read", "session:self", "user:write", "access:read", "access:write"}
	allowed := map[string][]string{
		RoleAdmin:    perms,
		RoleAuditor:  {"vm:list", "vm:read", "host:read", "audit:read", "session:self", "access:read"},
		RoleUser:     {"vm:list", "session:self"},
		RoleViewer:   {"vm:read"},
		RoleOperator: {"vm:read", "vm:power", "vm:console", "vm:media"},
		RoleManager:  {"vm:read", "vm:power", "vm:console", "vm:media", "vm:edit", "vm:snapshot", "vm:clone"},
		"nobody":     {},
	}
	for role, ok := range allowed {
		for _, p := range perms {
			t.Run(role+" "+p, func(t *testing.T) {
				var perm Permission
				for i := range p {
					if p[i] == ':' {
						perm = Permission{Object: p[:i], Action: p[i+1:]}
					}
				}
				got, err := a.RoleAllows(role, perm)
				if err != nil {
					t.Fatal(err)
				}
				want := false
				for _, x := range ok {
					want = want || x == p
				}
				if got != want {
					t.Fatalf("%s %s: got %v want %v", role, p, got, want)
				}
			})
		}
	}
}

func TestGrants(t *testing.T) {
	g := grantMap{
		on("web01"): {{Kind: "user", Realm: "pam", Name: "alice", Role: RoleOperator}, {Kind: "group", Realm: "ldap", Name: "ops", Role: RoleViewer}},
		on("db01"):  {{Kind: "user", Realm: "pam", Name: "alice", Role: RoleManager}},
		// The same names on another host, granted to others.
		other("web01"): {{Kind: "user", Realm: "pam", Name: "dave", Role: RoleManager}},
		other("db01"):  nil,
	}
	a := newAuthz(t, g)
	alice := Principal{Realm: "pam", Name: "alice", Roles: []string{RoleUser}}
	ldapAlice := Principal{Realm: "ldap", Name: "alice", Roles: []string{RoleUser}}
	bob := Principal{Realm: "ldap", Name: "bob", Groups: []string{"ops"}, Roles: []string{RoleUser}}
	pamOps := Principal{Realm: "pam", Name: "carol", Groups: []string{"ops"}, Roles: []string{RoleUser}}
	dave := Principal{Realm: "pam", Name: "dave", Roles: []string{RoleUser}}
	admin := Principal{Realm: "local", Name: "admin", Roles: []string{RoleAdmin}}
	power, read, edit := Permission{"vm", "power"}, Permission{"vm", "read"}, Permission{"vm", "edit"}
	cases := []struct {
		name string
		p    Principal
		perm Permission
		vm   api.GuestRef
		want bool
	}{
		{"operator powers", alice, power, on("web01"), true},
		{"operator may not edit", alice, edit, on("web01"), false},
		{"manager edits", alice, edit, on("db01"), true},
		{"no grant", alice, read, on("mail"), false},
		{"same name, other realm", ldapAlice, read, on("web01"), false},
		{"group viewer reads", bob, read, on("web01"), true},
		{"group viewer may not power", bob, power, on("web01"), false},
		{"same group name, other realm", pamOps, read, on("web01"), false},
		{"admin without grant", admin, edit, on("mail"), true},
		{"same guest name, other host", alice, read, other("web01"), false},
		{"group, same guest name, other host", bob, read, other("web01"), false},
		{"name without its host", alice, read, api.GuestRef{Name: "web01"}, false},
		{"other host's grant stays there", dave, read, on("web01"), false},
		{"other host's grant holds there", dave, edit, other("web01"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := a.AllowedOn(tc.p, tc.perm, tc.vm)
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("guests allowed", func(t *testing.T) {
		got, err := a.GuestsAllowed(alice, power)
		if err != nil || !slices.Equal(got, []api.GuestRef{on("db01"), on("web01")}) {
			t.Fatalf("alice may power %v %v", got, err)
		}
		got, _ = a.GuestsAllowed(bob, power)
		if len(got) != 0 {
			t.Fatalf("a viewer may power %v", got)
		}
		got, _ = a.GuestsAllowed(bob, read)
		if !slices.Equal(got, []api.GuestRef{on("web01")}) {
			t.Fatalf("bob reads %v", got)
		}
		grs, _ := a.GrantedRoles(dave, read)
		if len(grs) != 1 || grs[0].Guest != other("web01") || grs[0].Role != RoleManager {
			t.Fatalf("dave's roles %+v", grs)
		}
	})
	t.Run("role on", func(t *testing.T) {
		if r := a.RoleOn(alice, on("web01")); r != RoleOperator {
			t.Fatalf("alice on kvm1/web01: %q", r)
		}
		if r := a.RoleOn(alice, other("web01")); r != "" {
			t.Fatalf("alice on kvm2/web01: %q", r)
		}
	})
	// A revoke is seen on the very next decision: nothing about grants is cached.
	g[on("web01")] = nil
	if ok, _ := a.AllowedOn(alice, power, on("web01")); ok {
		t.Fatal("revoked grant still allowed")
	}
	if ok, _ := a.AllowedOn(dave, edit, other("web01")); !ok {
		t.Fatal("a revoke on one host took the other host's grant")
	}
}

func TestBadPolicyRefused(t *testing.T) {
	for _, pol := range []string{
		"p, admin, *",
		"x, admin, *, *",
		"p, admin, , *",
		"g, a",
	} {
		if _, err := New(policy.Model, pol, nil); err == nil {
			t.Errorf("policy %q accepted", pol)
		}
	}
	if _, err := New("[nonsense", policy.Policy, nil); err == nil {
		t.Error("bad model accepted")
	}
}

func BenchmarkAllowedOn(b *testing.B) {
	g := grantMap{on("web01"): {{Kind: "group", Realm: "ldap", Name: "ops", Role: RoleOperator}}}
	a, _ := New(policy.Model, policy.Policy, g)
	p := Principal{Realm: "ldap", Name: "bob", Groups: []string{"dev", "ops"}, Roles: []string{RoleUser}}
	perm := Permission{"vm", "power"}
	for b.Loop() {
		if ok, _ := a.AllowedOn(p, perm, on("web01")); !ok {
			b.Fatal("denied")
		}
	}
}

// TestPolicyUsesTheGuestRoles: the default policy spells the per-guest roles
// as api defines them, each including the one before, so that a grant's
// role always means something to the policy.
func TestPolicyUsesTheGuestRoles(t *testing.T) {
	granted, inherits := map[string]bool{}, map[[2]string]bool{}
	for line := range strings.Lines(policy.Policy) {
		f := strings.Split(strings.TrimSpace(line), ", ")
		switch {
		case len(f) == 4 && f[0] == "p":
			granted[f[1]] = true
		case len(f) == 3 && f[0] == "g":
			inherits[[2]string{f[1], f[2]}] = true
		}
	}
	for i, r := range GuestRoles {
		t.Run(r, func(t *testing.T) {
			if !granted[r] {
				t.Errorf("the policy grants nothing to %q", r)
			}
			if i > 0 && !inherits[[2]string{r, GuestRoles[i-1]}] {
				t.Errorf("%q does not include %q", r, GuestRoles[i-1])
			}
		})
	}
}
