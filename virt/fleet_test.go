package virt

import (
	"context"
	"slices"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/policy"
	"github.com/virtportal/virtportal/rbac"
)

// TestFleetKeepsHostsApart: two hosts each have a guest web01; grants on
// one never decide anything on the other, through the fleet and rbac.
func TestFleetKeepsHostsApart(t *testing.T) {
	ctx := context.Background()
	ma := startFixtureCfg(t, FixtureOptions{}, Config{Host: "kvm-a"})
	mb := startFixtureCfg(t, FixtureOptions{}, Config{Host: "kvm-b"})
	a, b := ma.Ref("web01"), mb.Ref("web01")
	if !ma.Exists("web01") || !mb.Exists("web01") {
		t.Fatal("both demo hosts should have web01")
	}
	ana := rbac.Principal{Realm: "test", Name: "ana", Roles: []string{rbac.RoleUser}}
	ben := rbac.Principal{Realm: "test", Name: "ben", Roles: []string{rbac.RoleUser}}
	crew := rbac.Principal{Realm: "test", Name: "cy", Groups: []string{"crew"}, Roles: []string{rbac.RoleUser}}
	admin := rbac.Principal{Realm: "local", Name: "admin", Roles: []string{rbac.RoleAdmin}}
	if err := ma.SetGrants(ctx, "web01", []api.Grant{
		{Kind: "user", Realm: "test", Name: "ana", Role: api.RoleOperator},
		{Kind: "group", Realm: "test", Name: "crew", Role: api.RoleViewer},
	}); err != nil {
		t.Fatal(err)
	}
	if err := mb.SetGrants(ctx, "web01", []api.Grant{{Kind: "user", Realm: "test", Name: "ben", Role: api.RoleManager}}); err != nil {
		t.Fatal(err)
	}

	f, err := NewFleet(ma, mb)
	if err != nil {
		t.Fatal(err)
	}
	authz, err := rbac.New(policy.Model, policy.Policy, f)
	if err != nil {
		t.Fatal(err)
	}
	read, power, edit := rbac.Permission{Object: "vm", Action: "read"}, rbac.Permission{Object: "vm", Action: "power"}, rbac.Permission{Object: "vm", Action: "edit"}

	type check struct {
		name string
		p    rbac.Principal
		perm rbac.Permission
		g    api.GuestRef
		want bool
		role string
	}
	decide := func(t *testing.T, cases []check) {
		t.Helper()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ok, err := authz.AllowedOn(tc.p, tc.perm, tc.g)
				if err != nil || ok != tc.want {
					t.Errorf("%s %s on %s: %v %v, want %v", tc.p.ID(), tc.perm, tc.g, ok, err, tc.want)
				}
				if r := authz.RoleOn(tc.p, tc.g); r != tc.role {
					t.Errorf("%s's role on %s: %q, want %q", tc.p.ID(), tc.g, r, tc.role)
				}
			})
		}
	}
	decide(t, []check{
		{"granted on a", ana, power, a, true, api.RoleOperator},
		{"same name on b", ana, read, b, false, ""},
		{"granted on b", ben, edit, b, true, api.RoleManager},
		{"same name on a", ben, read, a, false, ""},
		{"group on a", crew, read, a, true, api.RoleViewer},
		{"group, same name on b", crew, read, b, false, ""},
		{"host not in the fleet", ana, read, api.GuestRef{Host: "kvm-c", Name: "web01"}, false, ""},
		{"no host", ana, read, api.GuestRef{Name: "web01"}, false, ""},
		{"admin on b", admin, edit, b, true, rbac.RoleAdmin},
	})

	granted := func(t *testing.T, p rbac.Principal, want ...rbac.GuestRole) {
		t.Helper()
		got, err := authz.GrantedRoles(p, read)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(got, want, func(x, y rbac.GuestRole) bool {
			return x.Guest == y.Guest && x.Role == y.Role && slices.Equal(x.Roles, y.Roles)
		}) {
			t.Fatalf("%s's guests %+v, want %+v", p.ID(), got, want)
		}
	}
	t.Run("granted roles list the granting host only", func(t *testing.T) {
		granted(t, ana, rbac.GuestRole{Guest: a, Role: api.RoleOperator, Roles: []string{api.RoleOperator}})
		granted(t, ben, rbac.GuestRole{Guest: b, Role: api.RoleManager, Roles: []string{api.RoleManager}})
		granted(t, crew, rbac.GuestRole{Guest: a, Role: api.RoleViewer, Roles: []string{api.RoleViewer}})
	})
	t.Run("a manager answers for its own host only", func(t *testing.T) {
		if _, ok := ma.GrantsOf(b); ok {
			t.Fatal("host a answered for b's guest")
		}
		if gs, ok := ma.GrantsOf(a); !ok || len(gs) != 2 {
			t.Fatalf("host a's own guest: %v %v", gs, ok)
		}
		if got := mb.GuestsGrantedTo("test", "ana", nil); len(got) != 0 {
			t.Fatalf("host b lists %v for ana", got)
		}
		vms, err := mb.ListNames(ctx, []string{"web01"})
		if err != nil || len(vms) != 1 || vms[0].Ref() != b {
			t.Fatalf("b's web01 listed as %+v %v", vms, err)
		}
	})

	bBefore, _ := f.GrantsOf(b)
	if _, err := ma.UpdateGrants(ctx, "web01", func([]api.Grant) ([]api.Grant, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	t.Run("a revoke on a leaves b alone", func(t *testing.T) {
		if bAfter, _ := f.GrantsOf(b); !slices.Equal(bAfter, bBefore) {
			t.Fatalf("b's grants went from %v to %v", bBefore, bAfter)
		}
		decide(t, []check{
			{"revoked on a", ana, read, a, false, ""},
			{"group revoked on a", crew, read, a, false, ""},
			{"still granted on b", ben, edit, b, true, api.RoleManager},
		})
		granted(t, ana)
		granted(t, ben, rbac.GuestRole{Guest: b, Role: api.RoleManager, Roles: []string{api.RoleManager}})
	})
	t.Run("grants on both hosts list both, by host", func(t *testing.T) {
		for _, m := range []*Manager{mb, ma} {
			if _, err := m.UpdateGrants(ctx, "web01", func(cur []api.Grant) ([]api.Grant, error) {
				return PatchGrants(cur, []api.Grant{{Kind: "user", Realm: "test", Name: "ana", Role: api.RoleViewer}}, nil), nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		v := []string{api.RoleViewer}
		granted(t, ana, rbac.GuestRole{Guest: a, Role: api.RoleViewer, Roles: v}, rbac.GuestRole{Guest: b, Role: api.RoleViewer, Roles: v})
	})
}

func TestNewFleet(t *testing.T) {
	m1 := New(Config{URI: "test:///default", Host: "one"})
	m2 := New(Config{URI: "test:///default", Host: "two"})
	again := New(Config{URI: "test:///default", Host: "one"})
	cases := []struct {
		name string
		ms   []*Manager
		ok   bool
	}{
		{"two hosts", []*Manager{m2, m1}, true},
		{"none", nil, false},
		{"a nil manager", []*Manager{m1, nil}, false},
		{"one host twice", []*Manager{m1, again}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := NewFleet(tc.ms...)
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if tc.ok {
				if !slices.Equal(f.Hosts(), []string{"one", "two"}) {
					t.Fatalf("hosts %v", f.Hosts())
				}
				if m, ok := f.Manager("two"); !ok || m != m2 {
					t.Fatal("host two's manager")
				}
				if _, ok := f.Manager("three"); ok {
					t.Fatal("a host not in the fleet")
				}
			}
		})
	}
	if New(Config{URI: "test:///default"}).HostName() != DefaultHost {
		t.Fatal("a manager without a host name is not the default host")
	}
}
