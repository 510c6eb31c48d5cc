package handlers

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/tasks"
)

// sse is one parsed server-sent event; a comment has Event "comment".
type sse struct {
	ID, Event, Data string
}

// stream is an open GET /api/v1/events read on a goroutine.
type stream struct {
	t      *testing.T
	res    *http.Response
	events chan sse
	cancel context.CancelFunc
}

// events opens the client's event stream, resuming after lastID if set.
func (c *client) events(t *testing.T, lastID string) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.e.url+"/api/v1/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	if c.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+c.bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("events: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &stream{t: t, res: res, events: make(chan sse, 1024), cancel: cancel}
	t.Cleanup(s.close)
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(res.Body)
		var cur sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur != (sse{}) {
					s.events <- cur
				}
				cur = sse{}
			case strings.HasPrefix(line, ":"):
				s.events <- sse{Event: "comment", Data: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "id: "):
				cur.ID = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.Event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.Data = line[6:]
			case strings.HasPrefix(line, "retry: "):
				cur.Event = "retry"
				cur.Data = line[7:]
			}
		}
	}()
	return s
}

func (s *stream) close() { s.cancel(); s.res.Body.Close() }

// next returns the next event other than comments and retry, or fails.
func (s *stream) next() sse {
	s.t.Helper()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatal("stream closed")
			}
			if ev.Event != "comment" && ev.Event != "retry" {
				return ev
			}
		case <-time.After(20 * time.Second):
			s.t.Fatal("no event")
		}
	}
}

// nextGuest returns the next guest event.
func (s *stream) nextGuest() (sse, api.GuestEvent) {
	s.t.Helper()
	for {
		ev := s.next()
		if ev.Event != "guest" {
			continue
		}
		var g api.GuestEvent
		if err := json.Unmarshal([]byte(ev.Data), &g); err != nil {
			s.t.Fatal(err)
		}
		return ev, g
	}
}

// closed waits for the end of the stream, returning what came last.
func (s *stream) closed() []sse {
	s.t.Helper()
	var got []sse
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-time.After(20 * time.Second):
			s.t.Fatal("stream did not end")
		}
	}
}

func TestEventStreamShowsOnlyWhatTheCallerMaySee(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	vms, _ := e.vm.List(ctx)
	var granted, other string
	for _, v := range vms {
		if v.State == api.StateShutoff {
			if granted == "" {
				granted = v.Name
			} else if other == "" {
				other = v.Name
			}
		}
	}
	if err := e.vm.SetGrants(ctx, granted, []api.Grant{{Kind: "user", Realm: "local", Name: "op", Role: rbac.RoleOperator}}); err != nil {
		t.Fatal(err)
	}
	op, admin := e.as("local", "op"), e.as("local", "admin")
	s := op.events(t, "")
	if ev := <-s.events; ev.Event != "retry" || ev.Data != "3000" {
		t.Fatalf("first %+v", ev)
	}
	adminStream := admin.events(t, "")

	// The other guest first: the stream is ordered, so had it been sent it
	// would come before the granted guest's event.
	want(t, admin.do("POST", "/api/v1/vms/"+other+"/start", nil), 200, "")
	want(t, admin.do("POST", "/api/v1/vms/"+granted+"/start", nil), 200, "")
	ev, g := s.nextGuest()
	if g.Name != granted || g.Type != "state" || g.Host != "local" || g.VM == nil || g.VM.State != api.StateRunning || g.VM.MyRole != "operator" {
		t.Fatalf("op got %+v (%s)", g, ev.Data)
	}
	if ev.ID == "" {
		t.Fatal("event without id")
	}
	// The guest carries what this caller may do with it, as GET would say.
	if !slices.Contains(g.VM.AllowedActions, "vm.power") || slices.Contains(g.VM.AllowedActions, "vm.delete") {
		t.Fatalf("operator's allowed_actions %v", g.VM.AllowedActions)
	}
	// The admin sees both, in order, as admin.
	if _, g := adminStream.nextGuest(); g.Name != other || g.VM.MyRole != "admin" {
		t.Fatalf("admin first %+v", g)
	}
	if _, g := adminStream.nextGuest(); g.Name != granted {
		t.Fatalf("admin second %+v", g)
	}

	// A revoke is a "removed" for the one who lost sight of it.
	want(t, admin.do("PATCH", "/api/v1/vms/"+granted+"/access", api.AccessPatch{Remove: []api.Grant{{Kind: "user", Realm: "local", Name: "op"}}}), 200, "")
	if _, g := s.nextGuest(); g.Name != granted || g.Type != "removed" || g.VM != nil {
		t.Fatalf("after revoke %+v", g)
	}
	if _, g := adminStream.nextGuest(); g.Name != granted || g.Type != "grants" {
		t.Fatalf("admin after revoke %+v", g)
	}
	// And a grant an "added".
	want(t, admin.do("PATCH", "/api/v1/vms/"+other+"/access", api.AccessPatch{Add: []api.Grant{{Kind: "user", Realm: "local", Name: "op", Role: "viewer"}}}), 200, "")
	if _, g := s.nextGuest(); g.Name != other || g.Type != "added" || g.VM == nil || g.VM.MyRole != "viewer" ||
		!slices.Contains(g.VM.AllowedActions, "vm.read") || slices.Contains(g.VM.AllowedActions, "vm.power") {
		t.Fatalf("after grant %+v", g)
	}

	t.Run("resume with Last-Event-ID", func(t *testing.T) {
		s.close()
		want(t, admin.do("POST", "/api/v1/vms/"+granted+"/poweroff", nil), 200, "") // not op's any more
		want(t, admin.do("POST", "/api/v1/vms/"+other+"/poweroff", nil), 200, "")
		r := op.events(t, ev.ID) // from the first state event on
		if _, g := r.nextGuest(); g.Name != granted || g.Type != "removed" {
			t.Fatalf("resumed first %+v", g)
		}
		if _, g := r.nextGuest(); g.Name != other || g.Type != "added" {
			t.Fatalf("resumed second %+v", g)
		}
		if _, g := r.nextGuest(); g.Name != other || g.Type != "state" || g.VM.State != api.StateShutoff {
			t.Fatalf("resumed third %+v", g)
		}
	})
	t.Run("an id from too long ago resets", func(t *testing.T) {
		r := op.events(t, "1")
		if ev := r.next(); ev.Event != "reset" || ev.ID == "" {
			t.Fatalf("got %+v", ev)
		}
		r = op.events(t, "junk")
		if ev := r.next(); ev.Event != "reset" {
			t.Fatalf("got %+v", ev)
		}
	})
}

func TestEventStreamTasks(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	k := holdKind(e, release)
	alice, view := e.as("local", "alice"), e.as("local", "view")
	sa, sv := alice.events(t, ""), view.events(t, "")
	in, err := k.Submit(context.Background(), tasks.Spec{Owner: "local:alice", Host: "local", Target: "vm:x"}, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	close(release)
	var statuses []string
	for {
		ev := sa.next()
		var tk api.Task
		if ev.Event != "task" || json.Unmarshal([]byte(ev.Data), &tk) != nil || tk.ID != in.ID {
			t.Fatalf("alice got %+v", ev)
		}
		statuses = append(statuses, tk.Status)
		if tk.Status == "done" {
			if len(tk.AllowedActions) != 0 || tk.Progress != 100 {
				t.Fatalf("final %+v", tk)
			}
			break
		}
		if tk.Status == "running" && (len(tk.AllowedActions) != 1 || tk.AllowedActions[0] != "task.cancel") {
			t.Fatalf("running %+v", tk)
		}
	}
	if statuses[0] != "queued" && statuses[0] != "running" {
		t.Fatalf("statuses %v", statuses)
	}
	// view saw none of it: the next thing view gets is its own end.
	want(t, view.do("DELETE", "/api/v1/session", nil), 204, "")
	got := sv.closed()
	for _, ev := range got {
		if ev.Event == "task" {
			t.Fatalf("view got %+v", ev)
		}
	}
	if last := got[len(got)-1]; last.Event != "end" || last.Data != `{"reason":"logout"}` {
		t.Fatalf("view's stream ended with %+v", got)
	}
}

func TestEventStreamEnds(t *testing.T) {
	e := newEnv(t, withOptions(func(o *Options) { o.Tasks.Heartbeat = 20 * time.Millisecond }))
	t.Run("heartbeat", func(t *testing.T) {
		s := e.as("local", "alice").events(t, "")
		for ev := range s.events {
			if ev.Event == "comment" && ev.Data == "ping" {
				return
			}
		}
		t.Fatal("no ping")
	})
	t.Run("logout of that session only", func(t *testing.T) {
		a, b := e.as("local", "alice"), e.as("local", "alice")
		sa, sb := a.events(t, ""), b.events(t, "")
		want(t, a.do("DELETE", "/api/v1/session", nil), 204, "")
		got := sa.closed()
		if last := got[len(got)-1]; last.Event != "end" || last.Data != `{"reason":"logout"}` {
			t.Fatalf("ended with %+v", got)
		}
		// The other session's stream still pings.
		for ev := range sb.events {
			if ev.Event == "comment" {
				return
			}
		}
		t.Fatal("the other session's stream ended")
	})
	t.Run("revoked elsewhere", func(t *testing.T) {
		s := e.as("local", "op").events(t, "")
		if _, err := e.st.DeleteSessionsOf(context.Background(), "local:op"); err != nil {
			t.Fatal(err)
		}
		got := s.closed()
		if last := got[len(got)-1]; last.Event != "end" || last.Data != `{"reason":"revoked"}` {
			t.Fatalf("ended with %+v", got)
		}
	})
	t.Run("API token revoked through the API", func(t *testing.T) {
		alice := e.as("local", "alice")
		tok, bearer := alice.newToken(t, "stream")
		other, otherBearer := alice.newToken(t, "other stream")
		s, so := bearer.events(t, ""), otherBearer.events(t, "")
		want(t, alice.do("DELETE", "/api/v1/tokens/"+tok.ID, nil), 204, "")
		got := s.closed()
		if last := got[len(got)-1]; last.Event != "end" || last.Data != `{"reason":"revoked"}` {
			t.Fatalf("ended with %+v", got)
		}
		// The owner's other token keeps its stream.
		for ev := range so.events {
			if ev.Event == "comment" {
				want(t, alice.do("DELETE", "/api/v1/tokens/"+other.ID, nil), 204, "")
				return
			}
		}
		t.Fatal("the other token's stream ended")
	})
	t.Run("API token revoked elsewhere (the CLI)", func(t *testing.T) {
		tok, bearer := e.as("local", "op").newToken(t, "cli revoked")
		s := bearer.events(t, "")
		if err := e.st.RevokeToken(context.Background(), tok.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		got := s.closed()
		if last := got[len(got)-1]; last.Event != "end" || last.Data != `{"reason":"revoked"}` {
			t.Fatalf("ended with %+v", got)
		}
	})
	t.Run("no session", func(t *testing.T) {
		want(t, e.client().status("GET", "/api/v1/events"), 401, "")
	})
}
