package handlers

import (
	"bytes"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/static"
	"github.com/virtportal/virtportal/store"
)

func (s *Server) healthz(c *gin.Context) error {
	c.JSON(http.StatusOK, api.Health{Status: "ok"})
	return nil
}

func (s *Server) readyz(c *gin.Context) error {
	h := api.Health{Status: "ok", Checks: map[string]string{"database": "ok", "libvirt": "ok"}}
	if err := s.d.Store.Ping(c.Request.Context()); err != nil {
		h.Status, h.Checks["database"] = "unavailable", "unreachable"
	}
	if err := s.d.Virt.Ready(); err != nil {
		h.Status, h.Checks["libvirt"] = "unavailable", "unreachable"
	}
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	c.JSON(status, h)
	return nil
}

// getHost answers /api/v1/hosts/{host} (the scope resolved the host) and
// the older /api/v1/host, which is the one host.
func (s *Server) getHost(c *gin.Context) error {
	h, err := s.d.Virt.Host(c.Request.Context())
	if err != nil {
		return err
	}
	h.Name = s.opt.Host
	if ref, ok := objectOf[hostRef](c); ok {
		h.Name = ref.Name
	}
	c.JSON(http.StatusOK, h)
	return nil
}

// listHosts answers GET /api/v1/hosts: every host with its state and
// versions; the URI only for those who may configure hosts.
func (s *Server) listHosts(c *gin.Context) error {
	d, _ := sessionOf(c)
	showURI, err := s.d.Authz.Allowed(d.Principal(), perm("host", "config"))
	if err != nil {
		return s.internal(c, "authorize", err)
	}
	h := api.HostSummary{Name: s.opt.Host, State: api.HostConnected}
	if err := s.d.Virt.Ready(); err != nil {
		h.State = api.HostUnreachable
	} else if h.Driver, h.Libvirt, h.Hypervisor, err = s.d.Virt.Versions(c.Request.Context()); err != nil {
		s.log.Warn("host versions", "request_id", c.GetString(keyReqID), "host", h.Name, "err", err)
		h.State = api.HostUnreachable
	}
	if showURI {
		h.URI = s.d.Virt.URI()
	}
	c.JSON(http.StatusOK, api.HostList{Items: []api.HostSummary{h}})
	return nil
}

func (s *Server) listAudit(c *gin.Context) error {
	f := store.AuditFilter{Actor: c.Query("user"), Realm: c.Query("realm"), Action: c.Query("action"),
		Target: c.Query("target"), Result: c.Query("result")}
	var err error
	if f.Since, err = timeParam(c, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(c, "until"); err != nil {
		return err
	}
	if v := c.Query("before"); v != "" {
		if f.BeforeID, err = strconv.ParseInt(v, 10, 64); err != nil || f.BeforeID <= 0 {
			return fault.CodeBadRequest.New("before must be a positive event id")
		}
	}
	if v := c.Query("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit <= 0 || f.Limit > store.MaxListLimit {
			return fault.CodeBadRequest.New("limit must be between 1 and %d", store.MaxListLimit)
		}
	}
	items, err := s.d.Store.ListAudit(c.Request.Context(), f)
	if err != nil {
		return s.internal(c, "audit list", err)
	}
	out := api.AuditList{Items: items, Next: f.Next(items)}
	if out.Items == nil {
		out.Items = []api.AuditEvent{}
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func timeParam(c *gin.Context, name string) (time.Time, error) {
	v := c.Query(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fault.CodeBadRequest.New("%s must be an RFC 3339 time", name)
	}
	return t, nil
}

type pageData struct {
	Title, Version, Lang string
}

func (s *Server) page(c *gin.Context, name string) error {
	return s.pageStatus(c, name, http.StatusOK)
}

func (s *Server) pageStatus(c *gin.Context, name string, status int) error {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-cache")
	// The language comes from the vp_lang cookie or Accept-Language (lang.go).
	c.Header("Vary", "Accept-Language, Cookie")
	c.Status(status)
	if err := s.pages.ExecuteTemplate(c.Writer, name, pageData{Title: "virtportal", Version: s.assets, Lang: pageLang(c.Request)}); err != nil {
		s.log.Error("page render", "page", name, "err", err)
	}
	return nil
}

func (s *Server) appPage(c *gin.Context) error { return s.page(c, "app.html") }

// hashedAsset matches the chunks esbuild names by their content
// ([name]-[hash].js): a new build gives new names, so they never go stale.
var hashedAsset = regexp.MustCompile(`^dist/[a-z0-9-]+-[A-Z0-9]{8}\.js$`)

func (s *Server) staticFile(c *gin.Context) error {
	name := path.Clean("dist/" + c.Param("file"))
	b, err := fs.ReadFile(static.FS, name)
	// Source maps stay out of the binary's answers: a development build
	// inlines them into the bundle instead.
	if !strings.HasPrefix(name, "dist/") || strings.HasSuffix(name, ".map") || err != nil {
		return fault.CodeNotFound.New("no such file")
	}
	if c.Query("v") == s.assets || hashedAsset.MatchString(name) {
		c.Header("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		c.Header("Cache-Control", "no-cache")
	}
	if tag := s.etags[name]; tag != "" {
		c.Header("ETag", tag)
	}
	http.ServeContent(c.Writer, c.Request, name, time.Time{}, bytes.NewReader(b))
	return nil
}
