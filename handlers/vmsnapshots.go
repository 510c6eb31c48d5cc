package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
)

func (s *Server) listSnapshots(c *gin.Context) error {
	out, err := s.d.Virt.Snapshots(c.Request.Context(), guestOf(c).Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// createSnapshot answers 202 with the task taking the snapshot.
func (s *Server) createSnapshot(c *gin.Context) error {
	var req api.SnapshotRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	if s.d.Snapshots == nil {
		return fault.CodeNotSupported.New("snapshots need the task runner")
	}
	d, _ := sessionOf(c)
	in, err := s.d.Snapshots.Submit(c.Request.Context(), d.ID(), guestOf(c).Name, req)
	if err != nil {
		return err
	}
	id := strconv.FormatInt(in.ID, 10)
	c.Set(keyReason, "task:"+id+"; snapshot:"+req.Name)
	c.Header("Location", "/api/v1/tasks/"+id)
	c.JSON(http.StatusAccepted, tasks.View(s.d.Authz, d.Principal(), in))
	return nil
}

func (s *Server) revertSnapshot(c *gin.Context) error {
	vm, err := s.d.Virt.RevertSnapshot(c.Request.Context(), guestOf(c).Name, c.Param("snap"))
	if err != nil {
		return err
	}
	c.Set(keyReason, "snapshot:"+c.Param("snap"))
	c.JSON(http.StatusOK, vm)
	return nil
}

func (s *Server) deleteSnapshot(c *gin.Context) error {
	if err := s.d.Virt.DeleteSnapshot(c.Request.Context(), guestOf(c).Name, c.Param("snap")); err != nil {
		return err
	}
	c.Set(keyReason, "snapshot:"+c.Param("snap"))
	c.Status(http.StatusNoContent)
	return nil
}
