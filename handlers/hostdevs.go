package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
)

// permHostDev: host device passthrough is for administrators (admin has
// every permission; no other role holds this one).
var permHostDev = perm("hostdev", "manage")

func (s *Server) listHostDevices(c *gin.Context) error {
	out, err := s.d.Virt.HostDevices(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) listGuestHostDevs(c *gin.Context) error {
	out, err := s.d.Virt.GuestHostDevices(c.Request.Context(), guestOf(c).Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (s *Server) attachHostDev(c *gin.Context) error {
	var req api.HostDevAttach
	if err := decode(c, &req); err != nil {
		return err
	}
	c.Set(keyReason, "device:"+truncate(req.Device, 64))
	out, err := s.d.Virt.AttachHostDevice(c.Request.Context(), guestOf(c).Name, req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, out)
	return nil
}

func (s *Server) detachHostDev(c *gin.Context) error {
	out, err := s.d.Virt.DetachHostDevice(c.Request.Context(), guestOf(c).Name, c.Param("dev"))
	if err != nil {
		return err
	}
	c.Set(keyReason, "device:"+out.Device.ID)
	c.JSON(http.StatusOK, out)
	return nil
}
