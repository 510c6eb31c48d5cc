package handlers

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// memTemplates stands in for the templates service (a fake beside it).
type memTemplates map[int64]api.Template

func (m memTemplates) Template(_ context.Context, id int64) (api.Template, error) {
	t, ok := m[id]
	if !ok {
		return api.Template{}, fault.CodeNotFound.New("template %d not found", id)
	}
	return t, nil
}

func TestCreateVM(t *testing.T) {
	e := newEnv(t)
	tm := api.Template{ID: 1, Name: "small", Host: "local", VCPUs: 1, MaxVCPUs: 2, MemoryMiB: 256, MaxMemoryMiB: 512,
		Firmware: "bios", Graphics: "vnc", Source: api.TemplateSource{Kind: api.SourceNone},
		Disks: []api.TemplateDisk{{Pool: virt.FixturePoolDefault, Size: 1 << 30, Bus: "virtio"}},
		NICs:  []api.TemplateNIC{{Network: virt.FixtureNetDefault, Model: "virtio"}}}
	broken := tm
	broken.ID, broken.Problems = 2, []api.TemplateProblem{{Field: "nics[0].network", Code: "network_not_found", Message: `network "gone" does not exist`}}
	e.srv.d.VMCreate.SetTemplates(memTemplates{1: tm, 2: broken})
	admin, alice, carl := e.as("local", "admin"), e.as("local", "alice"), e.as("test", "carl")

	t.Run("the list says who may create", func(t *testing.T) {
		for _, c := range []struct {
			who  *client
			want bool
		}{{admin, true}, {alice, false}, {carl, true}} {
			var l api.VMList
			c.who.do("GET", "/api/v1/vms", nil).decode(t, &l)
			if got := strings.Contains(strings.Join(l.AllowedActions, ","), "create"); got != c.want {
				t.Errorf("allowed_actions %v, want create: %v", l.AllowedActions, c.want)
			}
		}
	})
	t.Run("a user without vm:create is refused", func(t *testing.T) {
		if r := alice.do("POST", "/api/v1/vms", api.VMCreate{Template: 1}); r.status != http.StatusForbidden {
			t.Fatalf("got %d %s", r.status, r.body)
		}
	})
	t.Run("a creator becomes the manager of what they make", func(t *testing.T) {
		r := carl.do("POST", "/api/v1/vms", api.VMCreate{Template: 1, Start: true})
		if r.status != http.StatusAccepted {
			t.Fatalf("got %d %s", r.status, r.body)
		}
		var tk api.Task
		r.decode(t, &tk)
		if tk.Kind != "vm.create" || tk.Target != "vm:small-1" {
			t.Fatalf("task %+v", tk)
		}
		if done := carl.waitTask(t, tk.ID); done.Status != store.TaskDone || done.Result != "vm:small-1" {
			t.Fatalf("task %+v", done)
		}
		var vm api.VMDetail
		if r := carl.do("GET", "/api/v1/vms/small-1", nil); r.status != http.StatusOK {
			t.Fatalf("the creator cannot see the guest: %d %s", r.status, r.body)
		} else {
			r.decode(t, &vm)
		}
		if vm.State != "running" {
			t.Fatalf("state %q", vm.State)
		}
		var al api.AuditList
		admin.do("GET", "/api/v1/audit?action=vm.create", nil).decode(t, &al)
		if len(al.Items) == 0 || al.Items[0].Actor != "test:carl" || al.Items[0].Target != "vm:small-1" || al.Items[0].Result != "ok" {
			t.Fatalf("audit %+v", al.Items)
		}
	})
	for _, c := range []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"unusable template", api.VMCreate{Template: 2}, http.StatusConflict, "template_unusable"},
		{"unknown template", api.VMCreate{Template: 99}, http.StatusNotFound, "not_found"},
		{"name taken", api.VMCreate{Template: 1, Name: "small-1"}, http.StatusConflict, "guest_exists"},
		{"wildcard name", api.VMCreate{Template: 1, Name: "x*"}, http.StatusBadRequest, "invalid_name"},
		{"traversal name", api.VMCreate{Template: 1, Name: "../etc"}, http.StatusBadRequest, "invalid_name"},
		{"unknown field", map[string]any{"template": 1, "evil": true}, http.StatusBadRequest, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := admin.do("POST", "/api/v1/vms", c.body)
			if r.status != c.status || (c.code != "" && r.errCode() != c.code) {
				t.Fatalf("got %d %s, want %d %s", r.status, r.body, c.status, c.code)
			}
		})
	}
}
