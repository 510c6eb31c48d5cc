package handlers

import (
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/gin-gonic/gin"
)

// maxNext bounds a return path.
const maxNext = 2048

// safeNext reports whether next is a path of this site that the login page
// may send the browser to: an absolute path with an optional query, never
// another origin however a browser normalises it. The decoded path must
// already be canonical (no "//", no "." or ".." segment, no backslash or
// control character), because a browser removes dot segments without
// collapsing slashes: "/.//evil.example", "/x/..//evil.example" and
// "/%2e//evil.example" all become "//evil.example", another site.
// static/src/lib/router.js safeNext applies the same rule in the browser.
func safeNext(next string) bool {
	if next == "" || len(next) > maxNext || !strings.HasPrefix(next, "/") ||
		strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || hasUnsafeChar(next) {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	p := u.Path
	if !strings.HasPrefix(p, "/") || hasUnsafeChar(p) {
		return false
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return false
	}
	return p != "/login" && !strings.HasPrefix(p, "/login/") && !strings.HasPrefix(p, "/api/")
}

// hasUnsafeChar: controls (which browsers strip from URLs, joining what
// they separated), DEL, backslashes (which browsers read as slashes).
func hasUnsafeChar(s string) bool {
	return strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' })
}

// loginPage serves the login page. An unsafe ?next= is dropped with a
// redirect to the same page without it, so that the page never holds a
// foreign destination, whatever its script does.
func (s *Server) loginPage(c *gin.Context) error {
	q := c.Request.URL.Query()
	if next, ok := q["next"]; ok && (len(next) != 1 || !safeNext(next[0])) {
		clean := url.Values{}
		if r := q.Get("reason"); r == "expired" || r == "logout" {
			clean.Set("reason", r)
		}
		to := "/login"
		if len(clean) > 0 {
			to += "?" + clean.Encode()
		}
		c.Redirect(http.StatusSeeOther, to)
		return nil
	}
	return s.page(c, "login.html")
}
