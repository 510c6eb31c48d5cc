package virt

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

func TestGrantIndex(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	ctx := context.Background()
	// The index must agree with the grants of every guest.
	want := func(realm, user string, groups []string) []api.GuestRef {
		vms, err := m.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []api.GuestRef
		for _, vm := range vms {
			gs, _ := m.Grants(vm.Name)
			if slices.ContainsFunc(gs, func(g api.Grant) bool {
				return g.Realm == realm && ((g.Kind == "user" && g.Name == user) || (g.Kind == "group" && slices.Contains(groups, g.Name)))
			}) {
				out = append(out, api.GuestRef{Host: DefaultHost, Name: vm.Name})
			}
		}
		return out
	}
	cases := []struct {
		name, realm, user string
		groups            []string
	}{
		{"direct user", "pam", "alice", nil},
		{"group", "ldap", "bob", []string{"dba"}},
		{"two groups", "ldap", "bob", []string{"dba", "ops"}},
		{"same name other realm", "ldap", "alice", nil},
		{"nobody", "pam", "zed", []string{"nothing"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := m.GuestsGrantedTo(tc.realm, tc.user, tc.groups)
			if w := want(tc.realm, tc.user, tc.groups); !slices.Equal(got, w) {
				t.Fatalf("index %v, grants say %v", got, w)
			}
		})
	}
	if len(m.GuestsGrantedTo("pam", "alice", nil)) == 0 || len(m.GuestsGrantedTo("ldap", "x", []string{"ops"})) == 0 {
		t.Fatal("the demo fixture should grant pam:alice and ldap group ops something")
	}

	t.Run("revoke and grant follow", func(t *testing.T) {
		ref := m.GuestsGrantedTo("pam", "alice", nil)[0]
		guest := ref.Name
		if err := m.SetGrants(ctx, guest, nil); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(m.GuestsGrantedTo("pam", "alice", nil), ref) {
			t.Fatal("revoked guest still indexed")
		}
		if err := m.SetGrants(ctx, guest, []api.Grant{{Kind: "user", Realm: "local", Name: "zoe", Role: api.RoleViewer}}); err != nil {
			t.Fatal(err)
		}
		if got := m.GuestsGrantedTo("local", "zoe", nil); !slices.Equal(got, []api.GuestRef{ref}) {
			t.Fatalf("new grant indexed as %v", got)
		}
	})
	t.Run("delete removes", func(t *testing.T) {
		var off string
		vms, _ := m.List(ctx)
		for _, v := range vms {
			if v.State == api.StateShutoff && len(m.GuestsGrantedTo("ldap", "x", []string{"ops"})) > 0 {
				if gs, _ := m.Grants(v.Name); len(gs) > 0 {
					off = v.Name
					break
				}
			}
		}
		if off == "" {
			t.Fatal("no shut-off guest with grants in the fixture")
		}
		gs, _ := m.Grants(off)
		if err := m.Delete(ctx, off, false); err != nil {
			t.Fatal(err)
		}
		g := gs[0]
		if slices.Contains(m.GuestsGrantedTo(g.Realm, g.Name, []string{g.Name}), m.Ref(off)) {
			t.Fatal("deleted guest still indexed")
		}
	})
	t.Run("list names", func(t *testing.T) {
		got, err := m.ListNames(ctx, []string{"web01", "no-such", "db01"})
		if err != nil || len(got) != 2 || got[0].Name != "web01" || got[1].Name != "db01" {
			t.Fatalf("%v %v", got, err)
		}
	})
}

func TestUpdateGrantsConcurrently(t *testing.T) {
	m := startFixture(t, FixtureOptions{})
	ctx := context.Background()
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := m.UpdateGrants(ctx, "web01", func(cur []api.Grant) ([]api.Grant, error) {
				return append(cur, api.Grant{Kind: "user", Realm: "local", Name: fmt.Sprintf("u%02d", i), Role: api.RoleViewer}), nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	gs, _ := m.Grants("web01")
	for i := range n {
		name := fmt.Sprintf("u%02d", i)
		if !slices.ContainsFunc(gs, func(g api.Grant) bool { return g.Name == name }) {
			t.Fatalf("lost %s: %v", name, gs)
		}
	}
	if _, err := m.UpdateGrants(ctx, "no-such", func(c []api.Grant) ([]api.Grant, error) { return c, nil }); !fault.Is(err, CodeGuestNotFound) {
		t.Fatalf("unknown guest: %v", err)
	}
	if _, err := m.UpdateGrants(ctx, "../x", func(c []api.Grant) ([]api.Grant, error) { return c, nil }); !fault.Is(err, CodeInvalidName) {
		t.Fatalf("bad name: %v", err)
	}
}
