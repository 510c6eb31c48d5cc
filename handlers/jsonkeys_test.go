package handlers

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Regression (issue 8 §7): {"username":"bob","USERNAME":"tim"} logged in tim.
func TestDecodeKeys(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       string // "" when the body is accepted
	}{
		{"exact keys", `{"realm":"local","username":"bob","password":"x"}`, ""},
		{"case variant after the key", `{"username":"bob","USERNAME":"tim"}`, "duplicate_key"},
		{"exact duplicate", `{"username":"bob","username":"tim"}`, "duplicate_key"},
		{"case variant alone", `{"USERNAME":"tim"}`, "key_case"},
		{"Unicode folding (long s)", `{"username":"bob","uſername":"tim"}`, "duplicate_key"},
		{"Kelvin sign alone", `{"realm":"local","username":"\u212aarl"}`, ""},
		{"Kelvin sign in a key", "{\"\u212aey\":1}", "bad_request"},
		{"unknown field", `{"user":"bob"}`, "bad_request"},
		{"nested in an unknown object", `{"x":{"a":1,"A":2}}`, "duplicate_key"},
		{"trailing data", `{"username":"bob"} {}`, "bad_request"},
		{"syntax error", `{"username":`, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var req api.LoginRequest
			err := decodeBytes([]byte(tc.body), &req)
			if got := codeOf(err); (err == nil) != (tc.code == "") || (err != nil && got != tc.code) {
				t.Fatalf("got %v (%s), want %q", err, got, tc.code)
			}
			if err != nil && req != (api.LoginRequest{}) && tc.code != "bad_request" {
				t.Fatalf("a refused body set fields: %+v", req)
			}
		})
	}
	t.Run("every depth", func(t *testing.T) {
		for body, code := range map[string]string{
			`{"add":[{"kind":"user","realm":"local","name":"bob","role":"viewer"}]}`:              "",
			`{"add":[{"kind":"user","realm":"local","name":"bob","NAME":"tim","role":"viewer"}]}`: "duplicate_key",
			`{"add":[],"remove":[{"Name":"tim"}]}`:                                                "key_case",
			`{"add":[],"ADD":[]}`:                                                                 "duplicate_key",
		} {
			var p api.AccessPatch
			got := ""
			if err := decodeBytes([]byte(body), &p); err != nil {
				got = codeOf(err)
			}
			if got != code {
				t.Errorf("%s: got %q, want %q", body, got, code)
			}
		}
	})
}

// FuzzDecode: whatever the body, a LoginRequest decode that succeeds saw each
// of its keys once and spelled exactly, so a reader comparing keys exactly
// (a proxy, a log, another language) reads the same values.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/fuzz/FuzzDecode/*")
	if len(seeds) == 0 {
		f.Fatal("no seed corpus in testdata/fuzz/FuzzDecode")
	}
	f.Add([]byte(`{"realm":"local","username":"bob","password":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req api.LoginRequest
		err := decodeBytes(body, &req)
		if err != nil {
			if fault.As(err) == nil {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil {
			t.Fatalf("accepted a body that is no object: %q", body)
		}
		exact := map[string]*string{"realm": &req.Realm, "username": &req.Username, "password": &req.Password}
		for k, raw := range m {
			p, ok := exact[k]
			if !ok {
				t.Fatalf("accepted key %q of %q", k, body)
			}
			var v string
			if json.Unmarshal(raw, &v) == nil && v != *p {
				t.Fatalf("%s: decoded %q, an exact reader sees %q in %q", k, *p, v, body)
			}
		}
	})
}

func TestFuzzDecodeCorpusPresent(t *testing.T) {
	if _, err := os.Stat("testdata/fuzz/FuzzDecode"); err != nil {
		t.Fatal(err)
	}
}
