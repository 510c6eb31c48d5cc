package handlers

import (
	"github.com/gin-gonic/gin"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

// BenchmarkGuestAuthorization measures what the policy check costs on
// GET /api/v1/vms/{name} at 10,000 guests and about 2,000 grants: the same
// request, same session, same chain, once checked and once with the route
// registered public, interleaved in rounds. Caller: a user whose right comes
// through a group grant, the longest path.
func BenchmarkGuestAuthorization(b *testing.B) {
	e := newEnvGuests(b, 10000)
	vms, err := e.vm.List(b.Context())
	if err != nil {
		b.Fatal(err)
	}
	grants := 0
	for _, v := range vms {
		g, _ := e.vm.Grants(v.Name)
		grants += len(g)
	}
	target := vms[len(vms)/2].Name
	if err := e.vm.SetGrants(b.Context(), target, []api.Grant{{Kind: "group", Realm: "test", Name: "crew", Role: rbac.RoleViewer}}); err != nil {
		b.Fatal(err)
	}
	bypass, err := newServer(e.srv.opt, e.srv.d, func(rs []Route) []Route {
		for i := range rs {
			if rs[i].Method == "GET" && rs[i].Path == "/api/v1/vms/:name" {
				// No check: the guest the scope would resolve, named directly.
				get, host := rs[i].Handle, e.srv.opt.Host
				rs[i].Perm, rs[i].Scope = perm("vm", "list"), Scope{} // every signed-in caller; no guest decided
				rs[i].Handle = func(c *gin.Context) error {
					c.Set(keyObject, scoped{Kind: "guest", ID: c.Param("name"), Obj: api.GuestRef{Host: host, Name: c.Param("name")}})
					return get(c)
				}
			}
		}
		return rs
	})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(bypass.Handler())
	b.Cleanup(hs.Close)
	checked := e.as("test", "gina")
	open := &client{e: &env{t: b, url: hs.URL}, http: checked.http}
	path := "/api/v1/vms/" + target
	for _, c := range []*client{checked, open} {
		if r := c.do("GET", path, nil); r.status != 200 {
			b.Fatalf("%d %s", r.status, r.body)
		}
	}
	var with, without []time.Duration
	measure := func(c *client, into *[]time.Duration) {
		t0 := time.Now()
		if r := c.do("GET", path, nil); r.status != 200 {
			b.Fatal(r.status)
		}
		*into = append(*into, time.Since(t0))
	}
	for b.Loop() {
		for range 20 {
			measure(checked, &with)
			measure(open, &without)
		}
	}
	p50 := func(d []time.Duration) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[len(s)/2].Nanoseconds()) / 1000
	}
	b.ReportMetric(p50(with), "checked-p50-µs")
	b.ReportMetric(p50(without), "bypassed-p50-µs")
	b.ReportMetric(p50(with)/p50(without), "ratio")
	b.ReportMetric(float64(grants), "grants")
	b.ReportMetric(float64(len(vms)), "guests")
}

// BenchmarkAllowedOnAtSize is the decision alone at the same size.
func BenchmarkAllowedOnAtSize(b *testing.B) {
	e := newEnvGuests(b, 10000)
	vms, _ := e.vm.List(b.Context())
	target := vms[len(vms)/2].Name
	if err := e.vm.SetGrants(b.Context(), target, []api.Grant{{Kind: "group", Realm: "test", Name: "crew", Role: rbac.RoleViewer}}); err != nil {
		b.Fatal(err)
	}
	p := rbac.Principal{Realm: "test", Name: "gina", Groups: []string{"dev", "crew"}, Roles: []string{rbac.RoleUser}}
	read := rbac.Permission{Object: "vm", Action: "read"}
	ref := e.vm.Ref(target)
	for b.Loop() {
		if ok, _ := e.srv.d.Authz.AllowedOn(p, read, ref); !ok {
			b.Fatal("denied")
		}
	}
}
