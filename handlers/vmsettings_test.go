package handlers

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
)

// settingsEnv grants mgr, op and view their roles on a shut-off and a
// running guest.
func settingsEnv(t *testing.T) (e *env, off, on string) {
	e = newEnv(t)
	off, on = "web06", "web01"
	for _, g := range []string{off, on} {
		if err := e.vm.SetGrants(context.Background(), g, []api.Grant{
			{Kind: "user", Realm: "local", Name: "mgr", Role: rbac.RoleManager},
			{Kind: "user", Realm: "local", Name: "op", Role: rbac.RoleOperator},
			{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer},
		}); err != nil {
			t.Fatal(err)
		}
	}
	return e, off, on
}

func TestVMSettingsRoles(t *testing.T) {
	e, off, _ := settingsEnv(t)
	body := map[string]any{"vcpus": 1}
	for _, tc := range []struct {
		user      string
		get, edit int
	}{{"view", 200, 403}, {"op", 200, 403}, {"mgr", 200, 200}, {"alice", 404, 404}} {
		t.Run(tc.user, func(t *testing.T) {
			c := e.as("local", tc.user)
			want(t, c.do("GET", "/api/v1/vms/"+off+"/settings", nil), tc.get, "")
			want(t, c.do("PUT", "/api/v1/vms/"+off, body), tc.edit, "")
			want(t, c.do("PUT", "/api/v1/vms/"+off+"/graphics", map[string]any{"keymap": "de"}), tc.edit, "")
		})
	}
}

func TestVMSettingsEdit(t *testing.T) {
	e, off, on := settingsEnv(t)
	mgr := e.as("local", "mgr")
	settings := func(name string) api.VMSettings {
		var s api.VMSettings
		r := mgr.do("GET", "/api/v1/vms/"+name+"/settings", nil)
		want(t, r, 200, "")
		r.decode(t, &s)
		return s
	}

	t.Run("shut off: processor and memory", func(t *testing.T) {
		r := mgr.do("PUT", "/api/v1/vms/"+off, map[string]any{"max_vcpus": 4, "vcpus": 3, "topology": map[string]int{"sockets": 2, "cores": 2, "threads": 1}, "memory_mib": 1024})
		want(t, r, 200, "")
		var res api.VMUpdateResult
		r.decode(t, &res)
		if res.Settings.VCPUs != 3 || res.Settings.MaxVCPUs != 4 || res.Settings.MemoryMiB != 1024 || res.Applied["vcpus"] != "now" {
			t.Fatalf("answer %+v", res)
		}
		ev := e.audit(store.AuditFilter{Action: "vm.edit", Target: "vm:" + off})
		if len(ev) == 0 || !strings.Contains(ev[0].Reason, "max_vcpus=4") || !strings.Contains(ev[0].Reason, "topology=2x2x1") {
			t.Fatalf("audit %+v", ev)
		}
	})
	t.Run("bad input: 422 naming each field, nothing changed", func(t *testing.T) {
		before := settings(off)
		r := mgr.do("PUT", "/api/v1/vms/"+off, map[string]any{"vcpus": 2, "memory_mib": 4, "boot_order": []string{"floppy"}})
		want(t, r, 422, "settings_invalid")
		for _, f := range []string{`"memory_mib"`, `"boot_order[0]"`} {
			if !bytes.Contains(r.body, []byte(f)) {
				t.Errorf("%s not named in %s", f, r.body)
			}
		}
		after := settings(off)
		if after.VCPUs != before.VCPUs || after.MemoryMiB != before.MemoryMiB {
			t.Fatalf("changed: %+v → %+v", before, after)
		}
	})
	t.Run("malformed bodies", func(t *testing.T) {
		want(t, mgr.do("PUT", "/api/v1/vms/"+off, map[string]any{}), 400, "bad_request")
		want(t, mgr.do("PUT", "/api/v1/vms/"+off, map[string]any{"vcpus": "many"}), 400, "")
		want(t, mgr.do("PUT", "/api/v1/vms/"+off, map[string]any{"sockets": 2}), 400, "")
		want(t, mgr.do("PUT", "/api/v1/vms/"+off, `{"title": "`+strings.Repeat("x", 2<<20)+`"}`), 413, "")
	})
	t.Run("running: max vCPUs refused", func(t *testing.T) {
		want(t, mgr.do("PUT", "/api/v1/vms/"+on, map[string]any{"max_vcpus": 8}), 409, "guest_must_be_shut_off")
		want(t, mgr.do("PUT", "/api/v1/vms/"+on, map[string]any{"name": "web01-x"}), 409, "guest_must_be_shut_off")
	})
	t.Run("running: boot order waits for the next boot", func(t *testing.T) {
		var res api.VMUpdateResult
		r := mgr.do("PUT", "/api/v1/vms/"+on, map[string]any{"boot_order": []string{"cdrom", "hd"}, "vcpus": 1})
		want(t, r, 200, "")
		r.decode(t, &res)
		if res.Applied["boot_order"] != "next_boot" || res.Applied["vcpus"] != "now" || !strings.Contains(strings.Join(res.Settings.Pending, ","), "boot_order") {
			t.Fatalf("answer %+v", res)
		}
	})
	t.Run("graphics: listen for admins only, password never shown", func(t *testing.T) {
		r := mgr.do("PUT", "/api/v1/vms/"+off+"/graphics", map[string]any{"listen": "0.0.0.0"})
		want(t, r, 422, "settings_invalid")
		if !bytes.Contains(r.body, []byte("graphics.listen")) {
			t.Fatalf("%s", r.body)
		}
		until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
		r = mgr.do("PUT", "/api/v1/vms/"+off+"/graphics", map[string]any{"password": "pw-1234", "password_valid_to": until})
		want(t, r, 200, "")
		if bytes.Contains(r.body, []byte("pw-1234")) {
			t.Fatal("password in the answer")
		}
		var res api.VMUpdateResult
		r.decode(t, &res)
		if !res.Settings.Graphics.PasswordSet || res.Settings.Graphics.PasswordValidTo == nil || !res.Settings.Graphics.PasswordValidTo.Equal(until) {
			t.Fatalf("graphics %+v", res.Settings.Graphics)
		}
		if g := mgr.do("GET", "/api/v1/vms/"+off+"/settings", nil); bytes.Contains(g.body, []byte("pw-1234")) {
			t.Fatal("password in the settings")
		}
		for _, ev := range e.audit(store.AuditFilter{Action: "vm.edit.graphics"}) {
			if strings.Contains(ev.Reason, "pw-1234") {
				t.Fatal("password in the audit log")
			}
		}
		if e.logs != nil && strings.Contains(e.logs.String(), "pw-1234") {
			t.Fatal("password in the server log")
		}
		admin := e.as("local", "admin")
		want(t, admin.do("PUT", "/api/v1/vms/"+off+"/graphics", map[string]any{"listen": "0.0.0.0"}), 200, "")
		// The manager may edit the rest without touching the admin's address.
		want(t, mgr.do("PUT", "/api/v1/vms/"+off+"/graphics", map[string]any{"keymap": "fr"}), 200, "")
	})
	t.Run("rename: the grants follow", func(t *testing.T) {
		r := mgr.do("PUT", "/api/v1/vms/"+off, map[string]any{"name": off + "-renamed"})
		want(t, r, 200, "")
		want(t, mgr.do("GET", "/api/v1/vms/"+off+"-renamed", nil), 200, "")
		want(t, mgr.do("GET", "/api/v1/vms/"+off, nil), 404, "guest_not_found")
		view := e.as("local", "view")
		want(t, view.do("GET", "/api/v1/vms/"+off+"-renamed/settings", nil), 200, "")
		want(t, mgr.do("PUT", "/api/v1/vms/"+off+"-renamed", map[string]any{"name": "backup"}), 409, "guest_exists")
	})
}
