package handlers

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/store"
)

// volumeNames lists a pool's volumes.
func volumeNames(t *testing.T, c *client, pool string) []string {
	t.Helper()
	var vl api.VolumeList
	r := c.do("GET", poolsURL+"/"+pool+"/volumes", nil)
	want(t, r, 200, "")
	r.decode(t, &vl)
	out := []string{}
	for _, v := range vl.Items {
		out = append(out, v.Name)
	}
	return out
}

// usedByRunning finds a volume of the default pool a running guest uses.
func usedByRunning(t *testing.T, e *env, c *client) (vol, guest string) {
	t.Helper()
	var vl api.VolumeList
	c.do("GET", poolsURL+"/default/volumes", nil).decode(t, &vl)
	for _, v := range vl.Items {
		for _, g := range v.UsedBy {
			if e.stateOf(g) == api.StateRunning {
				return v.Name, g
			}
		}
	}
	t.Fatal("no volume of a running guest in the fixture")
	return "", ""
}

// freeVolume finds a volume of the default pool no guest uses.
func freeVolume(t *testing.T, c *client) api.Volume {
	t.Helper()
	var vl api.VolumeList
	c.do("GET", poolsURL+"/default/volumes", nil).decode(t, &vl)
	for _, v := range vl.Items {
		if len(v.UsedBy) == 0 {
			return v
		}
	}
	t.Fatal("no unused volume in the fixture")
	return api.Volume{}
}

func TestVolumeClone(t *testing.T) {
	e := newEnv(t)
	admin, auditor, alice := e.as("local", "admin"), e.as("test", "audrey"), e.as("local", "alice")
	src := freeVolume(t, admin)
	vols := poolsURL + "/default/volumes/"
	// The test driver clones within a pool only (it looks the source up
	// in the target pool); across pools is the KVM suite's.
	for _, c := range []struct{ name, pool, target string }{
		{"within", "", "default"},
		{"named", "default", "default"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := admin.do("POST", vols+src.Name+"/clone", api.VolumeClone{Name: "copy-" + c.name, Pool: c.pool})
			want(t, r, 202, "")
			var tk api.Task
			r.decode(t, &tk)
			if tk.Kind != "volume.clone" || tk.Target != "volume:"+c.target+"/copy-"+c.name || r.header.Get("Location") == "" {
				t.Fatalf("task %+v", tk)
			}
			if tk = admin.waitTask(t, tk.ID); tk.Status != store.TaskDone || tk.Result != "volume:"+c.target+"/copy-"+c.name || tk.Progress != 100 {
				t.Fatalf("task ended %+v (error %+v)", tk, tk.Error)
			}
			var v api.Volume
			r = admin.do("GET", poolsURL+"/"+c.target+"/volumes/copy-"+c.name, nil)
			want(t, r, 200, "")
			if r.decode(t, &v); v.Capacity != src.Capacity || v.Format != src.Format {
				t.Fatalf("copy %+v of %+v", v, src)
			}
		})
	}
	if evs := e.audit(store.AuditFilter{Action: "volume.clone"}); len(evs) != 2 || evs[0].Result != "ok" || !strings.HasPrefix(evs[0].Target, "volume:default/") {
		t.Fatalf("audit %+v", evs)
	}

	t.Run("refusals", func(t *testing.T) {
		before := volumeNames(t, admin, "default")
		busy, guest := usedByRunning(t, e, admin)
		for _, c := range []struct {
			name, vol string
			req       api.VolumeClone
			status    int
			code      string
		}{
			{"exists", src.Name, api.VolumeClone{Name: "copy-within"}, 409, "volume_exists"},
			{"exists across", src.Name, api.VolumeClone{Name: volumeNames(t, admin, "isos")[0], Pool: "isos"}, 409, "volume_exists"},
			{"across on the test driver", src.Name, api.VolumeClone{Name: "x", Pool: "isos"}, 501, "volume_clone_across_not_supported"},
			{"no target pool", src.Name, api.VolumeClone{Name: "x", Pool: "nope"}, 404, "pool_not_found"},
			{"hostile target pool", src.Name, api.VolumeClone{Name: "x", Pool: "../etc"}, 400, "invalid_name"},
			{"format", src.Name, api.VolumeClone{Name: "x", Format: "vmdk"}, 400, "unknown_volume_format"},
			{"no source", "nope.qcow2", api.VolumeClone{Name: "x"}, 404, "volume_not_found"},
			{"running guest", busy, api.VolumeClone{Name: "x"}, 409, "volume_in_use"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := admin.do("POST", vols+c.vol+"/clone", c.req)
				want(t, r, c.status, c.code)
				if c.code == "volume_in_use" && !strings.Contains(string(r.body), guest) {
					t.Fatalf("the refusal does not name %s: %s", guest, r.body)
				}
			})
		}
		for _, n := range hostileNames {
			want(t, admin.do("POST", vols+src.Name+"/clone", api.VolumeClone{Name: n}), 400, "invalid_name")
		}
		want(t, auditor.do("POST", vols+src.Name+"/clone", api.VolumeClone{Name: "x"}), 403, "forbidden")
		want(t, alice.do("POST", vols+src.Name+"/clone", api.VolumeClone{Name: "x"}), 404, "pool_not_found")
		if after := volumeNames(t, admin, "default"); !slices.Equal(before, after) {
			t.Fatalf("a refusal changed the pool: %v, was %v", after, before)
		}
	})
}

func TestVolumeWipe(t *testing.T) {
	e := newEnv(t)
	admin, auditor := e.as("local", "admin"), e.as("test", "audrey")
	src := freeVolume(t, admin)
	vols := poolsURL + "/default/volumes/"
	// The test driver has no wipe: said plainly, at once, with no task.
	r := admin.do("POST", vols+src.Name+"/wipe", nil)
	want(t, r, 501, "volume_wipe_not_supported")
	want(t, admin.do("POST", vols+"nope/wipe", nil), 404, "volume_not_found")
	want(t, auditor.do("POST", vols+src.Name+"/wipe", nil), 403, "forbidden")
	if evs := e.audit(store.AuditFilter{Action: "volume.wipe", Actor: "local:admin"}); len(evs) != 2 || evs[1].Result != "error:volume_wipe_not_supported" {
		t.Fatalf("audit %+v", evs)
	}
	var ts api.TaskList
	admin.do("GET", "/api/v1/tasks", nil).decode(t, &ts)
	for _, tk := range ts.Items {
		if tk.Kind == "volume.wipe" {
			t.Fatalf("a refused wipe left a task %+v", tk)
		}
	}
}

// listenOn serves h on a loopback address of its own (127.0.0.0/8 is all
// loopback on Linux), so one test server may be allowed and 127.0.0.1 not.
func listenOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = ln
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func TestVolumeFromURL(t *testing.T) {
	payload := strings.Repeat("virtportal", 1000)
	mux := http.NewServeMux()
	mux.HandleFunc("/file.img", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "file.img", time.Time{}, strings.NewReader(payload))
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // no Content-Length
		_, _ = w.Write([]byte(payload))
	})
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/to-loopback", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://127.0.0.1:9/x", http.StatusFound)
	})
	mux.HandleFunc("/to-v6", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://[::1]:9/x", http.StatusFound)
	})
	mux.HandleFunc("/to-file", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	allowed := listenOn(t, "127.0.0.2", mux)
	e := newEnv(t, withOptions(func(o *Options) {
		o.VolumeOps.URLAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")}
		o.VolumeOps.URLMaxSize = 1 << 20
	}))
	admin, auditor := e.as("local", "admin"), e.as("test", "audrey")
	fromURL := poolsURL + "/default/volumes/from-url"
	before := volumeNames(t, admin, "default")

	for _, c := range []struct {
		name, url string
		status    int
		code      string
	}{
		{"loopback", "http://127.0.0.1/", 400, "url_address_refused"},
		{"loopback v6", "http://[::1]/", 400, "url_address_refused"},
		{"mapped v4", "http://[::ffff:127.0.0.1]/", 400, "url_address_refused"},
		{"localhost", "http://localhost:9/x", 400, "url_address_refused"},
		{"unspecified", "http://0.0.0.0/", 400, "url_address_refused"},
		{"metadata", "http://169.254.169.254/latest", 400, "url_address_refused"},
		{"private", "https://10.1.2.3/x.iso", 400, "url_address_refused"},
		{"file", "file:///etc/passwd", 400, "url_scheme_refused"},
		{"ftp", "ftp://example.org/x", 400, "url_scheme_refused"},
		{"relative", "/etc/passwd", 400, "url_invalid"},
		{"credentials", "http://u:p@127.0.0.2/x", 400, "url_invalid"},
		{"redirect to loopback", allowed.URL + "/to-loopback", 400, "url_address_refused"},
		{"redirect to v6 loopback", allowed.URL + "/to-v6", 400, "url_address_refused"},
		{"redirect to file", allowed.URL + "/to-file", 400, "url_scheme_refused"},
		{"redirect loop", allowed.URL + "/loop", 400, "url_too_many_redirects"},
		{"no length", allowed.URL + "/chunked", 400, "url_size_unknown"},
		{"not found", allowed.URL + "/missing", 503, "url_bad_status"},
	} {
		t.Run(c.name, func(t *testing.T) {
			want(t, admin.do("POST", fromURL, api.VolumeFromURL{URL: c.url, Name: "dl.img"}), c.status, c.code)
		})
	}
	t.Run("too large", func(t *testing.T) {
		big := listenOn(t, "127.0.0.2", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "2097152")
			w.WriteHeader(200)
		}))
		want(t, admin.do("POST", fromURL, api.VolumeFromURL{URL: big.URL + "/big", Name: "dl.img"}), 413, "url_too_large")
	})
	for _, n := range hostileNames {
		want(t, admin.do("POST", fromURL, api.VolumeFromURL{URL: allowed.URL + "/file.img", Name: n}), 400, "invalid_name")
	}
	want(t, admin.do("POST", fromURL, api.VolumeFromURL{URL: allowed.URL + "/file.img", Name: before[0]}), 409, "volume_exists")
	want(t, auditor.do("POST", fromURL, api.VolumeFromURL{URL: allowed.URL + "/file.img", Name: "dl.img"}), 403, "forbidden")
	if after := volumeNames(t, admin, "default"); !slices.Equal(before, after) {
		t.Fatalf("a refusal changed the pool: %v, was %v", after, before)
	}

	// Accepted; the test driver cannot write volume contents, so the task
	// fails plainly and the volume it made is gone.
	r := admin.do("POST", fromURL, api.VolumeFromURL{URL: allowed.URL + "/file.img", Name: "dl.img"})
	want(t, r, 202, "")
	var tk api.Task
	r.decode(t, &tk)
	if tk.Kind != "volume.from_url" || tk.Target != "volume:default/dl.img" {
		t.Fatalf("task %+v", tk)
	}
	if tk = admin.waitTask(t, tk.ID); tk.Status != store.TaskFailed || tk.Error == nil || tk.Error.Code != "volume_upload_not_supported" {
		t.Fatalf("task ended %+v", tk)
	}
	if after := volumeNames(t, admin, "default"); !slices.Equal(before, after) {
		t.Fatalf("the failed download left %v, was %v", after, before)
	}
	if evs := e.audit(store.AuditFilter{Action: "volume.from_url", Target: "volume:default/dl.img"}); len(evs) == 0 {
		t.Fatal("no audit of the download")
	}
}

// A volume may be named like the from-url route: its own routes still reach it.
func TestVolumeNamedFromURL(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	vols := poolsURL + "/default/volumes"
	r := admin.do("POST", vols, api.VolumeRequest{Name: "from-url", Capacity: 1 << 20})
	want(t, r, 202, "")
	var tk api.Task
	r.decode(t, &tk)
	if admin.waitTask(t, tk.ID).Status != store.TaskDone {
		t.Fatal("create failed")
	}
	want(t, admin.do("GET", vols+"/from-url", nil), 200, "")
	r = admin.do("POST", vols+"/from-url/clone", api.VolumeClone{Name: "from-url-2"})
	want(t, r, 202, "")
	r.decode(t, &tk)
	if admin.waitTask(t, tk.ID).Status != store.TaskDone {
		t.Fatal("clone failed")
	}
	want(t, admin.do("DELETE", vols+"/from-url", nil), 204, "")
}

// Many parallel clones onto one name: one copy; every answer is a 202 (a
// task, which may then fail) or a 409, never a 5xx.
func TestVolumeCloneParallel(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	src := freeVolume(t, admin)
	if done := parallelTasks(t, admin, 24, func() resp {
		return admin.do("POST", poolsURL+"/default/volumes/"+src.Name+"/clone", api.VolumeClone{Name: "same.img"})
	}); done != 1 {
		t.Fatalf("%d tasks made the copy", done)
	}
	want(t, admin.do("GET", poolsURL+"/default/volumes/same.img", nil), 200, "")
}
