package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/stats"
	"github.com/virtportal/virtportal/virt"
)

// initStats makes the statistics service when Deps has none: guests'
// samples flow in from the manager, the host is not sampled (tests).
func (s *Server) initStats() {
	if s.d.Stats == nil && s.d.Store != nil && s.d.Virt != nil {
		s.d.Stats = stats.New(s.d.Store, stats.Options{Host: s.opt.Host, Now: s.opt.Now, Logger: s.log})
		s.d.Stats.Attach(s.d.Virt)
	}
}

// CodeStatsUnavailable answers statistics routes of a server built without them.
var CodeStatsUnavailable = fault.Define("stats_unavailable", fault.Unavailable)

func (s *Server) statsService() (*stats.Service, error) {
	if s.d.Stats == nil {
		return nil, CodeStatsUnavailable.New("statistics are not kept by this server")
	}
	return s.d.Stats, nil
}

func (s *Server) hostStats(c *gin.Context) error {
	st, err := s.statsService()
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st.HostNow())
	return nil
}

func (s *Server) hostStatsHistory(c *gin.Context) error {
	st, err := s.statsService()
	if err != nil {
		return err
	}
	q, err := stats.ParseQuery(c.Query("from"), c.Query("to"), c.Query("step"), s.now())
	if err != nil {
		return err
	}
	h, err := st.HostHistory(c.Request.Context(), q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, h)
	return nil
}

// guestUUID is the UUID the guest's history is kept under.
func (s *Server) guestUUID(c *gin.Context) (string, error) {
	name := guestOf(c).Name
	id, ok := s.d.Virt.UUIDOf(name)
	if !ok {
		return "", virt.GuestNotFound(name)
	}
	return id, nil
}

func (s *Server) vmStats(c *gin.Context) error {
	st, err := s.statsService()
	if err != nil {
		return err
	}
	id, err := s.guestUUID(c)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, st.GuestNow(id))
	return nil
}

func (s *Server) vmStatsHistory(c *gin.Context) error {
	st, err := s.statsService()
	if err != nil {
		return err
	}
	id, err := s.guestUUID(c)
	if err != nil {
		return err
	}
	q, err := stats.ParseQuery(c.Query("from"), c.Query("to"), c.Query("step"), s.now())
	if err != nil {
		return err
	}
	h, err := st.GuestHistory(c.Request.Context(), id, q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, h)
	return nil
}

// version answers GET /api/v1/version; a signed-in caller also learns the
// versions of libvirt and the hypervisor.
func (s *Server) version(c *gin.Context) error {
	v := api.Version{Version: s.opt.Version, Commit: s.opt.Commit, API: api.APIVersion}
	if v.Version == "" {
		v.Version = "dev"
	}
	if _, ok := sessionOf(c); ok && s.d.Virt != nil && s.d.Virt.Ready() == nil {
		if _, lv, hv, err := s.d.Virt.Versions(c.Request.Context()); err == nil {
			v.Libvirt, v.QEMU = lv, hv
		}
	}
	c.JSON(http.StatusOK, v)
	return nil
}

var statsQuery = []Param{{"from", "RFC 3339 time or unix seconds; default an hour before to"}, {"to", "RFC 3339 time or unix seconds; default now"},
	{"step", "1s (the last hour, from memory) or a multiple of 60s (minute aggregates, 7 days); default 1s within the last hour"}}
