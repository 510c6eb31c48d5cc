package handlers

import (
	"net/http"
	"testing"

	"github.com/virtportal/virtportal/fault"
)

// TestEveryKindHasAStatus keeps statusOf complete: a kind without a status
// would render as status 0.
func TestEveryKindHasAStatus(t *testing.T) {
	for _, k := range fault.Kinds() {
		t.Run(k.String(), func(t *testing.T) {
			st, ok := statusOf[k]
			if !ok || st < 400 || st > 599 || http.StatusText(st) == "" {
				t.Fatalf("kind %s maps to %d", k, st)
			}
		})
	}
	if len(statusOf) != len(fault.Kinds()) {
		t.Fatalf("statusOf has %d entries for %d kinds", len(statusOf), len(fault.Kinds()))
	}
}

// TestCodesAreListed checks the registry the API document and the browser's
// catalogs are built from: every code of the packages linked into the
// server is there once, with a name of the wire's shape.
func TestCodesAreListed(t *testing.T) {
	codes := fault.Codes()
	if len(codes) == 0 {
		t.Fatal("no codes registered")
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c.Name] {
			t.Errorf("code %q listed twice", c.Name)
		}
		seen[c.Name] = true
		for _, r := range c.Name {
			if (r < 'a' || r > 'z') && r != '_' {
				t.Errorf("code %q: only a-z and _", c.Name)
				break
			}
		}
		if _, ok := statusOf[c.Kind]; !ok {
			t.Errorf("code %q has kind %s without a status", c.Name, c.Kind)
		}
	}
	// Codes from each layer below are linked in and listed.
	for _, name := range []string{"guest_running", "guest_not_found", "token_used", "user_exists", "unknown_realm", "csrf", "internal"} {
		if !seen[name] {
			t.Errorf("code %q is not listed", name)
		}
	}
}
