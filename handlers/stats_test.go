package handlers

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/virt"
)

// TestVersion: the build for everyone, libvirt's and QEMU's versions only
// with a session.
func TestVersion(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Version = "1.2.3"; o.Commit = "abc123" }))
	var v api.Version
	e.client().do("GET", "/api/v1/version", nil).decode(t, &v)
	if v != (api.Version{Version: "1.2.3", Commit: "abc123", API: "1"}) {
		t.Fatalf("anonymous: %+v", v)
	}
	e.as("local", "alice").do("GET", "/api/v1/version", nil).decode(t, &v)
	if v.Libvirt == "" || v.QEMU == "" {
		t.Fatalf("signed in: %+v", v)
	}
}

// TestHostFactsRoute: GET /api/v1/hosts/{host} carries the facts.
func TestHostFactsRoute(t *testing.T) {
	e := newEnv(t)
	var h api.Host
	e.as("local", "admin").do("GET", "/api/v1/hosts/local", nil).decode(t, &h)
	if h.OS == "" || h.Kernel == "" || h.MemoryBytes == 0 || len(h.Architectures) == 0 || h.Graphics == nil || h.MaxVCPUs == 0 {
		t.Fatalf("facts %+v", h.HostFacts)
	}
}

// TestStatsRoutes: a guest's samples through now and history; bad queries
// are 422 naming the field; the test server samples no host.
func TestStatsRoutes(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	var vms api.VMList
	admin.do("GET", "/api/v1/vms", nil).decode(t, &vms)
	name := vms.Items[0].Name
	id, ok := e.vm.UUIDOf(name)
	if !ok || id == "" {
		t.Fatalf("no UUID for %s", name)
	}
	now := time.Now()
	for i := range 5 {
		e.srv.d.Stats.RecordGuests(now.Add(time.Duration(i-4)*time.Second), []virt.GuestRate{{UUID: id, Name: name, CPUPercent: float64(10 * i), MemPercent: 40}})
	}
	var n api.StatsNow
	admin.do("GET", "/api/v1/vms/"+name+"/stats", nil).decode(t, &n)
	if !n.Available || n.CPUPercent != 40 || n.MemPercent != 40 {
		t.Fatalf("now %+v", n)
	}
	var h api.StatsHistory
	admin.do("GET", "/api/v1/vms/"+name+"/stats/history?step=1s", nil).decode(t, &h)
	if h.Step != 1 || len(h.T) != 5 || h.Series["cpu_percent"].Mean[4] != 40 {
		t.Fatalf("history %+v", h)
	}
	admin.do("GET", "/api/v1/hosts/local/stats", nil).decode(t, &n)
	if n.Available {
		t.Fatalf("host sampled in a test server: %+v", n)
	}
	for _, tc := range []struct{ query, field, code string }{
		{"from=soon", "from", "stats_bad_query"},
		{"to=x", "to", "stats_bad_query"},
		{"step=7s", "step", "stats_bad_query"},
		{"from=0&step=60", "step", "stats_too_many_points"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			for _, p := range []string{"/api/v1/hosts/local/stats/history?", "/api/v1/vms/" + name + "/stats/history?"} {
				r := admin.do("GET", p+tc.query, nil)
				var body struct {
					Error struct {
						Code    string `json:"code"`
						Details []struct {
							Field string `json:"field"`
						} `json:"details"`
					} `json:"error"`
				}
				_ = json.Unmarshal(r.body, &body)
				if r.status != 422 || body.Error.Code != tc.code || len(body.Error.Details) != 1 || body.Error.Details[0].Field != tc.field {
					t.Fatalf("%s: %d %s", p, r.status, r.body)
				}
			}
		})
	}
}
