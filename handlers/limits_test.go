package handlers

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
)

// TestRouteLimits: a route's own body limit and timeout hold, and a route
// without a timeout outlives the server's default deadlines.
func TestRouteLimits(t *testing.T) {
	const deflt = 300 * time.Millisecond
	echo := func(c *gin.Context) error {
		b, err := io.ReadAll(c.Request.Body)
		if err != nil {
			return bodyError(err)
		}
		c.String(http.StatusOK, "%d", len(b))
		return nil
	}
	// late answers after the default deadlines passed, saying whether its
	// context is still alive.
	late := func(c *gin.Context) error {
		time.Sleep(2 * deflt)
		if err := c.Request.Context().Err(); err != nil {
			return errors.New("context ended: " + err.Error())
		}
		c.String(http.StatusOK, "late but fine")
		return nil
	}
	e := newEnv(t, withOptions(func(o *Options) { o.ReadTimeout, o.WriteTimeout = deflt, deflt }),
		withRoutes(func(rs []Route) []Route {
			return append(rs,
				Route{Method: "POST", Path: "/test/small", Perm: rbac.Public, Audit: "test.small", BodyLimit: 100, Handle: echo},
				Route{Method: "POST", Path: "/test/default", Perm: rbac.Public, Audit: "test.default", Handle: echo},
				Route{Method: "POST", Path: "/test/unlimited", Perm: rbac.Public, Audit: "test.unlimited", BodyLimit: -1, Handle: echo},
				Route{Method: "GET", Path: "/test/stream", Perm: rbac.Public, Timeout: -1, Handle: late},
				Route{Method: "GET", Path: "/test/slow", Perm: rbac.Public, Handle: late},
				Route{Method: "GET", Path: "/test/long", Perm: rbac.Public, Timeout: 10 * deflt, Handle: late},
			)
		}))
	c := e.client()
	big := strings.Repeat("x", 200<<10) // over the env's 64 KiB default
	cases := []struct {
		name, path, body string
		chunked          bool // no Content-Length: the limit bites while reading
		status           int
		code             string
	}{
		{"small limit, small body", "/test/small", strings.Repeat("x", 100), false, 200, ""},
		{"small limit, big body", "/test/small", strings.Repeat("x", 101), false, 413, "too_large"},
		{"small limit, big chunked body", "/test/small", strings.Repeat("x", 101), true, 413, "too_large"},
		{"default limit", "/test/default", big, false, 413, "too_large"},
		{"unlimited", "/test/unlimited", big, true, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader = strings.NewReader(tc.body)
			if tc.chunked {
				body = io.MultiReader(body) // hides the length from net/http
			}
			req, _ := http.NewRequest("POST", e.url+tc.path, body)
			res, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			r := resp{status: res.StatusCode, body: b}
			want(t, r, tc.status, tc.code)
		})
	}
	// A refused body is an attempt all the same: it is audited.
	var results []string
	for _, ev := range e.audit(store.AuditFilter{Action: "test.small"}) {
		results = append(results, ev.Result)
	}
	if !slices.Contains(results, "denied:too_large") || !slices.Contains(results, "ok") {
		t.Errorf("audited test.small results %v", results)
	}
	t.Run("no timeout outlives the defaults", func(t *testing.T) {
		r := c.do("GET", "/test/stream", nil)
		if r.status != 200 || string(r.body) != "late but fine" {
			t.Fatalf("got %d %q", r.status, r.body)
		}
	})
	t.Run("its own longer timeout", func(t *testing.T) {
		r := c.do("GET", "/test/long", nil)
		if r.status != 200 || string(r.body) != "late but fine" {
			t.Fatalf("got %d %q", r.status, r.body)
		}
	})
	t.Run("the default cuts a slow handler", func(t *testing.T) {
		res, err := c.http.Get(e.url + "/test/slow")
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				t.Fatalf("a handler past the default deadline answered %d %q", res.StatusCode, b)
			}
		}
	})
}
