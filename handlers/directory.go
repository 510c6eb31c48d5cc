package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/virtportal/virtportal/fault"
)

const (
	dirDefaultLimit = 50
	dirMaxLimit     = 500
)

// searchDirectory answers /directory/users and /directory/groups over one
// realm, or every searchable realm when none is named (auth.Realms.Search).
func (s *Server) searchDirectory(groups bool) func(*gin.Context) error {
	return func(c *gin.Context) error {
		q := c.Query("q")
		if len(q) > 128 {
			return fault.CodeBadRequest.New("q longer than 128 bytes")
		}
		limit := dirDefaultLimit
		if v := c.Query("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > dirMaxLimit {
				return fault.CodeBadRequest.New("limit must be between 1 and %d", dirMaxLimit)
			}
			limit = n
		}
		out, err := s.d.Realms.Search(c.Request.Context(), c.Query("realm"), q, limit, groups)
		if err != nil {
			if fault.As(err) == nil {
				return s.internal(c, "directory search", err)
			}
			return err
		}
		c.JSON(http.StatusOK, out)
		return nil
	}
}
