package handlers

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/store"
)

// raw sends one request with a chosen Host and headers, not following redirects.
func (e *env) raw(method, path, host string, body string, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{TLSClientConfig: tlsInsecure()}}
	res, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func hasSecurityHeaders(t *testing.T, r resp) {
	t.Helper()
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "Referrer-Policy"} {
		if r.header.Get(h) == "" {
			t.Errorf("%d response without %s", r.status, h)
		}
	}
}

// Regression (issue 8 §7): Gin's trailing-slash redirect had no security
// headers and followed X-Forwarded-Prefix from anyone.
func TestRedirectsAndForwardedPrefix(t *testing.T) {
	t.Run("untrusted peer", func(t *testing.T) {
		e := newEnv(t)
		r := e.raw("GET", "/guests/", "", "", "X-Forwarded-Prefix", "/evil.example")
		if r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/guests" {
			t.Fatalf("got %d to %q, want 301 to /guests", r.status, r.header.Get("Location"))
		}
		hasSecurityHeaders(t, r)
		hasSecurityHeaders(t, e.raw("GET", "/api/v1/nothing", "", ""))
		hasSecurityHeaders(t, e.raw("PUT", "/healthz", "", ""))
	})
	t.Run("trusted proxy", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.TrustedProxies = []string{"127.0.0.0/8"} }))
		r := e.raw("GET", "/guests/", "", "", "X-Forwarded-Prefix", "/portal")
		if r.status != http.StatusMovedPermanently || r.header.Get("Location") != "/portal/guests" {
			t.Fatalf("got %d to %q, want 301 to /portal/guests", r.status, r.header.Get("Location"))
		}
	})
}

func sessionCookie(r resp) string {
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, "virtportal_session=") {
			return c
		}
	}
	return ""
}

// Regression (issue 8 §7): behind a TLS-terminating proxy the cookie never
// got Secure.
func TestSecureCookieBehindProxy(t *testing.T) {
	login := `{"realm":"local","username":"admin","password":"` + testPassword + `"}`
	for _, tc := range []struct {
		name    string
		opts    func(*Options)
		hdr     []string
		secure  bool
		hstsSet bool
	}{
		{"plain HTTP", func(*Options) {}, nil, false, false},
		{"X-Forwarded-Proto from anyone is ignored", func(*Options) {}, []string{"X-Forwarded-Proto", "https"}, false, false},
		{"X-Forwarded-Proto from a trusted proxy", func(o *Options) { o.TrustedProxies = []string{"127.0.0.1"} },
			[]string{"X-Forwarded-Proto", "https"}, true, true},
		{"an https public URL", func(o *Options) { o.PublicURL = "https://portal.example" }, nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, withOptions(tc.opts))
			r := e.raw("POST", "/api/v1/session", "", login, tc.hdr...)
			want(t, r, 200, "")
			c := sessionCookie(r)
			if c == "" || strings.Contains(c, "; Secure") != tc.secure {
				t.Fatalf("cookie %q, want secure %v", c, tc.secure)
			}
			if (r.header.Get("Strict-Transport-Security") != "") != tc.hstsSet {
				t.Fatalf("HSTS %q, want set %v", r.header.Get("Strict-Transport-Security"), tc.hstsSet)
			}
		})
	}
}

// Regression (issue 8 §7): the Origin check ignored the scheme, and any
// Host was served (DNS rebinding reached the public routes).
func TestHostAndOrigin(t *testing.T) {
	e := newEnv(t)
	self := strings.TrimPrefix(e.url, "http://")
	for _, tc := range []struct {
		name, method, path, host string
		hdr                      []string
		status                   int
		code                     string
	}{
		{"a foreign name is refused", "GET", "/api/v1/realms", "evil.example:80", nil, 421, "wrong_host"},
		{"the app page too", "GET", "/", "evil.example", nil, 421, "wrong_host"},
		{"a rebinding login too", "POST", "/api/v1/session", "rebind.evil.example", nil, 421, "wrong_host"},
		{"health checks answer any name", "GET", "/healthz", "lb.internal", nil, 200, ""},
		{"an address is ours", "GET", "/api/v1/realms", self, nil, 200, ""},
		{"localhost is ours", "GET", "/api/v1/realms", "localhost:8080", nil, 200, ""},
		{"origin of another scheme", "POST", "/api/v1/session", "", []string{"Origin", "https://" + self}, 403, "bad_origin"},
		{"origin of another host", "POST", "/api/v1/session", "", []string{"Origin", "http://evil.example"}, 403, "bad_origin"},
		{"origin with a path", "POST", "/api/v1/session", "", []string{"Origin", e.url + "/x"}, 403, "bad_origin"},
		{"own origin", "POST", "/api/v1/session", "", []string{"Origin", e.url}, 401, "unauthorized"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := ""
			if tc.method == "POST" {
				body = `{"realm":"local","username":"nobody","password":"x"}`
			}
			want(t, e.raw(tc.method, tc.path, tc.host, body, tc.hdr...), tc.status, tc.code)
		})
	}
	t.Run("public URL", func(t *testing.T) {
		e := newEnv(t, withOptions(func(o *Options) { o.PublicURL = "https://Portal.example" }))
		body := `{"realm":"local","username":"nobody","password":"x"}`
		want(t, e.raw("POST", "/api/v1/session", "portal.example", body, "Origin", "https://portal.example:443"), 401, "unauthorized")
		want(t, e.raw("POST", "/api/v1/session", "portal.example", body, "Origin", "http://portal.example"), 403, "bad_origin")
		want(t, e.raw("POST", "/api/v1/session", "other.example", body), 421, "wrong_host")
	})
}

// Regression (issue 8 §7): POST /api/v1/vms/<65,000 × A>/start without a
// session stored a 65 kB target.
func TestLongTargetsBounded(t *testing.T) {
	e := newEnv(t)
	r := e.raw("POST", "/api/v1/vms/"+strings.Repeat("A", 65000)+"/start", "", "")
	want(t, r, http.StatusRequestURITooLong, "uri_too_long")
	hasSecurityHeaders(t, r)
	if evs := e.audit(store.AuditFilter{Action: "vm.start"}); len(evs) != 0 {
		t.Fatalf("a refused target was audited: %d events", len(evs))
	}
	name := strings.Repeat("\u202e", 300)
	r = e.raw("POST", "/api/v1/vms/"+name+"/start", "", "")
	if r.status == http.StatusOK {
		t.Fatalf("started %s", r.body)
	}
	evs := e.audit(store.AuditFilter{Action: "vm.start"})
	// A malformed name is never stored as sent (the scope records "vm:?").
	if len(evs) != 1 || evs[0].Target != "vm:?" {
		t.Fatalf("audited %+v", evs)
	}
}
