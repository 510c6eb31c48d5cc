package handlers

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

// callers of the matrix, in column order.
var matrixCallers = []string{"admin", "auditor", "manager", "operator", "viewer", "group", "nogrant", "anon"}

// matrix says, per route, what each caller gets: A allowed (the request
// passes authorization, whatever the handler then answers), F 403, H 404
// (the guest is hidden), U 401. Every route of the table needs a row.
var matrix = map[string]string{
	"GET /healthz":                     "AAAAAAAA",
	"GET /readyz":                      "AAAAAAAA",
	"GET /static/*file":                "AAAAAAAA",
	"GET /api/v1/realms":               "AAAAAAAA",
	"POST /api/v1/session":             "AAAAAAAA",
	"GET /api/v1/session":              "AAAAAAAU",
	"DELETE /api/v1/session":           "AAAAAAAU",
	"GET /api/v1/host":                 "AAFFFFFU",
	"GET /api/v1/audit":                "AAFFFFFU",
	"GET /api/v1/directory/users":      "AFFFFFFU",
	"GET /api/v1/directory/groups":     "AFFFFFFU",
	"GET /api/v1/vms":                  "AAAAAAAU",
	"GET /api/v1/vms/:name":            "AAAAAAHU",
	"DELETE /api/v1/vms/:name":         "AFFFFFHU",
	"GET /api/v1/vms/:name/access":     "AAFFFFHU",
	"PUT /api/v1/vms/:name/access":     "AFFFFFHU",
	"PATCH /api/v1/vms/:name/access":   "AFFFFFHU",
	"GET /api/v1/vms/:name/screenshot": "AAAAAAHU",
	"POST /api/v1/vms/:name/console":   "AFAAFAHU",
	"GET /api/v1/console/ws":           "AAAAAAAU",
	"POST /api/v1/vms/:name/start":     "AFAAFAHU",
	"POST /api/v1/vms/:name/shutdown":  "AFAAFAHU",
	"POST /api/v1/vms/:name/poweroff":  "AFAAFAHU",
	"POST /api/v1/vms/:name/reboot":    "AFAAFAHU",
	"POST /api/v1/vms/:name/reset":     "AFAAFAHU",
	"POST /api/v1/vms/:name/suspend":   "AFAAFAHU",
	"POST /api/v1/vms/:name/resume":    "AFAAFAHU",
	"GET /":                            "AAAAAAAA",
	"GET /login":                       "AAAAAAAA",
	"GET /guests":                      "AAAAAAAA",
	"GET /guests/:name":                "AAAAAAAA",
	"GET /templates":                   "AAAAAAAA",
	"GET /storage":                     "AAAAAAAA",
	"GET /networks":                    "AAAAAAAA",
	"GET /host":                        "AAAAAAAA",
	"GET /audit":                       "AAAAAAAA",
	"GET /account":                     "AAAAAAAA", // ui: the Account page
}

func TestAuthorizationMatrix(t *testing.T) {
	e := newEnv(t)
	target := e.guestIn(api.StateShutoff)
	err := e.vm.SetGrants(context.Background(), target, []api.Grant{
		{Kind: "user", Realm: "local", Name: "mgr", Role: rbac.RoleManager},
		{Kind: "user", Realm: "local", Name: "op", Role: rbac.RoleOperator},
		{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer},
		{Kind: "group", Realm: "test", Name: "crew", Role: rbac.RoleOperator},
	})
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*client{
		"admin": e.as("local", "admin"), "auditor": e.as("test", "audrey"), "manager": e.as("local", "mgr"),
		"operator": e.as("local", "op"), "viewer": e.as("local", "view"), "group": e.as("test", "gina"),
		"nogrant": e.as("local", "alice"), "anon": e.client(),
	}
	routes := (&Server{}).routes()
	for _, rt := range routes {
		if _, ok := matrix[rt.Method+" "+rt.Path]; !ok {
			t.Errorf("route %s %s has no row in the authorization matrix", rt.Method, rt.Path)
		}
	}
	if len(matrix) != len(routes) {
		t.Errorf("the matrix has %d rows for %d routes", len(matrix), len(routes))
	}
	// Requests that end something run last: deleting the guest, then logging out.
	last := map[string]int{"DELETE /api/v1/vms/:name": 1, "DELETE /api/v1/session": 2}
	slices.SortStableFunc(routes, func(a, b Route) int { return last[a.Method+" "+a.Path] - last[b.Method+" "+b.Path] })
	order := []int{7, 6, 5, 4, 3, 2, 1, 0} // admin last: its requests change the most
	for _, rt := range routes {
		row := matrix[rt.Method+" "+rt.Path]
		path := strings.NewReplacer(":name", target, "*file", "app.js").Replace(rt.Path)
		for _, i := range order {
			who, want := matrixCallers[i], row[i]
			t.Run(rt.Method+" "+rt.Path+"/"+who, func(t *testing.T) {
				r := clients[who].do(rt.Method, path, nil)
				got := byte('A')
				switch r.status {
				case http.StatusUnauthorized:
					got = 'U'
				case http.StatusForbidden:
					got = 'F'
				case http.StatusNotFound:
					got = 'H'
				}
				if got != want {
					t.Fatalf("%s got %d %s, want %c", who, r.status, r.body, want)
				}
			})
		}
	}
}

func TestListsFilterByGrant(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vms, _ := e.vm.List(ctx)
	a, b := vms[0].Name, vms[1].Name
	if err := e.vm.SetGrants(ctx, a, []api.Grant{{Kind: "user", Realm: "local", Name: "view", Role: rbac.RoleViewer}}); err != nil {
		t.Fatal(err)
	}
	if err := e.vm.SetGrants(ctx, b, []api.Grant{{Kind: "group", Realm: "test", Name: "crew", Role: rbac.RoleManager}}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		realm, user string
		want        []string
	}{
		{"local", "view", []string{a}},
		{"test", "gina", []string{b}},
		{"local", "alice", nil},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			var l api.VMList
			e.as(tc.realm, tc.user).do("GET", "/api/v1/vms", nil).decode(t, &l)
			var got []string
			for _, v := range l.Items {
				got = append(got, v.Name)
			}
			if !slices.Equal(got, tc.want) || l.Total != len(tc.want) {
				t.Fatalf("sees %v (total %d), want %v", got, l.Total, tc.want)
			}
			for _, v := range l.Items {
				if want := map[string]string{"view": "viewer", "gina": "manager"}[tc.user]; v.MyRole != want {
					t.Fatalf("%s's role on %s is %q, want %q", tc.user, v.Name, v.MyRole, want)
				}
			}
		})
	}
	// Host paths are for admins and auditors; a tenant sees pool and volume names.
	for who, full := range map[string]bool{"view": false, "admin": true} {
		var d api.VMDetail
		e.as("local", who).do("GET", "/api/v1/vms/"+a, nil).decode(t, &d)
		if len(d.Devices.Disks) == 0 {
			t.Fatalf("%s has no disks to check", a)
		}
		for _, disk := range d.Devices.Disks {
			if strings.Contains(disk.Source, "/") != full {
				t.Fatalf("%s sees disk source %q", who, disk.Source)
			}
		}
	}
	// A revoke holds on the very next request of a session that is already open.
	viewer := e.as("local", "view")
	want(t, viewer.do("GET", "/api/v1/vms/"+a, nil), 200, "")
	admin := e.as("local", "admin")
	want(t, admin.do("PATCH", "/api/v1/vms/"+a+"/access", api.AccessPatch{Remove: []api.Grant{{Kind: "user", Realm: "local", Name: "view"}}}), 200, "")
	want(t, viewer.do("GET", "/api/v1/vms/"+a, nil), 404, "not_found")
}
