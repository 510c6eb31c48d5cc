package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// cloneVM answers the clone's pre-check (dry_run: 200 with the plan) or
// submits the clone (202 with the task); a plan where a disk has no
// place is 409 clone_no_space and nothing is copied.
func (s *Server) cloneVM(c *gin.Context) error {
	var req api.VMClone
	if err := decode(c, &req); err != nil {
		return err
	}
	name := guestOf(c).Name
	// Choosing the pool is for those who manage volumes: a guest's manager
	// gets the disks' own pools and the configured default pool.
	if req.Pool != "" {
		d, _ := sessionOf(c)
		if ok, err := s.d.Authz.Allowed(d.Principal(), perm("volume", "manage")); err != nil || !ok {
			return fault.CodeForbidden.New("only those who manage volumes may choose the clone's pool; leave pool empty")
		}
	}
	if req.DryRun {
		plan, err := s.d.Clones.Plan(c.Request.Context(), name, req)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, s.planView(c, plan))
		return nil
	}
	d, _ := sessionOf(c)
	in, _, err := s.d.Clones.Submit(c.Request.Context(), d.ID(), name, req)
	if err != nil {
		return err
	}
	s.accepted(c, in)
	return nil
}

// planView hides host paths from callers who may not see pool paths.
func (s *Server) planView(c *gin.Context, p api.ClonePlan) api.ClonePlan {
	if !s.seesPaths(c) {
		for i := range p.Disks {
			p.Disks[i].SourcePath = ""
		}
	}
	return p
}
