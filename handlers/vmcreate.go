package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/vmcreate"
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
	a, err := s.d.VMCreate.Plan(c.Request.Context(), creatorGrant(d.Principal()), req)
	return s.submitPlanned(c, a, req.Name, err)
}

// importVM submits a guest's creation around an existing volume: 202 with
// the task.
func (s *Server) importVM(c *gin.Context) error {
	var req api.VMImport
	if err := decode(c, &req); err != nil {
		return err
	}
	d, _ := sessionOf(c)
	a, err := s.d.VMCreate.PlanImport(c.Request.Context(), creatorGrant(d.Principal()), req)
	return s.submitPlanned(c, a, req.Name, err)
}

// submitPlanned checks a planned creation against the creator's pool
// allow-list and queues it.
func (s *Server) submitPlanned(c *gin.Context, a vmcreate.Args, asked string, err error) error {
	d, _ := sessionOf(c)
	if err == nil {
		err = vmcreate.CheckPools(a, s.creatorPools(d.Principal()))
	}
	var in tasks.Info
	if err == nil {
		in, _, err = s.d.VMCreate.SubmitPlanned(c.Request.Context(), d.ID(), a)
	}
	return s.renderCreation(c, in, a.Spec.Name, asked, err)
}

// creatorPools are the pools a caller may place disks in: nil (any) for
// admins and for realms without creator_pools.
func (s *Server) creatorPools(p rbac.Principal) []string {
	if isAdmin(p) || s.d.Realms == nil {
		return nil
	}
	r, ok := s.d.Realms.Get(p.Realm)
	if !ok {
		return nil
	}
	if l, ok := r.(auth.PoolLimiter); ok && len(l.CreatorPools()) > 0 {
		return l.CreatorPools()
	}
	return nil
}

// creatorGrant is the manager grant a creator who is not an admin gets:
// they could not otherwise see or manage what they made.
func creatorGrant(p rbac.Principal) *api.Grant {
	if isAdmin(p) {
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
