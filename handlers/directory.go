package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
)

const (
	dirDefaultLimit = 50
	dirMaxLimit     = 500
)

// searchDirectory answers /directory/users and /directory/groups over one
// realm, or every searchable realm when none is named.
func (s *Server) searchDirectory(groups bool) func(*gin.Context) error {
	return func(c *gin.Context) error {
		q := c.Query("q")
		if len(q) > 128 {
			return api.BadRequest("q longer than 128 bytes")
		}
		limit := dirDefaultLimit
		if v := c.Query("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > dirMaxLimit {
				return api.BadRequest("limit must be between 1 and %d", dirMaxLimit)
			}
			limit = n
		}
		var realms []auth.Realm
		if name := c.Query("realm"); name != "" {
			r, ok := s.d.Realms.Get(name)
			if !ok {
				return api.BadRequest("unknown realm %q", truncate(name, 32))
			}
			realms = []auth.Realm{r}
		} else {
			realms = s.d.Realms.All()
		}
		out := api.DirList{Items: []api.DirEntry{}}
		for _, r := range realms {
			dir, ok := r.(auth.Directory)
			if !ok {
				continue
			}
			search := dir.SearchUsers
			if groups {
				search = dir.SearchGroups
			}
			res, err := search(c.Request.Context(), q, limit)
			if err != nil {
				if auth.LoginReason(err) != auth.ReasonUnavailable {
					return s.internal(c, "directory search", err)
				}
				// One realm down must not hide the others from a merged search.
				if len(realms) == 1 {
					return api.Unavailable("the %s directory is unavailable", r.Label())
				}
				out.Unavailable = append(out.Unavailable, r.Name())
				continue
			}
			out.Items = append(out.Items, res.Items...)
			out.Truncated = out.Truncated || res.Truncated
		}
		c.JSON(http.StatusOK, out)
		return nil
	}
}
