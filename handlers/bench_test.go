package handlers

import (
	"net/http"
	"testing"
)

// BenchmarkListVMs is GET /api/v1/vms at 1,000 guests through the whole chain
// over loopback; `make bench` measures the same against a raw listing.
func BenchmarkListVMs(b *testing.B) {
	e := newEnvGuests(b, 1000)
	c := e.as("local", "admin")
	if r := c.do("GET", "/api/v1/vms", nil); r.status != http.StatusOK {
		b.Fatal(r.status)
	}
	for b.Loop() {
		if r := c.do("GET", "/api/v1/vms", nil); r.status != http.StatusOK {
			b.Fatal(r.status)
		}
	}
}
