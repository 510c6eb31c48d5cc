package virt

import (
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzValidateNames: a guest, pool, volume or network name that is accepted is a
// plain ASCII file name that stays in its folder, within its length bound.
func FuzzValidateNames(f *testing.F) {
	for _, n := range hostileNames { // storage_test.go
		f.Add(n)
	}
	for _, n := range []string{"web01", "db-2.qcow2", "a+b_c", "9", "-rf", `a\b`, "web\u00a001", "web01\u202e", "a%2fb"} {
		f.Add(n)
	}
	if seeds, _ := filepath.Glob("testdata/fuzz/FuzzValidateNames/*"); len(seeds) == 0 {
		f.Fatal("no seed corpus in testdata/fuzz/FuzzValidateNames")
	}
	checks := []struct {
		kind     string
		validate func(string) error
		max      int
	}{
		{"guest", ValidateName, MaxNameLen},
		{"pool", ValidatePoolName, MaxPoolNameLen},
		{"volume", ValidateVolumeName, MaxVolumeNameLen},
		{"network", ValidateNetworkName, MaxNetworkNameLen},
	}
	f.Fuzz(func(t *testing.T, name string) {
		for _, c := range checks {
			if c.validate(name) != nil {
				continue
			}
			if len(name) == 0 || len(name) > c.max || !utf8.ValidString(name) {
				t.Fatalf("%s name %q accepted: empty, too long or not UTF-8", c.kind, name)
			}
			for _, r := range name {
				if r > 0x7e || r < 0x21 {
					t.Fatalf("%s name %q accepted with %U", c.kind, name, r)
				}
			}
			if strings.ContainsAny(name, `/\:*?%" `) || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-") {
				t.Fatalf("%s name %q accepted with a separator, wildcard or leading dot/dash", c.kind, name)
			}
			const dir = "/var/lib/pool"
			if p := filepath.Join(dir, name); filepath.Dir(p) != dir || filepath.Base(p) != name {
				t.Fatalf("%s name %q leaves its folder: %s", c.kind, name, p)
			}
		}
	})
}
