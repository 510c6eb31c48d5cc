package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/policy"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
	"github.com/virtportal/virtportal/virt/osinfo"
)

const testSSHKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq3Pp0Bp4aD8m5q3c0q3s1Z0Xo3Qm0u3c7yJq0X0J0b alice@example"

// cloudTemplate is a valid template on the fixture host.
func cloudTemplate(name string) api.Template {
	return api.Template{Name: name, Description: "Debian 12 cloud image", OS: api.TemplateOS{ID: "http://debian.org/debian/12", ShortID: "debian12"},
		VCPUs: 2, MaxVCPUs: 4, Topology: &api.Topology{Sockets: 2, Cores: 2, Threads: 1}, MemoryMiB: 2048, MaxMemoryMiB: 4096,
		Firmware: "bios", Source: api.TemplateSource{Kind: api.SourceCloudImage, Pool: virt.FixturePoolDefault, Volume: virt.DemoCloudImage, Linked: true},
		Disks: []api.TemplateDisk{{Pool: virt.FixturePoolDefault, Size: 20 << 30, Bus: "virtio"}},
		NICs:  []api.TemplateNIC{{Network: virt.FixtureNetDefault, Model: "virtio"}}, Graphics: "vnc",
		CloudInit: &api.CloudInit{User: "debian", SSHKeys: []string{testSSHKey}, HostnamePattern: "{name}"}}
}

func (e *env) templateCount() int {
	e.t.Helper()
	ts, err := e.st.ListTemplates(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	return len(ts)
}

func TestTemplatesCRUD(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	r := admin.do("POST", "/api/v1/templates", cloudTemplate("debian cloud"))
	want(t, r, 201, "")
	var tp api.Template
	r.decode(t, &tp)
	if tp.ID == 0 || tp.Host != "local" || len(tp.Problems) != 0 || tp.Disks[0].Format != "qcow2" || tp.OS.Arch != "x86_64" {
		t.Fatalf("created %+v", tp)
	}
	id := fmt.Sprint(tp.ID)
	var list api.TemplateList
	admin.do("GET", "/api/v1/templates", nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].Name != "debian cloud" || len(list.AllowedActions) == 0 {
		t.Fatalf("list %+v", list)
	}
	up := cloudTemplate("debian cloud")
	up.VCPUs = 4
	r = admin.do("PUT", "/api/v1/templates/"+id, up)
	want(t, r, 200, "")
	var got api.Template
	admin.do("GET", "/api/v1/templates/"+id, nil).decode(t, &got)
	if got.VCPUs != 4 || !got.Created.Equal(tp.Created) {
		t.Fatalf("updated %+v", got)
	}
	for _, name := range []string{"debian cloud-copy", "debian cloud-copy-2"} {
		r = admin.do("POST", "/api/v1/templates/"+id+"/copy", nil)
		want(t, r, 201, "")
		var c api.Template
		r.decode(t, &c)
		if c.Name != name || c.ID == tp.ID || c.VCPUs != 4 {
			t.Fatalf("copy %+v", c)
		}
	}
	want(t, admin.do("POST", "/api/v1/templates/"+id+"/copy", api.TemplateCopy{Name: "debian cloud"}), 409, "template_exists")
	want(t, admin.do("POST", "/api/v1/templates/"+id+"/copy", api.TemplateCopy{Name: "../x"}), 400, "invalid_template")
	want(t, admin.do("POST", "/api/v1/templates", cloudTemplate("debian cloud")), 409, "template_exists")
	want(t, admin.do("DELETE", "/api/v1/templates/"+id, nil), 204, "")
	want(t, admin.do("GET", "/api/v1/templates/"+id, nil), 404, "template_not_found")
	want(t, admin.do("GET", "/api/v1/templates/abc", nil), 400, "invalid_name")
	for _, a := range []string{"template.create", "template.update", "template.copy", "template.delete"} {
		if len(e.audit(store.AuditFilter{Action: a, Result: "ok"})) == 0 {
			t.Errorf("no audit event %s", a)
		}
	}
	if ev := e.audit(store.AuditFilter{Action: "template.delete"}); len(ev) != 1 || ev[0].Target != "template:"+id {
		t.Errorf("delete audit %+v", ev)
	}
}

func TestTemplatesHostileInput(t *testing.T) {
	// alice may manage templates here, so the admin-only rules show.
	e := newEnv(t, withPolicy(policy.Policy+"\np, user, template, manage\np, user, template, read\n"))
	alice := e.as("local", "alice")
	cases := []struct {
		name   string
		change func(*api.Template)
		raw    string
		status int
		code   string
		field  string
	}{
		{"dotdot name", func(t *api.Template) { t.Name = "../../etc/passwd" }, "", 400, "invalid_template", "name"},
		{"star name", func(t *api.Template) { t.Name = "*" }, "", 400, "invalid_template", "name"},
		{"dotdot pool", func(t *api.Template) { t.Disks[0].Pool = "../default" }, "", 400, "invalid_template", "disks[0].pool"},
		{"dotdot volume", func(t *api.Template) { t.Source.Volume = "../../etc/shadow" }, "", 400, "invalid_template", "source.volume"},
		{"bad topology", func(t *api.Template) { t.Topology = &api.Topology{Sockets: 3, Cores: 1, Threads: 1} }, "", 400, "invalid_template", "topology"},
		{"vcpus over max", func(t *api.Template) { t.VCPUs = 9 }, "", 400, "invalid_template", "max_vcpus"},
		{"memory over max", func(t *api.Template) { t.MemoryMiB = 8192 }, "", 400, "invalid_template", "max_memory_mib"},
		{"listen for non-admin", func(t *api.Template) { t.Listen = "0.0.0.0" }, "", 400, "invalid_template", "graphics_listen"},
		{"plain password", func(t *api.Template) { t.CloudInit.PasswordHash = "hunter2" }, "", 400, "invalid_template", "cloud_init.password_hash"},
		{"not a key", func(t *api.Template) { t.CloudInit.SSHKeys = []string{"rm -rf /"} }, "", 400, "invalid_template", "cloud_init.ssh_keys[0]"},
		{"big description", func(t *api.Template) { t.Description = strings.Repeat("x", 20000) }, "", 400, "invalid_template", "description"},
		{"10 MB field", func(t *api.Template) { t.Description = strings.Repeat("x", 10<<20) }, "", 413, "too_large", ""},
		{"unknown field", nil, `{"name":"x","evil":true}`, 400, "bad_request", ""},
		{"case-variant key", nil, `{"name":"x","NAME":"y"}`, 400, "duplicate_key", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any = tc.raw
			if tc.change != nil {
				tp := cloudTemplate("hostile")
				tc.change(&tp)
				body = tp
			}
			r := alice.do("POST", "/api/v1/templates", body)
			want(t, r, tc.status, tc.code)
			if tc.field != "" {
				var eb api.ErrorBody
				r.decode(t, &eb)
				found := false
				for _, d := range eb.Error.Details {
					found = found || d.Field == tc.field
				}
				if !found {
					t.Fatalf("details %s name no %q", r.body, tc.field)
				}
			}
			if n := e.templateCount(); n != 0 {
				t.Fatalf("%d templates stored", n)
			}
		})
	}
	// An update refused leaves the template as it was.
	admin := e.as("local", "admin")
	tp := cloudTemplate("ok")
	tp.Listen = "0.0.0.0"
	r := admin.do("POST", "/api/v1/templates", tp)
	want(t, r, 201, "")
	var made api.Template
	r.decode(t, &made)
	bad := cloudTemplate("ok")
	bad.Topology = &api.Topology{Sockets: 1, Cores: 1, Threads: 1}
	want(t, alice.do("PUT", fmt.Sprintf("/api/v1/templates/%d", made.ID), bad), 400, "invalid_template")
	// alice may keep the administrator's address, not set another.
	keep := cloudTemplate("ok")
	keep.Listen, keep.VCPUs = "0.0.0.0", 3
	want(t, alice.do("PUT", fmt.Sprintf("/api/v1/templates/%d", made.ID), keep), 200, "")
	keep.Listen = "192.0.2.1"
	want(t, alice.do("PUT", fmt.Sprintf("/api/v1/templates/%d", made.ID), keep), 400, "invalid_template")
	got, err := e.st.Template(context.Background(), made.ID)
	if err != nil || got.Listen != "0.0.0.0" || got.VCPUs != 3 || got.Topology.Sockets != 2 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestTemplatesPermissions(t *testing.T) {
	e := newEnv(t)
	admin, auditor, alice := e.as("local", "admin"), e.as("test", "audrey"), e.as("local", "alice")
	r := admin.do("POST", "/api/v1/templates", cloudTemplate("perm"))
	want(t, r, 201, "")
	var tp api.Template
	r.decode(t, &tp)
	path := fmt.Sprintf("/api/v1/templates/%d", tp.ID)
	want(t, auditor.do("GET", "/api/v1/templates", nil), 200, "")
	want(t, auditor.do("GET", path, nil), 200, "")
	want(t, auditor.do("DELETE", path, nil), 403, "forbidden")
	want(t, auditor.do("POST", "/api/v1/templates", cloudTemplate("x")), 403, "forbidden")
	want(t, alice.do("GET", "/api/v1/templates", nil), 403, "forbidden")
	want(t, alice.do("GET", path, nil), 404, "template_not_found")
	want(t, alice.do("DELETE", path, nil), 404, "template_not_found")
	want(t, e.client().do("GET", "/api/v1/templates", nil), 401, "unauthorized")
	if e.templateCount() != 1 {
		t.Fatal("a refused request changed templates")
	}
}

func TestTemplateProblems(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	want(t, admin.do("POST", "/api/v1/hosts/local/networks", api.NetworkRequest{Name: "tp-net", Kind: "isolated"}), 201, "")
	tp := cloudTemplate("doomed")
	tp.Source.Volume = "scratch.img"
	tp.NICs = append(tp.NICs, api.TemplateNIC{Network: "tp-net"})
	r := admin.do("POST", "/api/v1/templates", tp)
	want(t, r, 201, "")
	var made api.Template
	r.decode(t, &made)
	if len(made.Problems) != 0 {
		t.Fatalf("problems at birth: %+v", made.Problems)
	}
	want(t, admin.do("DELETE", "/api/v1/hosts/local/networks/tp-net", nil), 204, "")
	if err := e.vm.DeletePoolVolume(context.Background(), virt.FixturePoolDefault, "scratch.img"); err != nil {
		t.Fatal(err)
	}
	var list api.TemplateList
	admin.do("GET", "/api/v1/templates", nil).decode(t, &list)
	got := map[string]string{}
	for _, p := range list.Items[0].Problems {
		got[p.Field] = p.Code
	}
	wantP := map[string]string{"nics[1].network": "network_not_found", "source.volume": "volume_not_found"}
	if fmt.Sprint(got) != fmt.Sprint(wantP) {
		t.Fatalf("problems %+v, want %v", list.Items[0].Problems, wantP)
	}
}

func TestOSDefaultsAndSearch(t *testing.T) {
	db, err := osinfo.Load(osinfo.DefaultPath)
	if err != nil {
		t.Fatalf("the osinfo database is needed (Debian package osinfo-db): %v", err)
	}
	e := newEnv(t, func(c *envConfig) { c.osinfo = db })
	admin := e.as("local", "admin")
	cases := []struct {
		os, bus, nic, fw string
		known, secure    bool
	}{
		{"debian12", "virtio", "virtio", "bios", true, false},
		{"win11", "sata", "e1000e", "uefi", true, true},
		{"nothing-known", "sata", "e1000e", "bios", false, false},
		{"", "sata", "e1000e", "bios", false, false},
	}
	for _, tc := range cases {
		t.Run(tc.os, func(t *testing.T) {
			var d api.OSDefaults
			r := admin.do("GET", "/api/v1/hosts/local/os-defaults?os="+tc.os, nil)
			want(t, r, 200, "")
			r.decode(t, &d)
			if d.DiskBus != tc.bus || d.NICModel != tc.nic || d.Firmware != tc.fw || d.Known != tc.known || d.SecureBoot != tc.secure ||
				d.Host == nil || !d.Host.UEFI || d.Host.MaxVCPUs < 1 || d.Host.ThreadsPerCore < 1 || d.MemoryMiB == 0 {
				t.Fatalf("%+v host %+v", d, d.Host)
			}
		})
	}
	want(t, admin.do("GET", "/api/v1/hosts/elsewhere/os-defaults?os=win11", nil), 404, "host_not_found")
	var l api.OSList
	admin.do("GET", "/api/v1/os?q=debian1", nil).decode(t, &l)
	if len(l.Items) == 0 || len(l.Items) > 20 || !strings.HasPrefix(l.Items[0].ShortID, "debian1") {
		t.Fatalf("%+v", l)
	}
	want(t, admin.do("GET", "/api/v1/os?q="+strings.Repeat("x", 100), nil), 400, "bad_request")
	b, _ := json.Marshal(l)
	if strings.Contains(string(b), "/usr/share") {
		t.Fatal("paths leak")
	}
}

// 100 parallel creations of one name store one template; the others are
// told the name is taken.
func TestTemplatesParallelCreate(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	const n = 100
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes <- admin.do("POST", "/api/v1/templates", cloudTemplate("racer")).status
		}()
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[201] != 1 || count[409] != n-1 || e.templateCount() != 1 {
		t.Fatalf("statuses %v, %d stored", count, e.templateCount())
	}
}
