package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/services/tasks"
)

// Volume operations (issue 9): clone, wipe and download from a URL, each
// a task answered 202 with its URL.

// accepted answers 202 with the submitted task.
func (s *Server) accepted(c *gin.Context, in tasks.Info) {
	d, _ := sessionOf(c)
	id := strconv.FormatInt(in.ID, 10)
	c.Set(keyReason, "task:"+id)
	c.Header("Location", "/api/v1/tasks/"+id)
	c.JSON(http.StatusAccepted, tasks.View(s.d.Authz, d.Principal(), in))
}

func (s *Server) cloneVolume(c *gin.Context) error {
	ref, _ := objectOf[volumeRef](c)
	var req api.VolumeClone
	if err := decode(c, &req); err != nil {
		return err
	}
	d, _ := sessionOf(c)
	in, err := s.d.VolumeOps.SubmitClone(c.Request.Context(), d.ID(), ref.Pool, ref.Name, req)
	if err != nil {
		return err
	}
	s.accepted(c, in)
	return nil
}

func (s *Server) wipeVolume(c *gin.Context) error {
	ref, _ := objectOf[volumeRef](c)
	d, _ := sessionOf(c)
	in, err := s.d.VolumeOps.SubmitWipe(c.Request.Context(), d.ID(), ref.Pool, ref.Name)
	if err != nil {
		return err
	}
	s.accepted(c, in)
	return nil
}

func (s *Server) volumeFromURL(c *gin.Context) error {
	ref, _ := objectOf[poolRef](c)
	var req api.VolumeFromURL
	if err := decode(c, &req); err != nil {
		return err
	}
	if validVolumeName(req.Name) {
		c.Set(keyTarget, "volume:"+ref.Name+"/"+req.Name)
	}
	d, _ := sessionOf(c)
	in, err := s.d.VolumeOps.SubmitFromURL(c.Request.Context(), d.ID(), ref.Name, req)
	if err != nil {
		return err
	}
	s.accepted(c, in)
	return nil
}
