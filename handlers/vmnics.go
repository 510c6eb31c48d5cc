package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/services/networks"
	"github.com/virtportal/virtportal/services/vmnics"
)

// nics is the NIC editor of the host.
func (s *Server) nics() *vmnics.Service {
	return vmnics.New(s.d.Virt, s.guests, networks.New(s.d.Virt), s.d.Authz)
}

func (s *Server) listNICs(c *gin.Context) error {
	d, _ := sessionOf(c)
	out, err := s.nics().List(c.Request.Context(), d.Principal(), guestOf(c).Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) addNIC(c *gin.Context) error {
	var req api.NICRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, _ := sessionOf(c)
	out, err := s.nics().Add(c.Request.Context(), d.Principal(), guestOf(c).Name, req)
	if err != nil {
		return err
	}
	c.Set(keyReason, "nic:"+out.NIC.MAC)
	c.JSON(http.StatusCreated, out)
	return nil
}

func (s *Server) updateNIC(c *gin.Context) error {
	var req api.NICRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	d, _ := sessionOf(c)
	out, err := s.nics().Update(c.Request.Context(), d.Principal(), guestOf(c).Name, c.Param("mac"), req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) removeNIC(c *gin.Context) error {
	out, err := s.nics().Remove(c.Request.Context(), guestOf(c).Name, c.Param("mac"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}
