// Package metrics is the portal's Prometheus registry: request and libvirt
// call latencies observed as they happen, and gauges (guests, sessions,
// consoles, tasks, uploads) read from their sources at each scrape. Label
// values come from fixed sets (route templates, operation names, realms,
// states): never a raw URL, and guest names only when configured.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/virtportal/virtportal/store"
)

// Sources are read at each scrape; a nil one is left out.
type Sources struct {
	Host string
	// Guests counts the host's guests by state.
	Guests func() map[string]int
	// Gauges reads sessions, tasks and uploads from the database.
	Gauges func(ctx context.Context) (store.Gauges, error)
	// Consoles counts the open consoles.
	Consoles func() int
	// GuestCPU gives each guest's CPU percent by name; used only when
	// Options.GuestNames is set.
	GuestCPU func() map[string]float64
}

// Options configure the registry.
type Options struct {
	// GuestNames adds per-guest series labelled with guest names (config
	// metrics.guest_names): off by default, a name is the tenant's.
	GuestNames bool
	Logger     *slog.Logger
}

// Metrics holds the registry and the instruments.
type Metrics struct {
	reg     *prometheus.Registry
	src     Sources
	opt     Options
	http    *prometheus.HistogramVec
	calls   *prometheus.HistogramVec
	callErr *prometheus.CounterVec
	logins  *prometheus.CounterVec

	guests, sessions, consoles, tasks, uploads, uploadBytes, guestCPU *prometheus.Desc
}

// New makes the registry over src.
func New(src Sources, opt Options) *Metrics {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	m := &Metrics{reg: prometheus.NewRegistry(), src: src, opt: opt,
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "virtportal_http_request_duration_seconds",
			Help: "HTTP requests by route template, method and status class.", Buckets: prometheus.ExponentialBuckets(0.0005, 4, 10)},
			[]string{"route", "method", "code"}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "virtportal_libvirt_call_duration_seconds",
			Help: "libvirt calls by operation.", Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10)}, []string{"host", "op"}),
		callErr: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "virtportal_libvirt_errors_total",
			Help: "Failed libvirt calls by operation."}, []string{"host", "op"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "virtportal_login_failures_total",
			Help: "Refused logins by realm."}, []string{"realm"}),
		guests:      prometheus.NewDesc("virtportal_guests", "Guests by host and state.", []string{"host", "state"}, nil),
		sessions:    prometheus.NewDesc("virtportal_sessions", "Live browser sessions.", nil, nil),
		consoles:    prometheus.NewDesc("virtportal_consoles", "Open consoles.", nil, nil),
		tasks:       prometheus.NewDesc("virtportal_tasks", "Tasks kept, by kind and status.", []string{"kind", "status"}, nil),
		uploads:     prometheus.NewDesc("virtportal_uploads_in_progress", "Uploads not yet complete.", nil, nil),
		uploadBytes: prometheus.NewDesc("virtportal_upload_pending_bytes", "Bytes still to come for the uploads in progress.", nil, nil),
		guestCPU:    prometheus.NewDesc("virtportal_guest_cpu_percent", "Each guest's CPU use (metrics.guest_names).", []string{"host", "name"}, nil),
	}
	m.reg.MustRegister(m.http, m.calls, m.callErr, m.logins, (*gauges)(m),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the text exposition.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(m.opt.Logger.Handler(), slog.LevelWarn)})
}

// ObserveHTTP records one request; route is the route table's path
// ("unmatched" for none).
func (m *Metrics) ObserveHTTP(route, method string, status int, d time.Duration) {
	m.http.WithLabelValues(route, method, strconv.Itoa(status/100)+"xx").Observe(d.Seconds())
}

// ObserveCall records one libvirt call (virt.CallObserver); d 0 is a
// failure known without its duration.
func (m *Metrics) ObserveCall(op string, d time.Duration, err error) {
	if d > 0 {
		m.calls.WithLabelValues(m.src.Host, op).Observe(d.Seconds())
	}
	if err != nil {
		m.callErr.WithLabelValues(m.src.Host, op).Inc()
	}
}

// LoginFailed counts a refused login in realm (a configured realm's name).
func (m *Metrics) LoginFailed(realm string) { m.logins.WithLabelValues(realm).Inc() }

// gauges collects the values read at scrape time.
type gauges Metrics

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{g.guests, g.sessions, g.consoles, g.tasks, g.uploads, g.uploadBytes, g.guestCPU} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	if g.src.Guests != nil {
		for state, n := range g.src.Guests() {
			ch <- prometheus.MustNewConstMetric(g.guests, prometheus.GaugeValue, float64(n), g.src.Host, state)
		}
	}
	if g.src.Consoles != nil {
		ch <- prometheus.MustNewConstMetric(g.consoles, prometheus.GaugeValue, float64(g.src.Consoles()))
	}
	if g.src.Gauges != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err := g.src.Gauges(ctx)
		if err != nil {
			g.opt.Logger.Warn("metrics: database gauges", "err", err)
		} else {
			ch <- prometheus.MustNewConstMetric(g.sessions, prometheus.GaugeValue, float64(v.Sessions))
			ch <- prometheus.MustNewConstMetric(g.uploads, prometheus.GaugeValue, float64(v.Uploads))
			ch <- prometheus.MustNewConstMetric(g.uploadBytes, prometheus.GaugeValue, float64(v.UploadsPending))
			for _, t := range v.Tasks {
				ch <- prometheus.MustNewConstMetric(g.tasks, prometheus.GaugeValue, float64(t.N), t.Kind, t.Status)
			}
		}
	}
	if g.opt.GuestNames && g.src.GuestCPU != nil {
		for name, v := range g.src.GuestCPU() {
			ch <- prometheus.MustNewConstMetric(g.guestCPU, prometheus.GaugeValue, v, g.src.Host, name)
		}
	}
}
