package handlers

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// TestRoutesDocumented: a route without its summary, or a documented route
// without its response type, fails here before it reaches the reference.
func TestRoutesDocumented(t *testing.T) {
	for _, rt := range (&Server{}).routes() {
		name := rt.Method + " " + rt.Path
		if strings.TrimSpace(rt.Summary) == "" {
			t.Errorf("%s has no Summary", name)
		}
		if !documented(rt) {
			continue
		}
		st := successStatus(rt)
		if rt.Out == nil && st != http.StatusNoContent && st != http.StatusSwitchingProtocols {
			t.Errorf("%s answers %d but declares no Out type", name, st)
		}
		if rt.Out != nil && (st == http.StatusNoContent || st == http.StatusSwitchingProtocols) {
			t.Errorf("%s answers %d with no body but declares Out", name, st)
		}
	}
}

// loadAPIDoc fetches the served document and loads it as a client would.
func loadAPIDoc(t *testing.T, e *env) *openapi3.T {
	t.Helper()
	r := e.client().do("GET", "/api/v1/openapi.json", nil)
	want(t, r, 200, "")
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	doc := loadAPIDoc(t, e)
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal("the document does not validate:", err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	for _, rt := range (&Server{}).routes() {
		if !documented(rt) {
			continue
		}
		path := openAPIPath(rt.Path)
		if strings.ContainsAny(path, ":*") {
			t.Errorf("%s: Gin syntax left in %s", rt.Path, path)
		}
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s %s missing from the document", rt.Method, path)
			continue
		}
		op := item.GetOperation(rt.Method)
		wantPerm := rt.Perm.String()
		if rt.Perm.IsPublic() {
			wantPerm = "public"
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s %s is public but asks for credentials", rt.Method, path)
			}
		}
		if op.Extensions["x-permission"] != wantPerm {
			t.Errorf("%s %s: x-permission %v, want %s", rt.Method, path, op.Extensions["x-permission"], wantPerm)
		}
		if !rt.Scope.IsZero() && op.Extensions["x-scope"] != rt.Scope.String() {
			t.Errorf("%s %s: x-scope %v", rt.Method, path, op.Extensions["x-scope"])
		}
		if op.Summary != rt.Summary || op.Responses.Value("default") == nil {
			t.Errorf("%s %s: summary %q, default response %v", rt.Method, path, op.Summary, op.Responses.Value("default"))
		}
	}
	codes, _ := doc.Extensions["x-error-codes"].([]any)
	var names []string
	for _, c := range codes {
		if m, ok := c.(map[string]any); ok {
			names = append(names, m["code"].(string))
		}
	}
	for _, c := range fault.Codes() {
		if !slices.Contains(names, c.Name) {
			t.Errorf("error code %s missing from x-error-codes", c.Name)
		}
	}
	// The reference page is built from the same table, without scripts.
	r := e.client().do("GET", "/api/docs", nil)
	want(t, r, 200, "")
	for _, s := range []string{"/api/v1/vms/{name}/access", "vm:power", "guest:name", "host_not_found"} {
		if !bytes.Contains(r.body, []byte(s)) {
			t.Errorf("the reference page lacks %q", s)
		}
	}
	if bytes.Contains(r.body, []byte("<script")) {
		t.Error("the reference page carries a script")
	}
}

// TestResponsesMatchSchema checks real answers against the document.
func TestResponsesMatchSchema(t *testing.T) {
	e := newEnv(t)
	doc := loadAPIDoc(t, e)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	admin := e.as("local", "admin")
	guest := e.guestIn(api.StateShutoff)
	viewer := e.as("local", "view")
	cases := []struct {
		name   string
		c      *client
		method string
		path   string
		body   any
		status int
	}{
		{"list", admin, "GET", "/api/v1/vms", nil, 200},
		{"list, no grants", viewer, "GET", "/api/v1/vms", nil, 200},
		{"detail", admin, "GET", "/api/v1/vms/" + guest, nil, 200},
		{"session", admin, "GET", "/api/v1/session", nil, 200},
		{"realms", admin, "GET", "/api/v1/realms", nil, 200},
		{"host", admin, "GET", "/api/v1/hosts/local", nil, 200},
		{"hosts", admin, "GET", "/api/v1/hosts", nil, 200},
		{"hosts, a tenant", viewer, "GET", "/api/v1/hosts", nil, 200},
		{"missing host", admin, "GET", "/api/v1/hosts/elsewhere", nil, 404},
		{"access", admin, "GET", "/api/v1/vms/" + guest + "/access", nil, 200},
		{"audit", admin, "GET", "/api/v1/audit", nil, 200},
		{"start", admin, "POST", "/api/v1/vms/" + guest + "/start", nil, 200},
		{"hidden guest", viewer, "GET", "/api/v1/vms/" + guest, nil, 404},
		{"invalid name", admin, "GET", "/api/v1/vms/bad*name", nil, 400},
		{"bad patch", admin, "PATCH", "/api/v1/vms/" + guest + "/access", api.AccessPatch{}, 400},
		{"no session", e.client(), "GET", "/api/v1/session", nil, 401},
		{"pools", admin, "GET", "/api/v1/hosts/local/pools", nil, 200},
		{"pool", admin, "GET", "/api/v1/hosts/local/pools/default", nil, 200},
		{"missing pool", admin, "GET", "/api/v1/hosts/local/pools/nope", nil, 404},
		{"volumes", admin, "GET", "/api/v1/hosts/local/pools/default/volumes", nil, 200},
		{"volume", admin, "GET", "/api/v1/hosts/local/pools/default/volumes/" + guest + ".qcow2", nil, 200},
		{"create volume", admin, "POST", "/api/v1/hosts/local/pools/default/volumes", api.VolumeRequest{Name: "new.qcow2", Capacity: 1 << 20}, 202},
		{"volume in use", admin, "DELETE", "/api/v1/hosts/local/pools/default/volumes/" + guest + ".qcow2", nil, 409},
		{"bad volume name", admin, "POST", "/api/v1/hosts/local/pools/default/volumes", api.VolumeRequest{Name: "../x", Capacity: 1}, 400},
		{"refresh pool", admin, "POST", "/api/v1/hosts/local/pools/default/refresh", nil, 200},
		{"iso library", admin, "GET", "/api/v1/hosts/local/isos", nil, 200},
		{"volume os, test driver", admin, "GET", "/api/v1/hosts/local/pools/isos/volumes/debian-12.8.0-amd64-netinst.iso/os", nil, 501},
		{"volume os, missing", admin, "GET", "/api/v1/hosts/local/pools/isos/volumes/nope.iso/os", nil, 404},
		{"networks", admin, "GET", "/api/v1/hosts/local/networks", nil, 200},
		{"networks, a tenant", viewer, "GET", "/api/v1/hosts/local/networks", nil, 200},
		{"network", admin, "GET", "/api/v1/hosts/local/networks/default", nil, 200},
		{"missing network", admin, "GET", "/api/v1/hosts/local/networks/nope", nil, 404},
		{"free subnet", admin, "GET", "/api/v1/hosts/local/networks/free-subnet", nil, 200},
		{"create network", admin, "POST", "/api/v1/hosts/local/networks", api.NetworkRequest{Name: "oapi", Kind: api.NetIsolated}, 201},
		{"bad network name", admin, "POST", "/api/v1/hosts/local/networks", api.NetworkRequest{Name: "../x", Kind: api.NetNAT}, 400},
		{"network in use", admin, "POST", "/api/v1/hosts/local/networks/default/stop", nil, 409},
		{"stop network", admin, "POST", "/api/v1/hosts/local/networks/oapi/stop", nil, 200},
		{"network autostart", admin, "PUT", "/api/v1/hosts/local/networks/oapi/autostart", api.Autostart{Autostart: true}, 200},
		{"leases", admin, "GET", "/api/v1/hosts/local/networks/default/leases", nil, 501},
		{"delete network", admin, "DELETE", "/api/v1/hosts/local/networks/oapi", nil, 204},
		{"interfaces", admin, "GET", "/api/v1/hosts/local/interfaces", nil, 200},
	}
	validate := func(method, path string, r resp) error {
		req, _ := http.NewRequest(method, path, nil)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatal("no operation for the request:", err)
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 r.status,
			Header:                 r.header,
			Body:                   io.NopCloser(bytes.NewReader(r.body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		return openapi3filter.ValidateResponse(context.Background(), in)
	}
	// The check bites: a list whose items are not guests is refused.
	bad := resp{status: 200, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"items":[{"name":1}],"total":1}`)}
	if validate("GET", "/api/v1/vms", bad) == nil {
		t.Fatal("a malformed list passed the schema")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.c.do(tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tc.status)
			}
			if err := validate(tc.method, tc.path, r); err != nil {
				t.Fatalf("%s %s answered outside its schema: %v", tc.method, tc.path, err)
			}
		})
	}
}
