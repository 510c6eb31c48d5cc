package handlers

import (
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
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
		})
	}
}
