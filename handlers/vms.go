package handlers

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
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
	vms, err := s.d.Virt.List(c.Request.Context())
	if err != nil {
		return err
	}
	d, _ := sessionOf(c)
	p := d.Principal()
	all, err := s.d.Authz.SeesAll(p)
	if err != nil {
		return s.internal(c, "authorize", err)
	}
	if !all {
		vms, err = s.visible(p, vms)
		if err != nil {
			return s.internal(c, "authorize", err)
		}
	}
	vms = q.Apply(vms)
	c.JSON(http.StatusOK, api.VMList{Items: vms, Total: len(vms)})
	return nil
}

// visible keeps the guests p may read.
func (s *Server) visible(p rbac.Principal, vms []api.VM) ([]api.VM, error) {
	kept := vms[:0]
	read := rbac.Permission{Object: "vm", Action: "read"}
	for _, vm := range vms {
		ok, err := s.d.Authz.AllowedOn(p, read, vm.Name)
		if err != nil {
			return nil, err
		}
		if ok {
			kept = append(kept, vm)
		}
	}
	return kept, nil
}

func (s *Server) getVM(c *gin.Context) error {
	vm, err := s.d.Virt.Get(c.Request.Context(), c.Param("name"))
	if err != nil {
		return err
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
		return api.BadRequest("volumes must be true or false, not %q", truncate(v, 16))
	}
	if err := s.d.Virt.Delete(c.Request.Context(), c.Param("name"), volumes); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}
