package handlers

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/policy"
	"github.com/virtportal/virtportal/rbac"
)

// TestAllowedActions: each guest object says what the caller may do with
// it, from the policy the server runs with, in lists, details and action
// answers alike.
func TestAllowedActions(t *testing.T) {
	noConsole := strings.Replace(policy.Policy, "p, operator, vm, console\n", "", 1)
	if noConsole == policy.Policy {
		t.Fatal("the default policy has no operator console line to remove")
	}
	all := []string{"vm.read", "vm.delete", "access.read", "access.write", "vm.clone", "vm.console", "vm.power", "vm.media", "vm.edit", "vm.snapshot",
		"hostdev.manage"} // issue 11: host device passthrough, administrators only
	cases := []struct {
		name, policy string
		want         map[string][]string // user → allowed actions on the guest
	}{
		{"default policy", policy.Policy, map[string][]string{
			"admin": all,
			"view":  {"vm.read"},
			"op":    {"vm.read", "vm.console", "vm.power", "vm.media"},
			"mgr":   {"vm.read", "vm.clone", "vm.console", "vm.power", "vm.media", "vm.edit", "vm.snapshot"},
			"gina":  {"vm.read", "vm.console", "vm.power", "vm.media"},
		}},
		{"operators without consoles", noConsole, map[string][]string{
			"admin": all,
			"view":  {"vm.read"},
			"op":    {"vm.read", "vm.power", "vm.media"},
			"mgr":   {"vm.read", "vm.clone", "vm.power", "vm.media", "vm.edit", "vm.snapshot"},
			"gina":  {"vm.read", "vm.power", "vm.media"},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withPolicy(tc.policy))
			guest := e.guestIn(api.StateShutoff)
			err := e.vm.SetGrants(context.Background(), guest, []api.Grant{
				{Kind: "user", Realm: "local", Name: "mgr", Role: rbac.RoleManager},
				{Kind: "user", Realm: "local", Name: "op", Role: rbac.RoleOperator},
				{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer},
				{Kind: "group", Realm: "test", Name: "crew", Role: rbac.RoleOperator},
			})
			if err != nil {
				t.Fatal(err)
			}
			for user, wantActs := range tc.want {
				realm := map[bool]string{true: "test", false: "local"}[user == "gina"]
				c := e.as(realm, user)
				check := func(where string, got []string) {
					t.Helper()
					if !sameSet(got, wantActs) {
						t.Errorf("%s: %s's allowed_actions %v, want %v", where, user, got, wantActs)
					}
				}
				var l api.VMList
				c.do("GET", "/api/v1/vms", nil).decode(t, &l)
				i := slices.IndexFunc(l.Items, func(v api.VM) bool { return v.Name == guest })
				if i < 0 {
					t.Fatalf("%s does not see %s", user, guest)
				}
				check("list", l.Items[i].AllowedActions)
				var d api.VMDetail
				c.do("GET", "/api/v1/vms/"+guest, nil).decode(t, &d)
				check("detail", d.AllowedActions)
				if slices.Contains(wantActs, "vm.power") {
					var v api.VM
					r := c.do("POST", "/api/v1/vms/"+guest+"/start", nil)
					r.decode(t, &v)
					check("start", v.AllowedActions)
					want(t, c.do("POST", "/api/v1/vms/"+guest+"/poweroff", nil), 200, "")
				}
				// What the list says is what the routes do.
				st := c.do("POST", "/api/v1/vms/"+guest+"/console", api.ConsoleRequest{Kind: "vnc"}).status
				if denied := st == 403; denied == slices.Contains(wantActs, "vm.console") {
					t.Errorf("%s: console answered %d with allowed_actions %v", user, st, wantActs)
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
