package storage

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// slowClone is the test driver's host whose clone, once libvirt's copy
// is made, waits for release: libvirt's copy cannot be interrupted, and
// the task must cope with a cancel that arrives meanwhile.
type slowClone struct {
	*virt.Manager
	started, release chan struct{}
}

func (s slowClone) CloneVolume(ctx context.Context, req virt.CloneRequest, progress func(uint64)) (api.Volume, error) {
	v, err := s.Manager.CloneVolume(ctx, req, progress)
	close(s.started)
	<-s.release
	return v, err
}

func TestCloneTask(t *testing.T) {
	e := newEnv(t)
	ops := NewOps(e.R, e.s, "local", e.M, OpsOptions{})
	ctx := context.Background()
	vols, err := e.M.ListVolumes(ctx, virt.FixturePoolDefault)
	if err != nil {
		t.Fatal(err)
	}
	src := vols[0]
	in, err := ops.SubmitClone(ctx, "local:admin", virt.FixturePoolDefault, src.Name, api.VolumeClone{Name: "copy.img"})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Wait(in.ID)
	if got.Status != store.TaskDone || got.Result != "volume:default/copy.img" || got.Progress != 100 {
		t.Fatalf("task %+v", got)
	}
	if !e.exists(virt.FixturePoolDefault, "copy.img") {
		t.Fatal("no copy")
	}
	if recs, err := e.St.TaskResources(ctx, in.ID); err != nil || len(recs) != 0 {
		t.Fatalf("records left after success: %+v %v", recs, err)
	}
	// Refusals are immediate and make no task.
	for _, c := range []struct {
		name string
		req  api.VolumeClone
		code fault.Code
	}{
		{"exists", api.VolumeClone{Name: "copy.img"}, virt.CodeVolumeExists},
		{"hostile", api.VolumeClone{Name: "../x"}, virt.CodeInvalidName},
		{"no pool", api.VolumeClone{Name: "x", Pool: "nope"}, virt.CodePoolNotFound},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := ops.SubmitClone(ctx, "local:admin", virt.FixturePoolDefault, src.Name, c.req); !fault.Is(err, c.code) {
				t.Fatalf("got %v, want %s", err, c.code.Name)
			}
		})
	}
	if list, _ := e.St.ListTasks(ctx, store.TaskFilter{}); len(list) != 1 {
		t.Fatalf("refusals made tasks: %+v", list)
	}
}

// A cancel while libvirt copies ends the task cancelled once the copy is
// made, and the copy is deleted.
func TestCloneCancelledDeletesCopy(t *testing.T) {
	e := newEnv(t)
	h := slowClone{Manager: e.M, started: make(chan struct{}), release: make(chan struct{})}
	ops := NewOps(e.R, e.s, "local", h, OpsOptions{})
	ctx := context.Background()
	vols, err := e.M.ListVolumes(ctx, virt.FixturePoolDefault)
	if err != nil {
		t.Fatal(err)
	}
	in, err := ops.SubmitClone(ctx, "local:admin", virt.FixturePoolDefault, vols[0].Name, api.VolumeClone{Name: "doomed.img"})
	if err != nil {
		t.Fatal(err)
	}
	<-h.started
	if _, err := e.R.Cancel(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	close(h.release)
	if got := e.Wait(in.ID); got.Status != store.TaskCancelled {
		t.Fatalf("task %+v", got)
	}
	if e.exists(virt.FixturePoolDefault, "doomed.img") {
		t.Fatal("the cancelled clone left its copy")
	}
}

func TestCopySweepRemovesVolume(t *testing.T) {
	e := newEnv(t)
	NewOps(e.R, e.s, "local", e.M, OpsOptions{})
	ctx := context.Background()
	if _, err := e.M.CreateVolume(ctx, virt.FixturePoolDefault, api.VolumeRequest{Name: "half.img", Capacity: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	tk, err := e.St.CreateTask(ctx, store.Task{Kind: KindCloneVolume, Owner: "local:admin", Host: "local", Status: store.TaskRunning})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.St.AddTaskResource(ctx, store.TaskResource{TaskID: tk.ID, Kind: ResourceVolumeCopy, Host: "local", Ident: "default/half.img"}); err != nil {
		t.Fatal(err)
	}
	if err := e.R.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if e.exists(virt.FixturePoolDefault, "half.img") {
		t.Fatal("the sweep left the partial copy")
	}
}

func TestURLGuardAddresses(t *testing.T) {
	g := urlGuard{allow: []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}}
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"93.184.216.34", true},
		{"2606:2800:220:1:248:1893:25c8:1946", true},
		{"10.9.1.2", true}, // allowed by configuration
		{"10.1.2.3", false},
		{"127.0.0.1", false},
		{"127.8.8.8", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.9.1.2", true},
		{"0.0.0.0", false},
		{"::", false},
		{"169.254.169.254", false},
		{"fe80::1", false},
		{"fc00::1", false},
		{"192.168.1.1", false},
		{"172.16.0.1", false},
		{"100.64.0.1", false},
		{"224.0.0.1", false},
		{"ff02::1", false},
		{"255.255.255.255", false},
		{"64:ff9b::7f00:1", false},
	} {
		t.Run(c.addr, func(t *testing.T) {
			err := g.checkAddr(netip.MustParseAddr(c.addr))
			if (err == nil) != c.ok || (err != nil && !fault.Is(err, CodeURLAddressRefused)) {
				t.Fatalf("got %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestURLGuardURLs(t *testing.T) {
	g := urlGuard{}
	for _, c := range []struct {
		url  string
		code *fault.Code
	}{
		{"https://example.org/x.iso", nil},
		{"http://example.org:8080/x.iso?a=b", nil},
		{"file:///etc/passwd", &CodeURLScheme},
		{"gopher://example.org/", &CodeURLScheme},
		{"ftp://example.org/x", &CodeURLScheme},
		{"http:///x", &CodeURLInvalid},
		{"//example.org/x", &CodeURLInvalid},
		{"http://user:pw@example.org/", &CodeURLInvalid},
		{"http://127.0.0.1/", &CodeURLAddressRefused},
		{"http://[::1]:8080/", &CodeURLAddressRefused},
		{"http://[fe80::1%25eth0]/", &CodeURLAddressRefused},
	} {
		t.Run(c.url, func(t *testing.T) {
			_, err := g.parseURL(c.url)
			if c.code == nil && err != nil || c.code != nil && !fault.Is(err, *c.code) {
				t.Fatalf("got %v, want %v", err, c.code)
			}
		})
	}
}

// The client refuses at dial time, after DNS: a name that resolves to
// loopback is refused even when no check ran before.
func TestURLGuardDialTime(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("secret")) }))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	_, err := urlGuard{}.client().Get("http://localhost:" + u.Port() + "/")
	if !fault.Is(fetchError(err), CodeURLAddressRefused) {
		t.Fatalf("dialled loopback by name: %v", err)
	}
	allowed := urlGuard{allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	res, err := allowed.client().Get("http://localhost:" + u.Port() + "/")
	if err != nil {
		t.Fatalf("an allowed network refused: %v", err)
	}
	res.Body.Close()
}
