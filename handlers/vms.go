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
	d, _ := sessionOf(c)
	vms, err := s.guests.List(c.Request.Context(), d.Principal(), q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, api.VMList{Items: vms, Total: len(vms), AllowedActions: s.vmListActions(d.Principal())})
	return nil
}

func (s *Server) getVM(c *gin.Context) error {
	d, _ := sessionOf(c)
	vm, err := s.guests.Get(c.Request.Context(), d.Principal(), guestOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, vm)
	return nil
}

func (s *Server) vmAction(action string) func(*gin.Context) error {
	return func(c *gin.Context) error {
		d, _ := sessionOf(c)
		vm, err := s.guests.Action(c.Request.Context(), d.Principal(), guestOf(c), action)
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
