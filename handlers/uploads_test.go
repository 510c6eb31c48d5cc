package handlers

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/store"
)

const uploadsURL = "/api/v1/hosts/local/pools/default/uploads"

// tusMeta encodes Upload-Metadata pairs.
func tusMeta(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+" "+base64.StdEncoding.EncodeToString([]byte(kv[i+1])))
	}
	return strings.Join(parts, ",")
}

// create asks for an upload of size bytes named name.
func (c *client) createUpload(name string, size int64, extra ...string) resp {
	hdr := append([]string{"Tus-Resumable", "1.0.0", "Upload-Length", strconv.FormatInt(size, 10),
		"Upload-Metadata", tusMeta("name", name)}, extra...)
	return c.do("POST", uploadsURL, nil, hdr...)
}

func (c *client) patchUpload(loc string, offset int64, body string, extra ...string) resp {
	hdr := append([]string{"Tus-Resumable", "1.0.0", "Content-Type", "application/offset+octet-stream",
		"Upload-Offset", strconv.FormatInt(offset, 10)}, extra...)
	return c.do("PATCH", loc, body, hdr...)
}

// volumeNames lists the default pool's volumes.
func (e *env) volumeNames(c *client) map[string]bool {
	e.t.Helper()
	var vl api.VolumeList
	c.do("GET", "/api/v1/hosts/local/pools/default/volumes", nil).decode(e.t, &vl)
	out := map[string]bool{}
	for _, v := range vl.Items {
		out[v.Name] = true
	}
	return out
}

func demoUploads(o *Options) { o.Uploads.Demo = true }

func TestUploadRefusals(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Uploads.MaxSize = 1 << 30 }))
	admin := e.as("local", "admin")
	before := e.volumeNames(admin)
	for _, tc := range []struct {
		name   string
		hdr    []string // replaces the defaults
		status int
		code   string
	}{
		{"dot dot", []string{"Upload-Metadata", tusMeta("name", "../x")}, 400, "invalid_name"},
		{"absolute", []string{"Upload-Metadata", tusMeta("name", "/etc/x")}, 400, "invalid_name"},
		{"NUL", []string{"Upload-Metadata", tusMeta("name", "x\x00y.img")}, 400, "invalid_name"},
		{"climb", []string{"Upload-Metadata", tusMeta("name", "x/../../y")}, 400, "invalid_name"},
		{"look-alike", []string{"Upload-Metadata", tusMeta("name", "ｘ.img")}, 400, "invalid_name"},
		{"cyrillic", []string{"Upload-Metadata", tusMeta("name", "\u0430dmin.iso")}, 400, "invalid_name"},
		{"256 bytes", []string{"Upload-Metadata", tusMeta("name", strings.Repeat("a", 256))}, 400, "invalid_name"},
		{"wildcard", []string{"Upload-Metadata", tusMeta("name", "*.img")}, 400, "invalid_name"},
		{"no name", []string{"Upload-Metadata", tusMeta("filetype", "x")}, 400, "upload_bad_metadata"},
		{"not base64", []string{"Upload-Metadata", "name ***"}, 400, "upload_bad_metadata"},
		{"repeated key", []string{"Upload-Metadata", tusMeta("name", "a.img", "name", "b.img")}, 400, "upload_bad_metadata"},
		{"10 KB header", []string{"Upload-Metadata", tusMeta("name", "a.img", "junk", strings.Repeat("x", 10<<10))}, 400, "upload_bad_metadata"},
		{"bad format", []string{"Upload-Metadata", tusMeta("name", "a.img", "format", "vmdk")}, 400, "upload_bad_format"},
		{"no length", []string{"Upload-Length", ""}, 400, "upload_bad_length"},
		{"negative length", []string{"Upload-Length", "-1"}, 400, "upload_bad_length"},
		{"zero length", []string{"Upload-Length", "0"}, 400, "upload_bad_length"},
		{"huge length", []string{"Upload-Length", "99999999999999999999"}, 400, "upload_bad_length"},
		{"deferred", []string{"Upload-Length", "", "Upload-Defer-Length", "1"}, 400, "upload_bad_length"},
		{"over the maximum", []string{"Upload-Length", strconv.FormatInt(1<<30+1, 10)}, 413, "upload_too_large"},
		{"wrong tus version", []string{"Tus-Resumable", "0.2.2"}, 400, "upload_protocol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := append([]string{"Tus-Resumable", "1.0.0", "Upload-Length", "1000", "Upload-Metadata", tusMeta("name", "ok.img")}, tc.hdr...)
			want(t, admin.do("POST", uploadsURL, nil, hdr...), tc.status, tc.code)
		})
	}
	if after := e.volumeNames(admin); len(after) != len(before) {
		t.Fatalf("volumes changed: %v → %v", before, after)
	}
	var ul api.UploadList
	admin.do("GET", "/api/v1/hosts/local/uploads", nil).decode(t, &ul)
	if len(ul.Items) != 0 {
		t.Fatalf("uploads recorded: %+v", ul.Items)
	}
}

func TestUploadRefusedBeforeAByte(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Uploads.MaxSize = 1 << 60 }))
	admin := e.as("local", "admin")
	var p api.Pool
	admin.do("GET", "/api/v1/hosts/local/pools/default", nil).decode(t, &p)
	// The body is sent too (creation-with-upload style): nothing is kept.
	r := admin.do("POST", uploadsURL, "some bytes", "Tus-Resumable", "1.0.0", "Content-Type", "application/offset+octet-stream",
		"Upload-Length", strconv.FormatUint(p.Available+1, 10), "Upload-Metadata", tusMeta("name", "big.img"))
	want(t, r, 413, "upload_insufficient_space")
	if e.volumeNames(admin)["big.img"] {
		t.Fatal("the volume was created")
	}
	// Not running: 409.
	want(t, admin.do("POST", poolsURL, api.PoolRequest{Name: "extra", Type: "dir", Path: t.TempDir() + "/extra"}), 201, "")
	want(t, admin.do("POST", poolsURL+"/extra/stop", nil), 200, "")
	want(t, admin.do("POST", "/api/v1/hosts/local/pools/extra/uploads", nil, "Tus-Resumable", "1.0.0", "Upload-Length", "10",
		"Upload-Metadata", tusMeta("name", "x.img")), 409, "pool_inactive")
}

func TestUploadAccess(t *testing.T) {
	e := newEnv(t, withOptions(demoUploads))
	admin := e.as("local", "admin")
	r := admin.createUpload("mine.img", 100)
	want(t, r, 201, "")
	loc := r.header.Get("Location")

	// Missing CSRF header: refused, nothing created or written.
	noCSRF := e.as("local", "admin")
	noCSRF.csrf = ""
	want(t, noCSRF.createUpload("other.img", 100), 403, "csrf")
	want(t, noCSRF.patchUpload(loc, 0, "abc"), 403, "csrf")
	want(t, noCSRF.do("DELETE", loc, nil, "Tus-Resumable", "1.0.0"), 403, "csrf")
	// A user without pools: 404 everywhere; the auditor sees pools: 403.
	alice := e.as("local", "alice")
	want(t, alice.createUpload("other.img", 100), 404, "")
	want(t, alice.do("GET", loc, nil), 404, "")
	want(t, alice.patchUpload(loc, 0, "abc"), 404, "")
	want(t, alice.do("GET", "/api/v1/hosts/local/uploads", nil), 403, "")
	auditor := e.as("test", "audrey")
	want(t, auditor.patchUpload(loc, 0, "abc"), 403, "forbidden")
	want(t, auditor.do("DELETE", loc, nil, "Tus-Resumable", "1.0.0"), 403, "forbidden")
	// The upload is untouched.
	r = admin.do("GET", loc, nil)
	want(t, r, 200, "")
	if r.header.Get("Upload-Offset") != "0" || e.volumeNames(admin)["other.img"] {
		t.Fatalf("offset %q, volumes %v", r.header.Get("Upload-Offset"), e.volumeNames(admin))
	}
	// An upload of another pool's URL: not found.
	want(t, admin.do("GET", strings.Replace(loc, "/pools/default/", "/pools/extra/", 1), nil), 404, "")
}

func TestUploadFlowDemo(t *testing.T) {
	e := newEnv(t, withOptions(demoUploads))
	admin := e.as("local", "admin")
	r := admin.createUpload("disk.qcow2", 10)
	want(t, r, 201, "")
	var u api.Upload
	r.decode(t, &u)
	loc := r.header.Get("Location")
	if loc != uploadsURL+"/"+u.ID || u.Format != "qcow2" || u.ContentsStored || u.Size != 10 || u.Owner != "local:admin" ||
		r.header.Get("Tus-Resumable") != "1.0.0" {
		t.Fatalf("created %+v at %q", u, loc)
	}
	if !e.volumeNames(admin)["disk.qcow2"] {
		t.Fatal("no volume")
	}
	want(t, admin.createUpload("disk.qcow2", 10), 409, "upload_exists")

	want(t, admin.patchUpload(loc, 3, "abc"), 409, "upload_offset_mismatch")
	want(t, admin.patchUpload(loc, 0, "abc", "Content-Type", "text/plain"), 400, "upload_protocol")
	want(t, admin.patchUpload(loc, 0, "0123456789abc"), 413, "upload_size_exceeded")
	want(t, admin.patchUpload(loc, 0, "0123", "Upload-Length", "10"), 400, "upload_protocol")
	want(t, admin.patchUpload(loc, 0, "0123", "Tus-Resumable", "0.2.2"), 400, "upload_protocol")
	r = admin.patchUpload(loc, 0, "0123")
	want(t, r, 204, "")
	if r.header.Get("Upload-Offset") != "4" {
		t.Fatalf("Upload-Offset %q", r.header.Get("Upload-Offset"))
	}
	r = admin.do("HEAD", loc, nil, "Tus-Resumable", "1.0.0")
	if r.status != 200 || r.header.Get("Upload-Offset") != "4" || r.header.Get("Upload-Length") != "10" || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("HEAD: %d %v", r.status, r.header)
	}
	var ul api.UploadList
	admin.do("GET", "/api/v1/hosts/local/uploads", nil).decode(t, &ul)
	if len(ul.Items) != 1 || ul.Items[0].Offset != 4 || ul.ContentsStored || ul.MaxSize <= 0 {
		t.Fatalf("list %+v", ul)
	}
	want(t, admin.patchUpload(loc, 4, "456789"), 204, "")
	admin.do("GET", "/api/v1/hosts/local/uploads", nil).decode(t, &ul)
	if len(ul.Items) != 0 {
		t.Fatalf("finished upload listed: %+v", ul.Items)
	}
	want(t, admin.do("GET", loc, nil), 404, "upload_not_found")
	if !e.volumeNames(admin)["disk.qcow2"] {
		t.Fatal("the finished volume is gone")
	}
	// The audit has the creation and the completion, no chunk.
	var actions []string
	for _, ev := range e.audit(store.AuditFilter{}) {
		if strings.HasPrefix(ev.Action, "volume.upload") {
			actions = append(actions, ev.Action+" "+ev.Target+" "+ev.Result)
		}
	}
	got := strings.Join(actions, "; ")
	for _, w := range []string{"volume.upload.complete volume:default/disk.qcow2 ok", "volume.upload volume:default/disk.qcow2 ok"} {
		if !strings.Contains(got, w) {
			t.Fatalf("audit %q lacks %q", got, w)
		}
	}
	if strings.Count(got, "volume.upload.complete") != 6 { // 5 refused chunks + the last
		t.Fatalf("audit of chunks: %q", got)
	}
}

func TestUploadCancel(t *testing.T) {
	e := newEnv(t, withOptions(demoUploads))
	admin := e.as("local", "admin")
	r := admin.createUpload("gone.img", 10)
	want(t, r, 201, "")
	loc := r.header.Get("Location")
	want(t, admin.patchUpload(loc, 0, "abc"), 204, "")
	want(t, admin.do("DELETE", loc, nil, "Tus-Resumable", "1.0.0"), 204, "")
	if e.volumeNames(admin)["gone.img"] {
		t.Fatal("the partial volume stays")
	}
	want(t, admin.do("GET", loc, nil), 404, "upload_not_found")
	want(t, admin.patchUpload(loc, 3, "abc"), 404, "upload_not_found")
	evs := e.audit(store.AuditFilter{Action: "volume.upload.cancel"})
	if len(evs) != 1 || evs[0].Target != "volume:default/gone.img" || evs[0].Result != "ok" {
		t.Fatalf("audit %+v", evs)
	}
}

func TestUploadParallelCreationsReserve(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { demoUploads(o); o.Uploads.MaxSize = 1 << 60 }))
	admin := e.as("local", "admin")
	var p api.Pool
	admin.do("GET", "/api/v1/hosts/local/pools/default", nil).decode(t, &p)
	size := int64(p.Available / 10)
	results := make([]resp, 100)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = admin.createUpload(fmt.Sprintf("par-%03d.img", i), size) })
	}
	wg.Wait()
	ok := 0
	for _, r := range results {
		switch {
		case r.status == 201:
			ok++
		case r.status == 413 && r.errCode() == "upload_insufficient_space":
		default:
			t.Fatalf("unexpected %d %s", r.status, r.body)
		}
	}
	if ok != 10 {
		t.Fatalf("%d creations of a tenth of the free space succeeded, want 10", ok)
	}
}

func TestVolumeContentOnTestDriver(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	var vl api.VolumeList
	admin.do("GET", "/api/v1/hosts/local/pools/default/volumes", nil).decode(t, &vl)
	if len(vl.Items) == 0 {
		t.Fatal("the fixture has no volumes")
	}
	path := "/api/v1/hosts/local/pools/default/volumes/" + vl.Items[0].Name + "/content"
	want(t, admin.do("GET", path, nil), 501, "volume_download_not_supported")
	want(t, admin.do("HEAD", path, nil), 501, "")
	want(t, e.as("test", "audrey").do("GET", path, nil), 403, "forbidden")
	want(t, admin.do("GET", "/api/v1/hosts/local/pools/default/volumes/no.img/content", nil), 404, "volume_not_found")
}

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		h             string
		size          int64
		start, length int64
		partial, bad  bool
	}{
		{"", 100, 0, 100, false, false},
		{"bytes=0-9", 100, 0, 10, true, false},
		{"bytes=90-", 100, 90, 10, true, false},
		{"bytes=90-1000", 100, 90, 10, true, false},
		{"bytes=-10", 100, 90, 10, true, false},
		{"bytes=-1000", 100, 0, 100, true, false},
		{"bytes=100-", 100, 0, 0, false, true},
		{"bytes=5-4", 100, 0, 0, false, true},
		{"bytes=-0", 100, 0, 0, false, true},
		{"bytes=a-b", 100, 0, 0, false, true},
		{"bytes=1", 100, 0, 0, false, true},
		{"bytes=0-1,5-6", 100, 0, 100, false, false}, // several: the whole body
		{"items=0-1", 100, 0, 100, false, false},
	} {
		t.Run(tc.h, func(t *testing.T) {
			start, length, partial, err := parseRange(tc.h, tc.size)
			if (err != nil) != tc.bad {
				t.Fatalf("err %v, want bad=%v", err, tc.bad)
			}
			if !tc.bad && (start != tc.start || length != tc.length || partial != tc.partial) {
				t.Fatalf("got %d+%d partial=%v, want %d+%d partial=%v", start, length, partial, tc.start, tc.length, tc.partial)
			}
		})
	}
}

// Parallel PATCHes of one upload never interleave: at most one completes
// it, the others are refused (wrong offset, interrupted by a newer one, or
// gone once complete), and the offset left is right for a resume.
func TestUploadParallelPatches(t *testing.T) {
	e := newEnv(t, withOptions(demoUploads))
	admin := e.as("local", "admin")
	r := admin.createUpload("race.img", 1<<16)
	want(t, r, 201, "")
	loc := r.header.Get("Location")
	body := strings.Repeat("x", 1<<16)
	results := make([]resp, 20)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() { results[i] = admin.patchUpload(loc, 0, body) })
	}
	wg.Wait()
	done := 0
	for _, r := range results {
		switch {
		case r.status == 204 && r.header.Get("Upload-Offset") == strconv.Itoa(1<<16):
			done++
		case r.status == 409 && (r.errCode() == "upload_offset_mismatch" || r.errCode() == "upload_interrupted"):
		case r.status == 404 && r.errCode() == "upload_not_found":
		default:
			t.Fatalf("unexpected %d %v %s", r.status, r.header, r.body)
		}
	}
	if done > 1 {
		t.Fatalf("%d PATCHes completed the upload", done)
	}
	if done == 0 { // each interrupted by the next: resume from the offset
		r := admin.do("HEAD", loc, nil, "Tus-Resumable", "1.0.0")
		off, err := strconv.Atoi(r.header.Get("Upload-Offset"))
		if r.status != 200 || err != nil {
			t.Fatalf("HEAD: %d %v", r.status, r.header)
		}
		want(t, admin.patchUpload(loc, int64(off), body[off:]), 204, "")
	}
	if evs := e.audit(store.AuditFilter{Action: "volume.upload.complete", Result: "ok"}); len(evs) != 1 {
		t.Fatalf("completions audited: %+v", evs)
	}
}
