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
	p := d.Principal()
	// A creator who is not an admin could not otherwise see or manage
	// what they made: they become its manager, in its metadata.
	var creator *api.Grant
	if !slices.Contains(p.Roles, rbac.RoleAdmin) {
		creator = &api.Grant{Kind: "user", Realm: p.Realm, Name: p.Name, Role: api.RoleManager}
	}
	in, name, err := s.d.VMCreate.Submit(c.Request.Context(), d.ID(), creator, req)
	if name == "" && virt.ValidateName(req.Name) == nil {
		name = req.Name // refused before a name was settled: audit the one asked for
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
