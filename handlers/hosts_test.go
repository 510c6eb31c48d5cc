package handlers

import (
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/virt"
)

func TestHosts(t *testing.T) {
	for _, name := range []string{"", "kvm1"} {
		t.Run("host "+name, func(t *testing.T) {
			e := newEnv(t, withOptions(func(o *Options) { o.Host = name }))
			want := name
			if want == "" {
				want = "local"
			}
			for _, who := range []struct {
				realm, user string
				uri         bool
			}{{"local", "admin", true}, {"test", "audrey", false}, {"local", "alice", false}} {
				var l api.HostList
				c := e.as(who.realm, who.user)
				c.do("GET", "/api/v1/hosts", nil).decode(t, &l)
				if len(l.Items) != 1 {
					t.Fatalf("%s sees %d hosts", who.user, len(l.Items))
				}
				h := l.Items[0]
				if h.Name != want || h.State != api.HostConnected || h.Driver != "TEST" || h.Libvirt == "" || h.Hypervisor == "" {
					t.Fatalf("%s sees %+v", who.user, h)
				}
				if (h.URI != "") != who.uri || (who.uri && !strings.HasPrefix(h.URI, "test://")) {
					t.Fatalf("%s sees URI %q", who.user, h.URI)
				}
			}
			admin := e.as("local", "admin")
			var h api.Host
			admin.do("GET", "/api/v1/hosts/"+want, nil).decode(t, &h)
			if h.Name != want || h.VMsTotal == 0 {
				t.Fatalf("host %+v", h)
			}
			other := map[bool]string{true: "local", false: "kvm1"}[want == "kvm1"]
			r := admin.do("GET", "/api/v1/hosts/"+other, nil)
			if r.status != 404 || r.errCode() != "host_not_found" {
				t.Fatalf("another host: %d %s", r.status, r.body)
			}
			admin.do("GET", "/api/v1/host", nil).decode(t, &h)
			if h.Name != want {
				t.Fatalf("/api/v1/host names %q", h.Name)
			}
			var vms api.VMList
			admin.do("GET", "/api/v1/vms", nil).decode(t, &vms)
			var d api.VMDetail
			admin.do("GET", "/api/v1/vms/"+vms.Items[0].Name, nil).decode(t, &d)
			if vms.Items[0].Host != want || d.Host != want {
				t.Fatalf("guests on host %q and %q", vms.Items[0].Host, d.Host)
			}
			// A grant is found under the host's name, whatever it is.
			guest := vms.Items[0].Name
			patch := api.AccessPatch{Add: []api.Grant{{Kind: "user", Realm: "local", Name: "op", Role: api.RoleOperator}}}
			if r := admin.do("PATCH", "/api/v1/vms/"+guest+"/access", patch); r.status != 200 {
				t.Fatalf("grant: %d %s", r.status, r.body)
			}
			op := e.as("local", "op")
			op.do("GET", "/api/v1/vms", nil).decode(t, &vms)
			if len(vms.Items) != 1 || vms.Items[0].Name != guest || vms.Items[0].Host != want || vms.Items[0].MyRole != api.RoleOperator {
				t.Fatalf("op lists %+v", vms.Items)
			}
			if r := op.do("GET", "/api/v1/vms/"+guest, nil); r.status != 200 {
				t.Fatalf("op reads its guest: %d %s", r.status, r.body)
			}
		})
	}
}

// TestHostOfManager: the server's host is its manager's; naming another
// would decide every guest by grants of a host that has none of them.
func TestHostOfManager(t *testing.T) {
	m := virt.New(virt.Config{URI: "test:///default", Host: "kvm1"})
	cases := []struct {
		name, host string
		ok         bool
	}{{"unset", "", true}, {"same", "kvm1", true}, {"other", "local", false}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Host: tc.host}, Deps{Virt: m})
			if (err == nil) != tc.ok {
				t.Fatalf("err %v", err)
			}
			if err == nil && s.opt.Host != "kvm1" {
				t.Fatalf("host %q", s.opt.Host)
			}
		})
	}
}
