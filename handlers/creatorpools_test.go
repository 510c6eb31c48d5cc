package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// pooledRealm is a fake realm whose creators may place disks only in the
// isos pool (a realm's roles.creator_pools).
type pooledRealm struct{}

func (pooledRealm) Name() string           { return "pooled" }
func (pooledRealm) Label() string          { return "Pooled" }
func (pooledRealm) CreatorPools() []string { return []string{virt.FixturePoolISOs} }
func (pooledRealm) Authenticate(_ context.Context, user, pw string) (rbac.Principal, error) {
	if user != "paula" || pw != testPassword {
		return rbac.Principal{}, auth.Fail(auth.ReasonBadPassword, nil)
	}
	return rbac.Principal{Realm: "pooled", Name: "paula", Roles: []string{rbac.RoleUser, rbac.RoleCreator}}, nil
}

var _ auth.PoolLimiter = pooledRealm{}

func TestCreatorPools(t *testing.T) {
	e := newEnv(t, func(c *envConfig) { c.realms = []auth.Realm{pooledRealm{}} })
	ctx := context.Background()
	for _, v := range []struct{ pool, name string }{{virt.FixturePoolDefault, "cp-def.qcow2"}, {virt.FixturePoolISOs, "cp-iso.qcow2"}} {
		if _, err := e.srv.d.Virt.CreateVolume(ctx, v.pool, api.VolumeRequest{Name: v.name, Capacity: 1 << 30, Format: "qcow2"}); err != nil {
			t.Fatal(err)
		}
	}
	paula, admin := e.as("pooled", "paula"), e.as("local", "admin")
	refused := func(t *testing.T, r resp, pool string) {
		t.Helper()
		if r.status != http.StatusForbidden || r.errCode() != "pool_not_allowed" || !strings.Contains(string(r.body), pool) {
			t.Fatalf("got %d %s, want 403 pool_not_allowed naming %q", r.status, r.body, pool)
		}
	}
	t.Run("an import outside the allow-list is refused, naming the pool", func(t *testing.T) {
		refused(t, paula.do("POST", "/api/v1/vms/import", api.VMImport{Pool: virt.FixturePoolDefault, Volume: "cp-def.qcow2", Name: "cp-def"}), virt.FixturePoolDefault)
		if ok, _ := e.srv.d.Virt.GuestExists(ctx, "cp-def"); ok {
			t.Fatal("a refused import defined a guest")
		}
		var al api.AuditList
		admin.do("GET", "/api/v1/audit?action=vm.import", nil).decode(t, &al)
		if len(al.Items) == 0 || al.Items[0].Actor != "pooled:paula" || al.Items[0].Result == "ok" {
			t.Fatalf("audit %+v", al.Items)
		}
	})
	t.Run("an import inside the allow-list goes", func(t *testing.T) {
		r := paula.do("POST", "/api/v1/vms/import", api.VMImport{Pool: virt.FixturePoolISOs, Volume: "cp-iso.qcow2"})
		if r.status != http.StatusAccepted {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		var tk api.Task
		r.decode(t, &tk)
		if done := paula.waitTask(t, tk.ID); done.Status != store.TaskDone {
			t.Fatalf("task %+v", done)
		}
	})
	t.Run("an admin is not limited", func(t *testing.T) {
		r := admin.do("POST", "/api/v1/vms/import", api.VMImport{Pool: virt.FixturePoolDefault, Volume: "cp-def.qcow2"})
		if r.status != http.StatusAccepted {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("a template whose disk is outside the allow-list is refused", func(t *testing.T) {
		tm := api.Template{ID: 1, Name: "small", Host: "local", VCPUs: 1, MaxVCPUs: 1, MemoryMiB: 256, MaxMemoryMiB: 256,
			Firmware: "bios", Graphics: "vnc", Source: api.TemplateSource{Kind: api.SourceNone},
			Disks: []api.TemplateDisk{{Pool: virt.FixturePoolDefault, Size: 1 << 30, Bus: "virtio"}}}
		inISOs := tm
		inISOs.ID, inISOs.Disks = 2, []api.TemplateDisk{{Pool: virt.FixturePoolISOs, Size: 1 << 30, Bus: "virtio"}}
		e.srv.d.VMCreate.SetTemplates(memTemplates{1: tm, 2: inISOs})
		refused(t, paula.do("POST", "/api/v1/vms", api.VMCreate{Template: 1}), virt.FixturePoolDefault)
		if r := paula.do("POST", "/api/v1/vms", api.VMCreate{Template: 2}); r.status != http.StatusAccepted {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
}
