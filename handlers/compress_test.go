package handlers

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCompression: JSON and assets are compressed for clients that accept
// it, decode to what a plain client gets, and HEAD, 304, PNGs and clients
// that do not accept gzip get plain answers.
func TestCompression(t *testing.T) {
	e := newEnvGuests(t, 1000)
	admin := e.as("local", "admin")

	plain := admin.do("GET", "/api/v1/vms", nil, "Accept-Encoding", "identity")
	if plain.status != 200 || plain.header.Get("Content-Encoding") != "" {
		t.Fatalf("identity: %d, Content-Encoding %q", plain.status, plain.header.Get("Content-Encoding"))
	}
	gz := admin.do("GET", "/api/v1/vms", nil, "Accept-Encoding", "gzip")
	if gz.status != 200 || gz.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("gzip: %d, Content-Encoding %q", gz.status, gz.header.Get("Content-Encoding"))
	}
	if len(gz.body)*4 > len(plain.body) {
		t.Errorf("1,000 guests: %d bytes gzipped from %d", len(gz.body), len(plain.body))
	}
	var a, b api.VMList
	if err := json.Unmarshal(plain.body, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(gunzip(t, gz.body), &b); err != nil {
		t.Fatal(err)
	}
	if a.Total != 1000 || len(b.Items) != 1000 {
		t.Fatalf("listed %d and %d guests", a.Total, len(b.Items))
	}
	pa, _ := json.Marshal(a)
	pb, _ := json.Marshal(b)
	if !bytes.Equal(pa, pb) {
		t.Fatal("the gzipped list decodes to another list")
	}
	if v := gz.header.Values("Vary"); len(v) == 0 {
		t.Error("a compressed answer without Vary")
	}

	c := e.client()
	js := c.do("GET", "/static/app.js", nil, "Accept-Encoding", "gzip")
	raw := c.do("GET", "/static/app.js", nil, "Accept-Encoding", "identity")
	if js.header.Get("Content-Encoding") != "gzip" || !bytes.Equal(gunzip(t, js.body), raw.body) || len(raw.body) == 0 {
		t.Fatalf("app.js: Content-Encoding %q, %d bytes; plain %d bytes", js.header.Get("Content-Encoding"), len(js.body), len(raw.body))
	}
	etag := js.header.Get("ETag")
	if etag == "" || etag != raw.header.Get("ETag") {
		t.Fatalf("ETags %q (gzip) and %q (plain)", etag, raw.header.Get("ETag"))
	}
	cases := []struct {
		name, method, path string
		hdr                []string
		status             int
		encoding           string
	}{
		{"not modified", "GET", "/static/app.js", []string{"Accept-Encoding", "gzip", "If-None-Match", etag}, http.StatusNotModified, ""},
		{"modified", "GET", "/static/app.js", []string{"Accept-Encoding", "gzip", "If-None-Match", `W/"other"`}, http.StatusOK, "gzip"},
		{"head", "HEAD", "/static/app.js", []string{"Accept-Encoding", "gzip"}, http.StatusOK, ""},
		{"head api", "HEAD", "/api/v1/realms", []string{"Accept-Encoding", "gzip"}, http.StatusOK, ""},
		{"no accept-encoding", "GET", "/static/app.js", []string{"Accept-Encoding", "identity"}, http.StatusOK, ""},
		{"css", "GET", "/static/app.css", []string{"Accept-Encoding", "gzip"}, http.StatusOK, "gzip"},
		{"zstd", "GET", "/static/app.js", []string{"Accept-Encoding", "zstd"}, http.StatusOK, "zstd"},
		{"error", "GET", "/api/v1/nope/" + string(bytes.Repeat([]byte("x"), 2000)), []string{"Accept-Encoding", "gzip"}, http.StatusNotFound, "gzip"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(tc.method, tc.path, nil, tc.hdr...)
			if r.status != tc.status || r.header.Get("Content-Encoding") != tc.encoding {
				t.Fatalf("%d Content-Encoding %q, want %d %q", r.status, r.header.Get("Content-Encoding"), tc.status, tc.encoding)
			}
			if (tc.method == "HEAD" || tc.status == http.StatusNotModified) && len(r.body) != 0 {
				t.Fatalf("%d body bytes", len(r.body))
			}
		})
	}
}

// TestEventStreamNotHeldBack: headers an event stream flushes reach the
// client before its first event, whatever Accept-Encoding says.
func TestEventStreamNotHeldBack(t *testing.T) {
	release := make(chan struct{})
	stream := func(c *gin.Context) error {
		c.Header("Content-Type", "text/event-stream")
		c.Status(http.StatusOK)
		c.Writer.WriteHeaderNow()
		c.Writer.Flush()
		select {
		case <-release:
		case <-c.Request.Context().Done():
			return nil
		}
		_, _ = c.Writer.WriteString("data: hello\n\n")
		return nil
	}
	e := newEnv(t, withRoutes(func(rs []Route) []Route {
		return append(rs, Route{Method: "GET", Path: "/test/events", Perm: rbac.Public, Timeout: -1, Handle: stream})
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.url+"/test/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := http.DefaultClient.Do(req) // returns at the headers, before any event
	if err != nil {
		t.Fatal("no headers before the first event:", err)
	}
	defer res.Body.Close()
	close(release)
	b, _ := io.ReadAll(res.Body)
	if res.Header.Get("Content-Encoding") != "" || string(b) != "data: hello\n\n" {
		t.Fatalf("Content-Encoding %q, body %q", res.Header.Get("Content-Encoding"), b)
	}
}

func TestCompressible(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json; charset=utf-8": true,
		"text/html; charset=utf-8":        true,
		"text/javascript; charset=utf-8":  true,
		"image/svg+xml":                   true,
		"image/png":                       false,
		"text/event-stream":               false,
		"application/zip":                 false,
	} {
		if compressible(ct) != want {
			t.Errorf("compressible(%q) = %v", ct, !want)
		}
	}
}
