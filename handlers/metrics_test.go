package handlers

import (
	"bytes"
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/virtportal/virtportal/api"
)

// TestMetrics scrapes /metrics with a token limited to metrics:read, which
// may do nothing else, and reads the text with Prometheus's own parser.
func TestMetrics(t *testing.T) {
	e := newEnv(t)
	admin := e.as("local", "admin")
	r := admin.do("POST", "/api/v1/tokens", map[string]any{"name": "scraper", "expires_in_days": 7, "permissions": []string{"metrics:read"}})
	want(t, r, http.StatusCreated, "")
	var nt api.NewToken
	r.decode(t, &nt)
	if len(nt.Token.Permissions) != 1 || nt.Token.Permissions[0] != "metrics:read" {
		t.Fatalf("token %+v", nt.Token)
	}
	scraper := e.client()
	scraper.bearer = nt.Secret

	for _, bad := range [][]string{{"metrics:write"}, {"../x"}, {"*"}} {
		want(t, admin.do("POST", "/api/v1/tokens", map[string]any{"name": "bad", "permissions": bad}), 422, "token_bad_permission")
	}
	// The limited token: /metrics and nothing else, whatever its owner may.
	want(t, scraper.do("GET", "/api/v1/vms", nil), http.StatusForbidden, "")
	want(t, scraper.do("GET", "/api/v1/session", nil), http.StatusForbidden, "")
	want(t, scraper.do("GET", "/api/v1/hosts/local", nil), http.StatusForbidden, "")
	var vms api.VMList
	admin.do("GET", "/api/v1/vms", nil).decode(t, &vms)
	if vms.Items[0].Name == "" {
		t.Fatal("no guests")
	}
	want(t, scraper.do("GET", "/api/v1/vms/"+vms.Items[0].Name, nil), http.StatusNotFound, "")
	admin.do("GET", "/api/v1/hosts/local", nil) // a libvirt call (capabilities)
	// Sessions and users without the permission may not scrape.
	want(t, e.as("local", "alice").do("GET", "/metrics", nil), http.StatusForbidden, "")
	want(t, e.client().do("GET", "/metrics", nil), http.StatusUnauthorized, "")
	// One refused login in the local realm, one in a realm that is none.
	e.client().login("local", "admin", "wrong password")
	e.client().login("nosuchrealm", "admin", "x")

	r = scraper.do("GET", "/metrics", nil)
	want(t, r, http.StatusOK, "")
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, r.body)
	}
	for _, name := range []string{"virtportal_http_request_duration_seconds", "virtportal_libvirt_call_duration_seconds",
		"virtportal_guests", "virtportal_sessions", "virtportal_consoles", "virtportal_uploads_in_progress",
		"virtportal_login_failures_total", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("no family %s", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	running := 0
	for _, v := range vms.Items {
		if v.State == api.StateRunning {
			running++
		}
	}
	if got := value(fams["virtportal_guests"], map[string]string{"host": "local", "state": "running"}); got != float64(running) {
		t.Errorf("running guests %v, want %d", got, running)
	}
	if got := value(fams["virtportal_login_failures_total"], map[string]string{"realm": "local"}); got != 1 {
		t.Errorf("local login failures %v", got)
	}
	if got := value(fams["virtportal_login_failures_total"], map[string]string{"realm": "unknown"}); got != 1 {
		t.Errorf("unknown-realm login failures %v", got)
	}
	if got := value(fams["virtportal_sessions"], nil); got < 2 {
		t.Errorf("sessions %v", got)
	}
	// Requests are labelled by route template, never by the raw path.
	var routes []string
	for _, m := range fams["virtportal_http_request_duration_seconds"].Metric {
		for _, l := range m.Label {
			if l.GetName() == "route" {
				routes = append(routes, l.GetValue())
				if l.GetValue() == "/api/v1/vms/"+vms.Items[0].Name {
					t.Errorf("a raw path became a label: %s", l.GetValue())
				}
			}
		}
	}
	for _, w := range []string{"/api/v1/vms", "/api/v1/vms/:name", "/api/v1/hosts/:host", "/api/v1/session"} {
		found := false
		for _, r := range routes {
			found = found || r == w
		}
		if !found {
			t.Errorf("no requests under %s in %v", w, routes)
		}
	}
}

// value is the gauge, counter or histogram count of the series with labels.
func value(f *dto.MetricFamily, labels map[string]string) float64 {
	if f == nil {
		return -1
	}
next:
	for _, m := range f.Metric {
		for k, v := range labels {
			ok := false
			for _, l := range m.Label {
				ok = ok || l.GetName() == k && l.GetValue() == v
			}
			if !ok {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}
