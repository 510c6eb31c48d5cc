package handlers

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/virt"
)

// permVMCreate: admins, and creators (a realm's creator_users and
// creator_groups).
var permVMCreate = perm("vm", "create")

// vmListActions says what a caller may do beside the listed guests.
func (s *Server) vmListActions(p rbac.Principal) []string {
	out := []string{}
	if ok, err := s.d.Authz.Allowed(p, permVMCreate); err == nil && ok {
		out = append(out, "create")
	}
	return out
}

// createVM submits a guest's creation from a template: 202 with the task.
func (s *Server) createVM(c *gin.Context) error {
	var req api.VMCreate
	if err := decode(c, &req); err != nil {
		return err
	}
	d, _ := sessionOf(c)
	in, name, err := s.d.VMCreate.Submit(c.Request.Context(), d.ID(), creatorGrant(d.Principal()), req)
	return s.renderCreation(c, in, name, req.Name, err)
}

// importVM submits a guest's creation around an existing volume: 202 with
// the task.
func (s *Server) importVM(c *gin.Context) error {
	var req api.VMImport
	if err := decode(c, &req); err != nil {
		return err
	}
	d, _ := sessionOf(c)
	in, name, err := s.d.VMCreate.SubmitImport(c.Request.Context(), d.ID(), creatorGrant(d.Principal()), req)
	return s.renderCreation(c, in, name, req.Name, err)
}

// creatorGrant is the manager grant a creator who is not an admin gets:
// they could not otherwise see or manage what they made.
func creatorGrant(p rbac.Principal) *api.Grant {
	if slices.Contains(p.Roles, rbac.RoleAdmin) {
		return nil
	}
	return &api.Grant{Kind: "user", Realm: p.Realm, Name: p.Name, Role: api.RoleManager}
}

// renderCreation audits the guest's name and answers 202 with the task.
func (s *Server) renderCreation(c *gin.Context, in tasks.Info, name, asked string, err error) error {
	d, _ := sessionOf(c)
	p := d.Principal()
	if name == "" && virt.ValidateName(asked) == nil {
		name = asked // refused before a name was settled: audit the one asked for
	}
	if name != "" {
		c.Set(keyTarget, "vm:"+name)
	}
	if err != nil {
		return err
	}
	id := strconv.FormatInt(in.ID, 10)
	c.Set(keyReason, "task:"+id)
	c.Header("Location", "/api/v1/tasks/"+id)
	c.JSON(http.StatusAccepted, tasks.View(s.d.Authz, p, in))
	return nil
}
