package rbac

import (
	"slices"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/policy"
)

func TestActionSet(t *testing.T) {
	custom := strings.Replace(policy.Policy, "p, operator, vm, console\n", "p, operator, vm, reboot-only\n", 1)
	cases := []struct {
		name, policy string
		roles        []string
		want         []string
	}{
		{"viewer", policy.Policy, []string{RoleViewer}, []string{"vm.read"}},
		{"operator inherits viewer", policy.Policy, []string{RoleOperator}, []string{"vm.read", "vm.power", "vm.console", "vm.media"}},
		{"user role adds nothing per guest", policy.Policy, []string{RoleUser, RoleViewer}, []string{"vm.read"}},
		{"admin: everything", policy.Policy, []string{RoleAdmin}, nil},
		{"nobody", policy.Policy, nil, []string{}},
		{"custom policy", custom, []string{RoleOperator}, []string{"vm.read", "vm.power", "vm.reboot-only", "vm.media"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(policy.Model, tc.policy, nil)
			if err != nil {
				t.Fatal(err)
			}
			perms, err := a.PermissionsOf(GuestRoles...)
			if err != nil {
				t.Fatal(err)
			}
			perms = append(perms, Permission{Object: "vm", Action: "delete"})
			set := a.NewActionSet(perms)
			want := tc.want
			if want == nil {
				for _, p := range perms {
					want = append(want, ActionName(p))
				}
			}
			for range 2 { // the second answer comes from the cache
				got, err := set.Of(tc.roles...)
				if err != nil {
					t.Fatal(err)
				}
				if got == nil || !slices.Equal(got, want) {
					t.Fatalf("roles %v allow %v, want %v", tc.roles, got, want)
				}
			}
		})
	}
}
