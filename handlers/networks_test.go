package handlers

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

const netsURL = "/api/v1/hosts/local/networks"

func TestNetworksView(t *testing.T) {
	e := newEnv(t)
	admin, auditor, alice := e.as("local", "admin"), e.as("test", "audrey"), e.as("local", "alice")
	var l api.NetworkList
	r := admin.do("GET", netsURL, nil)
	want(t, r, 200, "")
	r.decode(t, &l)
	if len(l.Items) != 2 || l.Items[0].Name != virt.FixtureNetDefault || l.Items[0].Subnet == "" || len(l.Items[0].UsedBy) == 0 {
		t.Fatalf("admin's networks %+v", l.Items)
	}
	if !slices.Equal(l.AllowedActions, []string{"network.read", "network.manage"}) {
		t.Fatalf("admin's actions %v", l.AllowedActions)
	}
	var al api.NetworkList
	r = auditor.do("GET", netsURL, nil)
	want(t, r, 200, "")
	if r.decode(t, &al); len(al.Items) != 2 || !slices.Equal(al.AllowedActions, []string{"network.read"}) {
		t.Fatalf("auditor's networks %+v", al)
	}
	want(t, auditor.do("GET", netsURL+"/default", nil), 200, "")
	want(t, auditor.do("GET", netsURL+"/default/leases", nil), 501, "leases_not_supported")
	want(t, auditor.do("POST", netsURL+"/default/stop", nil), 403, "forbidden")
	want(t, auditor.do("POST", netsURL, api.NetworkRequest{Name: "x", Kind: api.NetIsolated}), 403, "forbidden")
	want(t, auditor.do("GET", netsURL+"/free-subnet", nil), 403, "forbidden")
	want(t, auditor.do("GET", "/api/v1/hosts/local/interfaces", nil), 403, "forbidden")

	// A user sees the names of the networks their guests use, nothing more.
	var ul api.NetworkList
	r = alice.do("GET", netsURL, nil)
	want(t, r, 200, "")
	if r.decode(t, &ul); len(ul.Items) != 0 {
		t.Fatalf("a user without guests sees networks %+v", ul.Items)
	}
	guest := e.guestIn(api.StateShutoff)
	if err := e.vm.SetGrants(context.Background(), guest, []api.Grant{{Kind: "user", Realm: "local", Name: "alice", Role: rbac.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	ul = api.NetworkList{}
	alice.do("GET", netsURL, nil).decode(t, &ul)
	if len(ul.Items) != 1 {
		t.Fatalf("the user's networks %+v", ul.Items)
	}
	if n := ul.Items[0]; n.Subnet != "" || n.Kind != "" || n.Bridge != "" || len(n.UsedBy) != 0 || n.State != "" {
		t.Fatalf("a user sees more than a name: %+v", n)
	}
	want(t, alice.do("GET", netsURL+"/"+ul.Items[0].Name, nil), 404, "network_not_found")
	want(t, alice.do("GET", netsURL+"/default/leases", nil), 404, "network_not_found")
	want(t, alice.do("GET", netsURL+"/free-subnet", nil), 403, "forbidden")
	want(t, admin.do("GET", "/api/v1/hosts/elsewhere/networks/default", nil), 404, "host_not_found")
	want(t, admin.do("GET", netsURL+"/nope", nil), 404, "network_not_found")

	var ifs api.HostInterfaceList
	r = admin.do("GET", "/api/v1/hosts/local/interfaces", nil)
	want(t, r, 200, "")
	if r.decode(t, &ifs); len(ifs.Items) != 2 || ifs.Items[0].Kind != "bridge" {
		t.Fatalf("interfaces %+v", ifs.Items)
	}
}

func TestNetworkLifecycle(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	var free api.FreeSubnet
	r := admin.do("GET", netsURL+"/free-subnet", nil)
	want(t, r, 200, "")
	r.decode(t, &free)
	if free.Subnet == "" || free.Gateway == "" || free.DHCPStart == "" {
		t.Fatalf("free subnet %+v", free)
	}
	var n api.Network
	r = admin.do("POST", netsURL, api.NetworkRequest{Name: "lab", Kind: api.NetNAT, DHCP: true})
	want(t, r, 201, "")
	if r.decode(t, &n); n.Subnet != free.Subnet || n.State != api.NetActive || n.DHCPEnd != free.DHCPEnd {
		t.Fatalf("created %+v, free %+v", n, free)
	}
	if evs := e.audit(store.AuditFilter{Action: "network.create"}); len(evs) != 1 || evs[0].Target != "network:lab" || evs[0].Result != "ok" {
		t.Fatalf("audit %+v", evs)
	}
	want(t, admin.do("POST", netsURL, api.NetworkRequest{Name: "lab", Kind: api.NetIsolated}), 409, "network_exists")
	want(t, admin.do("POST", netsURL, api.NetworkRequest{Name: "lab2", Kind: api.NetNAT, Subnet: n.Subnet}), 409, "subnet_overlap")
	r = admin.do("PUT", netsURL+"/lab/autostart", api.Autostart{Autostart: true})
	want(t, r, 200, "")
	if r.decode(t, &n); !n.Autostart {
		t.Fatalf("autostart %+v", n)
	}
	want(t, admin.do("POST", netsURL+"/lab/start", nil), 409, "network_active")
	want(t, admin.do("POST", netsURL+"/lab/stop", nil), 200, "")
	want(t, admin.do("POST", netsURL+"/lab/stop", nil), 409, "network_inactive")
	want(t, admin.do("POST", netsURL+"/lab/start", nil), 200, "")
	want(t, admin.do("DELETE", netsURL+"/lab", nil), 204, "")
	want(t, admin.do("GET", netsURL+"/lab", nil), 404, "network_not_found")
	for _, a := range []string{"network.autostart", "network.stop", "network.start", "network.delete"} {
		if evs := e.audit(store.AuditFilter{Action: a, Target: "network:lab"}); len(evs) == 0 {
			t.Errorf("%s not audited", a)
		}
	}

	// The fixture's networks carry guests: stopping or deleting is refused, naming them.
	var def api.Network
	admin.do("GET", netsURL+"/default", nil).decode(t, &def)
	r = admin.do("POST", netsURL+"/default/stop", nil)
	want(t, r, 409, "network_in_use")
	if !slices.ContainsFunc(def.UsedBy, func(g string) bool { return strings.Contains(string(r.body), `"`+g+`"`) }) {
		t.Fatalf("the refusal names none of %v: %s", def.UsedBy, r.body)
	}
	r = admin.do("DELETE", netsURL+"/isolated", nil)
	want(t, r, 409, "network_in_use")
	if !strings.Contains(string(r.body), "db01") {
		t.Fatalf("the refusal does not name db01: %s", r.body)
	}
	if evs := e.audit(store.AuditFilter{Action: "network.delete", Target: "network:isolated"}); len(evs) != 1 || evs[0].Result == "ok" {
		t.Fatalf("refusal audit %+v", evs)
	}

	for _, tc := range []struct {
		name string
		req  any
		code string
	}{
		{"kind", api.NetworkRequest{Name: "x", Kind: "vxlan"}, "unknown_network_kind"},
		{"subnet", api.NetworkRequest{Name: "x", Kind: api.NetNAT, Subnet: "10.0.0.1/24"}, "invalid_subnet"},
		{"range", api.NetworkRequest{Name: "x", Kind: api.NetNAT, Subnet: "10.9.0.0/24", DHCP: true, DHCPStart: "10.9.1.2", DHCPEnd: "10.9.1.9"}, "invalid_dhcp_range"},
		{"bridge name", api.NetworkRequest{Name: "x", Kind: api.NetBridge, Bridge: "../br0"}, "invalid_interface"},
		{"vlan", api.NetworkRequest{Name: "x", Kind: api.NetNAT, VLAN: 7}, "invalid_vlan"},
		{"unknown field", `{"name":"x","kind":"nat","mtu":9000}`, ""},
		{"reserved name", api.NetworkRequest{Name: "free-subnet", Kind: api.NetNAT}, "invalid_name"},
		{"huge name", api.NetworkRequest{Name: strings.Repeat("n", 10<<10), Kind: api.NetNAT}, "invalid_name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := admin.do("POST", netsURL, tc.req)
			if r.status != 400 || (tc.code != "" && r.errCode() != tc.code) {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
	for _, name := range hostileNames {
		t.Run("hostile "+name, func(t *testing.T) {
			want(t, admin.do("POST", netsURL, api.NetworkRequest{Name: name, Kind: api.NetIsolated}), 400, "invalid_name")
			if name != ".." { // the router cleans "/.."
				want(t, admin.do("GET", netsURL+"/"+url.PathEscape(name), nil), 400, "invalid_name")
			}
		})
	}
	var l api.NetworkList
	admin.do("GET", netsURL, nil).decode(t, &l)
	if len(l.Items) != 2 {
		t.Fatalf("refused creations left networks: %+v", l.Items)
	}
}

// Parallel creations of one name make one network, never a 5xx.
func TestNetworkParallelCreates(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	statuses := make([]int, 20)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = admin.do("POST", netsURL, api.NetworkRequest{Name: "race", Kind: api.NetNAT, DHCP: true}).status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Fatalf("statuses %v", statuses)
		}
	}
	if created != 1 {
		t.Fatalf("%d creations succeeded: %v", created, statuses)
	}
	var l api.NetworkList
	admin.do("GET", netsURL, nil).decode(t, &l)
	if len(l.Items) != 3 {
		t.Fatalf("networks %+v", l.Items)
	}
}
