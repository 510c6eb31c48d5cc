package handlers

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/virtportal/virtportal/services/metrics"
	"github.com/virtportal/virtportal/store"
)

// permMetrics scrapes /metrics: admins (everything), auditors, and API
// tokens limited to it (POST /api/v1/tokens {"permissions":["metrics:read"]}).
var permMetrics = perm("metrics", "read")

// initMetrics makes the registry when Deps has none, over the server's
// own sources, and has the manager report its libvirt calls to it.
func (s *Server) initMetrics() {
	if s.d.Metrics == nil {
		src := metrics.Sources{Host: s.opt.Host}
		if st := s.d.Store; st != nil {
			src.Gauges = func(ctx context.Context) (store.Gauges, error) { return st.MetricGauges(ctx, s.now()) }
		}
		if vm := s.d.Virt; vm != nil {
			src.Guests = vm.StateCounts
			src.GuestCPU = func() map[string]float64 {
				vms, _ := vm.List(context.Background())
				out := make(map[string]float64, len(vms))
				for _, v := range vms {
					out[v.Name] = v.CPUPercent
				}
				return out
			}
		}
		src.Consoles = func() int {
			if s.consoles == nil {
				return 0
			}
			return s.consoles.Count()
		}
		s.d.Metrics = metrics.New(src, metrics.Options{Logger: s.log, GuestNames: s.opt.MetricsGuestNames})
	}
	if s.d.Virt != nil {
		s.d.Virt.ObserveCalls(s.d.Metrics.ObserveCall)
	}
}

// observeHTTP times every request under its route template (never the
// raw path: a guest's name would become a label).
func (s *Server) observeHTTP(c *gin.Context) {
	start := time.Now()
	c.Next()
	route := c.FullPath()
	if route == "" {
		route = "unmatched"
	}
	s.d.Metrics.ObserveHTTP(route, c.Request.Method, c.Writer.Status(), time.Since(start))
}

// loginFailed counts a refused login under its realm when the realm is
// one of ours (any other name would let callers invent labels).
func (s *Server) loginFailed(realm string) {
	if s.d.Realms != nil {
		if _, ok := s.d.Realms.Get(realm); ok {
			s.d.Metrics.LoginFailed(realm)
			return
		}
	}
	s.d.Metrics.LoginFailed("unknown")
}

func (s *Server) metricsPage(c *gin.Context) error {
	s.d.Metrics.Handler().ServeHTTP(c.Writer, c.Request)
	return nil
}
