package handlers

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/templates"
	"github.com/virtportal/virtportal/store"
)

// Template permissions (issue 10): administrators manage templates; those
// who may create guests read them.
var (
	permTemplateRead   = perm("template", "read")
	permTemplateManage = perm("template", "manage")
)

func templateScope(param string) Scope { return Scope{Kind: "template", Param: param} }

// validTemplateID accepts a positive decimal id.
func validTemplateID(id string) bool {
	n, err := strconv.ParseInt(id, 10, 64)
	return err == nil && n > 0 && strconv.FormatInt(n, 10) == id
}

// tmpl is the template service of the host.
func (s *Server) tmpl() (*templates.Service, error) {
	if s.d.Store == nil || s.d.Virt == nil {
		return nil, fault.CodeUnavailable.New("templates need the database and the host")
	}
	return templates.New(s.d.Store, s.d.Virt, s.now), nil
}

// resolveTemplate decides perm and finds the template: 404 for those who
// may not read templates and for a missing one.
func (s *Server) resolveTemplate(c *gin.Context, p rbac.Principal, perm rbac.Permission, id string) (any, error) {
	if !validTemplateID(id) {
		return nil, fault.CodeInvalidName.New("a template id is a positive number")
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	var t api.Template
	err := s.decideSeen(p, permTemplateRead, perm, store.CodeTemplateNotFound.New("no such template"), func() error {
		svc, err := s.tmpl()
		if err != nil {
			return err
		}
		t, err = svc.Template(c.Request.Context(), n)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// isAdmin: administrators alone may let graphics listen beyond loopback.
func isAdmin(p rbac.Principal) bool { return slices.Contains(p.Roles, rbac.RoleAdmin) }

// templateActions are what the caller may do with templates.
func (s *Server) templateActions(p rbac.Principal) []string {
	out := []string{}
	for _, a := range []rbac.Permission{permTemplateManage, perm("vm", "create")} {
		if ok, err := s.d.Authz.Allowed(p, a); err == nil && ok {
			out = append(out, a.Object+"."+a.Action)
		}
	}
	return out
}

func (s *Server) withActions(p rbac.Principal, t api.Template) api.Template {
	t.AllowedActions = s.templateActions(p)
	return t
}

func (s *Server) listTemplates(c *gin.Context) error {
	svc, err := s.tmpl()
	if err != nil {
		return err
	}
	ts, err := svc.List(c.Request.Context())
	if err != nil {
		return err
	}
	d, _ := sessionOf(c)
	acts := s.templateActions(d.Principal())
	for i := range ts {
		ts[i].AllowedActions = acts
	}
	c.JSON(http.StatusOK, api.TemplateList{Items: ts, AllowedActions: acts})
	return nil
}

func (s *Server) getTemplate(c *gin.Context) error {
	t, _ := objectOf[api.Template](c)
	d, _ := sessionOf(c)
	c.JSON(http.StatusOK, s.withActions(d.Principal(), t))
	return nil
}

func (s *Server) createTemplate(c *gin.Context) error {
	var in api.Template
	if err := decode(c, &in); err != nil {
		return err
	}
	svc, err := s.tmpl()
	if err != nil {
		return err
	}
	d, _ := sessionOf(c)
	t, err := svc.Create(c.Request.Context(), in, isAdmin(d.Principal()))
	if err != nil {
		return err
	}
	c.Set(keyTarget, "template:"+strconv.FormatInt(t.ID, 10))
	c.JSON(http.StatusCreated, s.withActions(d.Principal(), t))
	return nil
}

func (s *Server) putTemplate(c *gin.Context) error {
	old, _ := objectOf[api.Template](c)
	var in api.Template
	if err := decode(c, &in); err != nil {
		return err
	}
	svc, err := s.tmpl()
	if err != nil {
		return err
	}
	d, _ := sessionOf(c)
	t, err := svc.Update(c.Request.Context(), old.ID, in, isAdmin(d.Principal()))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, s.withActions(d.Principal(), t))
	return nil
}

func (s *Server) deleteTemplate(c *gin.Context) error {
	old, _ := objectOf[api.Template](c)
	svc, err := s.tmpl()
	if err != nil {
		return err
	}
	if err := svc.Delete(c.Request.Context(), old.ID); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Server) copyTemplate(c *gin.Context) error {
	old, _ := objectOf[api.Template](c)
	var in api.TemplateCopy
	// An empty body copies under the default name.
	if c.Request.ContentLength != 0 {
		if err := decode(c, &in); err != nil {
			return err
		}
	}
	svc, err := s.tmpl()
	if err != nil {
		return err
	}
	t, err := svc.Copy(c.Request.Context(), old.ID, in.Name)
	if err != nil {
		return err
	}
	d, _ := sessionOf(c)
	c.JSON(http.StatusCreated, s.withActions(d.Principal(), t))
	return nil
}

// maxOSQuery bounds the OS search's query and answer.
const (
	maxOSQuery  = 64
	maxOSAnswer = 20
)

func (s *Server) osDefaults(c *gin.Context) error {
	os := c.Query("os")
	if len(os) > 256 {
		return fault.CodeBadRequest.New("os: at most 256 bytes")
	}
	svc, err := s.tmpl()
	if err != nil {
		return err
	}
	d, err := svc.Defaults(c.Request.Context(), os)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, d)
	return nil
}

func (s *Server) searchOS(c *gin.Context) error {
	q := c.Query("q")
	if len(q) > maxOSQuery {
		return fault.CodeBadRequest.New("q: at most %d bytes", maxOSQuery)
	}
	svc, err := s.tmpl()
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, svc.SearchOS(q, maxOSAnswer))
	return nil
}
