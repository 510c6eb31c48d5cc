package handlers

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// Regression (issue 8 §7): /login?next=/.//evil.example sent the browser to
// //evil.example.
var nextCases = []struct {
	next string
	ok   bool
}{
	{"/guests", true},
	{"/guests/web01", true},
	{"/guests/", true},
	{"/guests?state=running&q=web", true},
	{"/guests/web%2001", true},
	{"/guests/a.b", true},
	{"/", true},
	{"", false},
	{"//evil.example", false},
	{"//evil.example/x", false},
	{"/.//evil.example", false},
	{"/x/..//evil.example", false},
	{"/%2e//evil.example", false},
	{"/%2E%2E//evil.example", false},
	{"/%2f/evil.example", false},
	{"/%2F%2Fevil.example", false},
	{"/%5cevil.example", false},
	{"/\\evil.example", false},
	{"/\\/evil.example", false},
	{"\\\\evil.example", false},
	{"/\t/evil.example", false},
	{"/\n/evil.example", false},
	{"/%09/evil.example", false},
	{"/\x00", false},
	{"https://evil.example/", false},
	{"https:evil.example", false},
	{"javascript:alert(1)", false},
	{"guests", false},
	{" /guests", false},
	{"/guests/./x", false},
	{"/guests/../x", false},
	{"/guests//x", false},
	{"/login", false},
	{"/login?next=/x", false},
	{"/api/v1/session", false},
	{"/" + strings.Repeat("a", maxNext), false},
}

func TestSafeNext(t *testing.T) {
	for _, tc := range nextCases {
		t.Run(tc.next, func(t *testing.T) {
			if got := safeNext(tc.next); got != tc.ok {
				t.Fatalf("safeNext(%q) = %v, want %v", tc.next, got, tc.ok)
			}
		})
	}
}

// FuzzSafeNext: an accepted next, resolved the way a browser resolves a
// link on this site (dot segments removed, slashes kept), stays on it.
func FuzzSafeNext(f *testing.F) {
	for _, tc := range nextCases {
		f.Add(tc.next)
	}
	if seeds, _ := filepath.Glob("testdata/fuzz/FuzzSafeNext/*"); len(seeds) == 0 {
		f.Fatal("no seed corpus in testdata/fuzz/FuzzSafeNext")
	}
	base := mustURL("https://portal.example/login")
	f.Fuzz(func(t *testing.T, next string) {
		if !safeNext(next) {
			return
		}
		ref, err := url.Parse(next)
		if err != nil {
			t.Fatalf("accepted unparsable %q", next)
		}
		u := base.ResolveReference(ref)
		if u.Scheme != "https" || u.Host != "portal.example" || strings.HasPrefix(u.EscapedPath(), "//") {
			t.Fatalf("accepted %q leads to %s", next, u)
		}
		// What a browser might do to it: strip tabs and newlines, read
		// backslashes as slashes, decode once.
		for _, v := range []string{strings.NewReplacer("\t", "", "\n", "", "\r", "", "\\", "/").Replace(next), unescapeOnce(next)} {
			if strings.HasPrefix(v, "//") || strings.Contains(strings.SplitN(v, "?", 2)[0], "/./") || strings.Contains(strings.SplitN(v, "?", 2)[0], "/../") {
				t.Fatalf("accepted %q reads as %q", next, v)
			}
		}
	})
}

func unescapeOnce(s string) string {
	p, _, _ := strings.Cut(s, "?")
	if u, err := url.PathUnescape(p); err == nil {
		return u
	}
	return p
}

// The login page drops an unsafe next with a redirect, keeping a known reason.
func TestLoginPageDropsUnsafeNext(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for q, want := range map[string]string{
		"?next=/.//evil.example":                   "/login",
		"?next=/x/..//evil.example&reason=expired": "/login?reason=expired",
		"?next=%2F%2Fevil.example&reason=%0a":      "/login",
		"?next=/guests&next=//evil.example":        "/login",
		"?next=/guests/web01":                      "",
		"":                                         "",
	} {
		r := c.do("GET", "/login"+q, nil)
		if want == "" {
			want200(t, r)
			continue
		}
		if r.status != http.StatusSeeOther || r.header.Get("Location") != want {
			t.Errorf("%s: %d %q, want 303 to %q", q, r.status, r.header.Get("Location"), want)
		}
	}
}

func want200(t *testing.T, r resp) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("got %d %s", r.status, r.body)
	}
}
