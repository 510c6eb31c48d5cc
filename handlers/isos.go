package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

// The ISO library and OS detection (issue 9): who may read volumes reads
// them; users of guests see neither.

// volumeOS answers the OS a volume's ISO descriptor names; 501
// volume_read_not_supported where the driver has no volume contents.
func (s *Server) volumeOS(c *gin.Context) error {
	ref, _ := objectOf[volumeRef](c)
	out, err := s.d.Storage.VolumeOS(c.Request.Context(), ref.Pool, ref.Name)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// listISOs is the ISO library of the host.
func (s *Server) listISOs(c *gin.Context) error {
	out, err := s.d.Storage.ListISOs(c.Request.Context())
	if err != nil {
		return err
	}
	if !s.seesPaths(c) {
		for i := range out.Items {
			out.Items[i].Path = ""
		}
	}
	c.JSON(http.StatusOK, out)
	return nil
}
