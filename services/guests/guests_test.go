package guests

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/policy"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/virt"
)

// startHost runs a manager for host over its own copy of the demo fixture
// (libvirt's test driver).
func startHost(t *testing.T, host string) *virt.Manager {
	t.Helper()
	dir := t.TempDir()
	fixture := filepath.Join(dir, "host.xml")
	if err := virt.WriteFixture(fixture, virt.FixtureOptions{ImagesDir: filepath.Join(dir, "images")}); err != nil {
		t.Fatal(err)
	}
	m := virt.New(virt.Config{URI: "test://" + fixture, Host: host})
	if err := m.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.WaitReady(ctx); err != nil {
		t.Fatal("libvirt test driver not ready:", err)
	}
	return m
}

var (
	permPower = rbac.Permission{Object: "vm", Action: "power"}
	permEdit  = rbac.Permission{Object: "vm", Action: "edit"}
)

// TestHostsApart: two hosts each have a guest web01, granted to different
// people; each host's view lists, decides and decorates only its own.
func TestHostsApart(t *testing.T) {
	ctx := context.Background()
	ma, mb := startHost(t, "kvm-a"), startHost(t, "kvm-b")
	if err := ma.SetGrants(ctx, "web01", []api.Grant{{Kind: "user", Realm: "test", Name: "ana", Role: api.RoleOperator}}); err != nil {
		t.Fatal(err)
	}
	if err := mb.SetGrants(ctx, "web01", []api.Grant{{Kind: "user", Realm: "test", Name: "ben", Role: api.RoleManager}}); err != nil {
		t.Fatal(err)
	}
	fleet, err := virt.NewFleet(ma, mb)
	if err != nil {
		t.Fatal(err)
	}
	authz, err := rbac.New(policy.Model, policy.Policy, fleet)
	if err != nil {
		t.Fatal(err)
	}
	perms := []rbac.Permission{permRead, permPower, permEdit}
	svcA, err := New(ma, authz, "kvm-a", perms)
	if err != nil {
		t.Fatal(err)
	}
	svcB, err := New(mb, authz, "kvm-b", perms)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(ma, authz, "kvm-b", perms); err == nil {
		t.Fatal("a view of kvm-b over kvm-a's manager was accepted")
	}
	ana := rbac.Principal{Realm: "test", Name: "ana", Roles: []string{rbac.RoleUser}}
	ben := rbac.Principal{Realm: "test", Name: "ben", Roles: []string{rbac.RoleUser}}
	a, b := svcA.Ref("web01"), svcB.Ref("web01")

	t.Run("list", func(t *testing.T) {
		cases := []struct {
			name string
			svc  *Service
			p    rbac.Principal
			want []string // host/name:role
		}{
			{"ana on a", svcA, ana, []string{"kvm-a/web01:operator"}},
			{"ana on b", svcB, ana, nil},
			{"ben on a", svcA, ben, nil},
			{"ben on b", svcB, ben, []string{"kvm-b/web01:manager"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				vms, err := tc.svc.List(ctx, tc.p, virt.ListQuery{})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, vm := range vms {
					got = append(got, vm.Host+"/"+vm.Name+":"+vm.MyRole)
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("listed %v, want %v", got, tc.want)
				}
			})
		}
	})
	t.Run("decide", func(t *testing.T) {
		cases := []struct {
			name string
			svc  *Service
			p    rbac.Principal
			perm rbac.Permission
			g    api.GuestRef
			want string // "" allowed, else the error's code
		}{
			{"ana powers a's", svcA, ana, permPower, a, ""},
			{"ana may not edit a's", svcA, ana, permEdit, a, fault.CodeForbidden.Name},
			{"ana does not see b's", svcB, ana, permRead, b, virt.CodeGuestNotFound.Name},
			{"ben edits b's", svcB, ben, permEdit, b, ""},
			{"ben does not see a's", svcA, ben, permRead, a, virt.CodeGuestNotFound.Name},
			{"a's view, b's guest", svcA, ben, permRead, b, virt.CodeGuestNotFound.Name},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				err := tc.svc.Decide(tc.p, tc.perm, tc.g)
				got := ""
				if e := fault.As(err); e != nil {
					got = e.Code.Name
				} else if err != nil {
					got = err.Error()
				}
				if got != tc.want {
					t.Fatalf("%v, want %q", err, tc.want)
				}
			})
		}
	})
	t.Run("decorate", func(t *testing.T) {
		d, err := svcB.Get(ctx, ana, b)
		if err != nil {
			t.Fatal(err)
		}
		if d.Host != "kvm-b" || d.MyRole != "" || slices.Contains(d.AllowedActions, "vm.read") {
			t.Fatalf("ana's view of b's web01: host %q role %q actions %v", d.Host, d.MyRole, d.AllowedActions)
		}
		if _, err := svcB.Get(ctx, ana, a); !fault.Is(err, virt.CodeGuestNotFound) {
			t.Fatalf("b's view fetched a's guest: %v", err)
		}
		d, err = svcA.Get(ctx, ana, a)
		if err != nil || d.Host != "kvm-a" || d.MyRole != api.RoleOperator || !slices.Contains(d.AllowedActions, "vm.power") {
			t.Fatalf("ana's view of a's web01: %+v %v", d.VM, err)
		}
	})
}
