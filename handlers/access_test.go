package handlers

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/store"
)

func grant(kind, realm, name, role string) api.Grant {
	return api.Grant{Kind: kind, Realm: realm, Name: name, Role: role}
}

func TestAccessAPI(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	vm := e.guestIn(api.StateShutoff)
	path := "/api/v1/vms/" + vm + "/access"
	var acc api.Access

	want(t, admin.do("PUT", path, api.Access{Items: []api.Grant{grant("user", "local", "view", "viewer"), grant("group", "test", "crew", "operator")}}), 200, "")
	admin.do("GET", path, nil).decode(t, &acc)
	if len(acc.Items) != 2 {
		t.Fatalf("after PUT: %+v", acc)
	}

	t.Run("422 names every bad entry and changes nothing", func(t *testing.T) {
		r := admin.do("PUT", path, api.Access{Items: []api.Grant{
			grant("user", "local", "view", "viewer"),
			grant("user", "local", "nobody-here", "viewer"),
			grant("group", "test", "no-such-group", "viewer"),
			grant("user", "nis", "x", "viewer"),
			grant("robot", "local", "alice", "viewer"),
			grant("user", "local", "alice", "owner"),
		}})
		want(t, r, 422, "invalid_grants")
		var eb api.ErrorBody
		r.decode(t, &eb)
		var fields []string
		for _, d := range eb.Error.Details {
			fields = append(fields, d.Field)
		}
		for _, f := range []string{"grants[1]", "grants[2]", "grants[3]", "grants[4]", "grants[5]"} {
			if !slices.Contains(fields, f) {
				t.Errorf("422 does not name %s: %s", f, r.body)
			}
		}
		if slices.Contains(fields, "grants[0]") {
			t.Errorf("a good entry was named: %s", r.body)
		}
		var now api.Access
		admin.do("GET", path, nil).decode(t, &now)
		if !slices.Equal(now.Items, acc.Items) {
			t.Fatalf("a refused PUT changed grants: %+v", now)
		}
	})
	t.Run("patch adds, replaces a role, removes", func(t *testing.T) {
		r := admin.do("PATCH", path, api.AccessPatch{
			Add:    []api.Grant{grant("user", "local", "op", "operator"), grant("user", "local", "view", "manager")},
			Remove: []api.Grant{{Kind: "group", Realm: "test", Name: "crew"}},
		})
		want(t, r, 200, "")
		r.decode(t, &acc)
		got := map[string]string{}
		for _, g := range acc.Items {
			got[g.Kind+":"+g.Realm+":"+g.Name] = g.Role
		}
		if len(got) != 2 || got["user:local:op"] != "operator" || got["user:local:view"] != "manager" {
			t.Fatalf("after PATCH: %+v", acc.Items)
		}
		evs := e.audit(store.AuditFilter{Action: "vm.access.*", Limit: 1})
		if len(evs) != 1 || evs[0].Target != "vm:"+vm || !strings.Contains(evs[0].Reason, "-group:test:crew=operator") ||
			!strings.Contains(evs[0].Reason, "+user:local:view=manager") {
			t.Fatalf("audit %+v", evs)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		want(t, admin.do("PATCH", path, api.AccessPatch{}), 400, "bad_request")
		want(t, admin.do("PUT", path, `{"items":[{"kind":"user","realm":"local","name":"x","role":"viewer","extra":1}]}`), 400, "bad_request")
		want(t, admin.do("PUT", "/api/v1/vms/no-such/access", api.Access{}), 404, "guest_not_found")
	})
	t.Run("grants already present are not looked up again", func(t *testing.T) {
		// A grant whose realm was disabled since may stay while others change.
		if err := e.vm.SetGrants(t.Context(), vm, append(acc.Items, grant("user", "ldap", "old", "viewer"))); err != nil {
			t.Fatal(err)
		}
		want(t, admin.do("PATCH", path, api.AccessPatch{Add: []api.Grant{grant("user", "local", "alice", "viewer")}}), 200, "")
		want(t, admin.do("PATCH", path, api.AccessPatch{Add: []api.Grant{grant("user", "ldap", "new", "viewer")}}), 422, "invalid_grants")
	})
}

func TestKimchiGrantsShow(t *testing.T) {
	e := newEnv(t)
	var acc api.Access
	want(t, e.as("local", "admin").do("GET", "/api/v1/vms/jenkins-old/access", nil), 200, "")
	e.as("local", "admin").do("GET", "/api/v1/vms/jenkins-old/access", nil).decode(t, &acc)
	if !slices.Contains(acc.Items, grant("user", "pam", "bob", "operator")) || !slices.Contains(acc.Items, grant("group", "pam", "developers", "operator")) {
		t.Fatalf("Kimchi grants read as %+v", acc.Items)
	}
}

func TestAccessChangeHook(t *testing.T) {
	e := newEnv(t)
	got := make(chan string, 16)
	cancel := e.srv.OnAccessChange(func(guest string) { got <- guest })
	defer cancel()
	vm := e.guestIn(api.StateRunning)
	want(t, e.as("local", "admin").do("PUT", "/api/v1/vms/"+vm+"/access", api.Access{Items: []api.Grant{grant("user", "local", "op", "operator")}}), 200, "")
	deadline := time.After(time.Second)
	for {
		select {
		case g := <-got:
			if g == vm {
				return
			}
		case <-deadline:
			t.Fatal("the access-change hook was not called within 1 s")
		}
	}
}
