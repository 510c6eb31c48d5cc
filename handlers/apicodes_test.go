package handlers

import (
	"encoding/json"
	"flag"
	"os"
	"slices"
	"testing"

	"github.com/virtportal/virtportal/fault"
)

var updateCodes = flag.Bool("update-codes", false, "rewrite static/src/lib/apicodes.json from the registered error codes")

// apiCodesFile lists every error code the server can answer; the browser's
// catalogs must translate each (static/src/lib/i18n.test.js reads it).
const apiCodesFile = "../static/src/lib/apicodes.json"

// TestAPICodesFile keeps the browser's list of error codes equal to the
// codes registered here, so that a new code without a translation fails
// the JavaScript tests.
func TestAPICodesFile(t *testing.T) {
	var names []string
	for _, c := range fault.Codes() {
		names = append(names, c.Name)
	}
	if *updateCodes {
		b, _ := json.MarshalIndent(names, "", "  ")
		if err := os.WriteFile(apiCodesFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(apiCodesFile)
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	if err := json.Unmarshal(b, &listed); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, names) {
		var added, gone []string
		for _, n := range names {
			if !slices.Contains(listed, n) {
				added = append(added, n)
			}
		}
		for _, n := range listed {
			if !slices.Contains(names, n) {
				gone = append(gone, n)
			}
		}
		t.Fatalf("%s is out of date (new codes %v, removed %v): run `go test ./handlers -run TestAPICodesFile -update-codes` and translate the new codes in static/src/lib/catalogs/*.errors.js", apiCodesFile, added, gone)
	}
}
