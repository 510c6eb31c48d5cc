package handlers

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/virt"
)

func (s *Server) listVMs(c *gin.Context) error {
	q := virt.ListQuery{Q: c.Query("q"), Sort: c.Query("sort")}
	if st := c.Query("state"); st != "" {
		q.States = strings.Split(st, ",")
	}
	if err := q.Validate(); err != nil {
		return err
	}
	d, _ := sessionOf(c)
	p := d.Principal()
	all, err := s.d.Authz.SeesAll(p)
	if err != nil {
		return s.internal(c, "authorize", err)
	}
	var vms []api.VM
	if all {
		if vms, err = s.d.Virt.List(c.Request.Context()); err != nil {
			return err
		}
		for i := range vms {
			vms[i].MyRole = s.d.Authz.RoleOn(p, vms[i].Name) // admin or auditor, no grant read
		}
		if err := s.fillListActions(p, vms, nil); err != nil {
			return s.internal(c, "authorize", err)
		}
	} else {
		// Walk the caller's grants, never every guest; each guest's grants once.
		grs, err := s.d.Authz.GrantedRoles(p, perm("vm", "read"))
		if err != nil {
			return s.internal(c, "authorize", err)
		}
		names, roles := make([]string, len(grs)), make(map[string]string, len(grs))
		guestRoles := make(map[string][]string, len(grs))
		for i, gr := range grs {
			names[i], roles[gr.Guest], guestRoles[gr.Guest] = gr.Guest, gr.Role, gr.Roles
		}
		if vms, err = s.d.Virt.ListNames(c.Request.Context(), names); err != nil {
			return err
		}
		for i := range vms {
			vms[i].MyRole = roles[vms[i].Name]
		}
		if err := s.fillListActions(p, vms, guestRoles); err != nil {
			return s.internal(c, "authorize", err)
		}
	}
	vms = q.Apply(vms)
	c.JSON(http.StatusOK, api.VMList{Items: vms, Total: len(vms)})
	return nil
}

// roleOn is the caller's effective role on guest, for the UI's buttons.
func (s *Server) roleOn(c *gin.Context, guest string) string {
	d, _ := sessionOf(c)
	return s.d.Authz.RoleOn(d.Principal(), guest)
}

func (s *Server) getVM(c *gin.Context) error {
	vm, err := s.d.Virt.Get(c.Request.Context(), c.Param("name"))
	if err != nil {
		return err
	}
	d, _ := sessionOf(c)
	vm.MyRole = s.d.Authz.RoleOn(d.Principal(), vm.Name)
	if err := s.fillActions(d.Principal(), &vm.VM); err != nil {
		return s.internal(c, "authorize", err)
	}
	// Where the host keeps its files is the host's business: only callers
	// who may read the host see the paths (an rbac error hides them too).
	if ok, err := s.d.Authz.Allowed(d.Principal(), perm("host", "read")); err != nil || !ok {
		virt.HideHostPaths(&vm)
	}
	c.JSON(http.StatusOK, vm)
	return nil
}

func (s *Server) vmAction(action string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		vm, err := s.d.Virt.Action(c.Request.Context(), c.Param("name"), action)
		if err != nil {
			return err
		}
		vm.MyRole = s.roleOn(c, vm.Name)
		d, _ := sessionOf(c)
		if err := s.fillActions(d.Principal(), &vm); err != nil {
			return s.internal(c, "authorize", err)
		}
		c.JSON(http.StatusOK, vm)
		return nil
	}
}

func (s *Server) deleteVM(c *gin.Context) error {
	volumes := false
	switch v := c.Query("volumes"); v {
	case "", "false", "0":
	case "true", "1":
		volumes = true
	default:
		return fault.CodeBadRequest.New("volumes must be true or false, not %q", truncate(v, 16))
	}
	if !volumes {
		if err := s.d.Virt.Delete(c.Request.Context(), c.Param("name"), false); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	}
	// With volumes the deletion is a task: 202 with the task's URL.
	d, _ := sessionOf(c)
	in, err := s.d.VMTasks.SubmitDelete(c.Request.Context(), d.ID(), c.Param("name"))
	if err != nil {
		return err
	}
	id := strconv.FormatInt(in.ID, 10)
	c.Set(keyReason, "task:"+id)
	c.Header("Location", "/api/v1/tasks/"+id)
	c.JSON(http.StatusAccepted, tasks.View(s.d.Authz, d.Principal(), in))
	return nil
}
