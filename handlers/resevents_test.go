package handlers

import (
	"encoding/json"
	"testing"

	"github.com/virtportal/virtportal/api"
)

// Pool and network lifecycle changes reach the event streams of those who
// may read pools and networks (admins, auditors), and no one else's.
func TestEventStreamPoolsAndNetworks(t *testing.T) {
	e := newEnv(t)
	admin, auditor, user := e.as("local", "admin"), e.as("test", "audrey"), e.as("local", "alice")
	sa, sd, su := admin.events(t, ""), auditor.events(t, ""), user.events(t, "")
	defer sa.close()
	defer sd.close()

	next := func(s *stream, kind string) api.ResourceEvent {
		t.Helper()
		for {
			ev := s.next()
			if ev.Event != kind {
				continue
			}
			var r api.ResourceEvent
			if err := json.Unmarshal([]byte(ev.Data), &r); err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	want(t, admin.do("POST", poolsURL, api.PoolRequest{Name: "evpool", Type: "dir", Path: t.TempDir() + "/p"}), 201, "")
	want(t, admin.do("POST", netsURL, api.NetworkRequest{Name: "evnet", Kind: api.NetIsolated}), 201, "")
	// Each kind's changes until it runs, in order (a pool is built too).
	upTo := func(s *stream, kind, name string) []string {
		t.Helper()
		var types []string
		for {
			r := next(s, kind)
			if r.Name != name || r.Host != "local" {
				t.Fatalf("%s event %+v", kind, r)
			}
			if types = append(types, r.Type); r.Type == "started" {
				return types
			}
		}
	}
	for _, s := range []*stream{sa, sd} {
		if got := upTo(s, "pool", "evpool"); got[0] != "defined" {
			t.Fatalf("pool events %v", got)
		}
		if got := upTo(s, "network", "evnet"); got[0] != "defined" || len(got) != 2 {
			t.Fatalf("network events %v", got)
		}
	}
	// The user saw none of it: the stream ends with its logout.
	want(t, user.do("DELETE", "/api/v1/session", nil), 204, "")
	for _, ev := range su.closed() {
		if ev.Event == "pool" || ev.Event == "network" {
			t.Fatalf("a user got %+v", ev)
		}
	}
}
