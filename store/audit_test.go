package store

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/virtportal/virtportal/api"
)

func auditEvent(actor, action, target string, at time.Time) api.AuditEvent {
	return api.AuditEvent{
		Time: at, Actor: actor, Action: action, Target: target,
		Result: "ok", Client: "10.0.0.1", ReqID: "req-" + action,
	}
}

func eventIDs(es []api.AuditEvent) []int64 {
	ids := make([]int64, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

func testAuditAddRoundTrip(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	in := api.AuditEvent{
		ID: 999, Time: base.In(time.FixedZone("X", 3600)), Actor: "pam:alice", Action: "vm.start",
		Target: "vm:web01", Result: "error:conflict", Reason: "already running",
		Client: "192.0.2.7", ReqID: "r-1",
	}
	id, err := s.AddAudit(ctx, in)
	wantOK(t, err)
	if id == 999 || id <= 0 {
		t.Fatalf("id %d: must come from the database", id)
	}
	before := time.Now()
	id2, err := s.AddAudit(ctx, api.AuditEvent{Action: "session.login", Result: "denied"})
	wantOK(t, err)
	if id2 <= id {
		t.Fatalf("ids not increasing: %d then %d", id, id2)
	}
	es, err := s.ListAudit(ctx, AuditFilter{})
	wantOK(t, err)
	if len(es) != 2 {
		t.Fatalf("%d events", len(es))
	}
	got, zero := es[1], es[0]
	want := in
	want.ID = id
	if !got.Time.Equal(base) || got.Time.Location() != time.UTC {
		t.Errorf("time %v, want %v in UTC", got.Time, base)
	}
	got.Time, want.Time = time.Time{}, time.Time{}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if zero.ID != id2 || zero.Time.Before(before.Add(-time.Second)) || zero.Time.After(time.Now()) || zero.Time.Location() != time.UTC {
		t.Errorf("zero time not set to now: %+v", zero)
	}
}

func testAuditFilters(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	at := func(n int) time.Time { return base.Add(time.Duration(n) * time.Minute) }
	denied := func(e api.AuditEvent) api.AuditEvent { e.Result = "denied"; return e }
	events := []api.AuditEvent{
		0: auditEvent("local:admin", "user.create", "user:alice", at(0)),
		1: auditEvent("pam:alice", "session.login", "", at(1)),
		2: auditEvent("pam:alice", "vm.start", "vm:web01", at(2)),
		3: denied(auditEvent("pam:alice", "vm.stop", "vm:web02", at(3))),
		4: auditEvent("ldap:bob", "vm.console.open", "vm:web01", at(4)),
		5: denied(auditEvent("", "session.login", "", at(5))),
		6: auditEvent("pamx:eve", "vmx.start", "vm:Web03", at(6)),
		7: auditEvent("pam:alice", "vm.snapshot.create", "vm:web%1", at(7)),
		8: auditEvent("PAM:zed", "VM.start", "VM:WEB01", at(8)),
	}
	ids := make([]int64, len(events))
	for i, e := range events {
		id, err := s.AddAudit(ctx, e)
		wantOK(t, err)
		ids[i] = id
	}
	// pick lists events by index, newest first.
	pick := func(idx ...int) []int64 {
		out := make([]int64, len(idx))
		for i, x := range idx {
			out[i] = ids[x]
		}
		return out
	}

	for _, c := range []struct {
		name string
		f    AuditFilter
		want []int64
	}{
		{"all, newest first", AuditFilter{}, pick(8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"actor exact", AuditFilter{Actor: "pam:alice"}, pick(7, 3, 2, 1)},
		{"actor is not a prefix", AuditFilter{Actor: "pam:ali"}, pick()},
		{"empty actor is no filter", AuditFilter{Actor: ""}, pick(8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"realm", AuditFilter{Realm: "pam"}, pick(7, 3, 2, 1)},
		{"realm ldap", AuditFilter{Realm: "ldap"}, pick(4)},
		{"realm is case-sensitive", AuditFilter{Realm: "PAM"}, pick(8)},
		{"realm and actor", AuditFilter{Realm: "ldap", Actor: "pam:alice"}, pick()},
		{"action exact", AuditFilter{Action: "vm.start"}, pick(2)},
		{"action prefix", AuditFilter{Action: "vm.*"}, pick(7, 4, 3, 2)},
		{"action prefix deeper", AuditFilter{Action: "vm.console.*"}, pick(4)},
		{"action prefix without dot", AuditFilter{Action: "vm*"}, pick(7, 6, 4, 3, 2)},
		{"action lone star", AuditFilter{Action: "*"}, pick(8, 7, 6, 5, 4, 3, 2, 1, 0)},
		{"action star only at the end", AuditFilter{Action: "*.start"}, pick()},
		{"target exact", AuditFilter{Target: "vm:web01"}, pick(4, 2)},
		{"target prefix", AuditFilter{Target: "vm:web*"}, pick(7, 4, 3, 2)},
		{"target prefix literal %", AuditFilter{Target: "vm:web%*"}, pick(7)},
		{"target prefix literal _", AuditFilter{Target: "vm:web_*"}, pick()},
		{"result", AuditFilter{Result: "denied"}, pick(5, 3)},
		{"since inclusive", AuditFilter{Since: at(6)}, pick(8, 7, 6)},
		{"until exclusive", AuditFilter{Until: at(2)}, pick(1, 0)},
		{"time range", AuditFilter{Since: at(2), Until: at(5)}, pick(4, 3, 2)},
		{"time range, nanosecond edges", AuditFilter{Since: at(2).Add(1), Until: at(5).Add(1)}, pick(5, 4, 3)},
		{"before id", AuditFilter{BeforeID: ids[4]}, pick(3, 2, 1, 0)},
		{"before id with filter", AuditFilter{BeforeID: ids[3], Actor: "pam:alice"}, pick(2, 1)},
		{"limit", AuditFilter{Limit: 2}, pick(8, 7)},
		{"combined", AuditFilter{Realm: "pam", Action: "vm.*", Target: "vm:web0*", Result: "ok"}, pick(2)},
	} {
		t.Run(c.name, func(t *testing.T) {
			es, err := s.ListAudit(ctx, c.f)
			wantOK(t, err)
			if got := eventIDs(es); !slices.Equal(got, c.want) {
				t.Errorf("ids %v, want %v", got, c.want)
			}
		})
	}
}

func testAuditPagingAndLimits(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	const total = 1005
	for i := range total {
		_, err := s.AddAudit(ctx, auditEvent("local:admin", fmt.Sprintf("vm.op%d", i%3), "vm:x", base.Add(time.Duration(i)*time.Second)))
		wantOK(t, err)
	}
	for _, c := range []struct{ limit, want int }{
		{0, 100}, {-5, 100}, {1, 1}, {999, 999}, {1000, 1000}, {1001, 1000}, {1 << 30, 1000},
	} {
		t.Run(fmt.Sprintf("limit %d", c.limit), func(t *testing.T) {
			es, err := s.ListAudit(ctx, AuditFilter{Limit: c.limit})
			wantOK(t, err)
			if len(es) != c.want {
				t.Errorf("%d events, want %d", len(es), c.want)
			}
		})
	}
	for _, c := range []struct {
		name string
		f    AuditFilter
		want int
	}{
		{"all", AuditFilter{Limit: 97}, total},
		{"filtered", AuditFilter{Action: "vm.op1", Limit: 50}, total / 3},
	} {
		t.Run("paging "+c.name, func(t *testing.T) {
			var seen []int64
			f := c.f
			for {
				es, err := s.ListAudit(ctx, f)
				wantOK(t, err)
				if len(es) == 0 {
					break
				}
				if len(es) > f.Limit {
					t.Fatalf("page of %d over limit %d", len(es), f.Limit)
				}
				seen = append(seen, eventIDs(es)...)
				f.BeforeID = es[len(es)-1].ID
			}
			if len(seen) != c.want {
				t.Fatalf("paged %d events, want %d", len(seen), c.want)
			}
			for i := 1; i < len(seen); i++ {
				if seen[i] >= seen[i-1] {
					t.Fatalf("not strictly newest first at %d: %d then %d", i, seen[i-1], seen[i])
				}
			}
		})
	}
}

func testPurgeAudit(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	for i := range 10 {
		_, err := s.AddAudit(ctx, auditEvent("local:a", "x", "", base.Add(time.Duration(i)*time.Hour)))
		wantOK(t, err)
	}
	for _, c := range []struct {
		name   string
		before time.Time
		want   int
	}{
		{"none older", base, 0},
		{"strictly older", base.Add(3 * time.Hour), 3},
		{"again", base.Add(3 * time.Hour), 0},
		{"rest", base.Add(100 * time.Hour), 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			n, err := s.PurgeAudit(ctx, c.before)
			wantOK(t, err)
			if n != c.want {
				t.Errorf("purged %d, want %d", n, c.want)
			}
		})
	}
	// Ids are never reused after a purge, so an old paging cursor cannot
	// point at new events.
	id, err := s.AddAudit(ctx, auditEvent("local:a", "x", "", base))
	wantOK(t, err)
	if id != 11 {
		t.Errorf("id after purge %d, want 11", id)
	}
}

// Regression (issue 8 §7): an unauthenticated request stored a 65 kB target,
// and names could carry control characters and bidi overrides.
func TestAuditTextBounded(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		max            int
	}{
		{"plain", "vm:web01", "vm:web01", 256},
		{"cut with an ellipsis", "vm:" + strings.Repeat("A", 65000), "vm:" + strings.Repeat("A", 250) + "…", 256},
		{"exactly max stays whole", strings.Repeat("a", 256), strings.Repeat("a", 256), 256},
		{"cut at a character", strings.Repeat("é", 200), strings.Repeat("é", 126) + "…", 256},
		{"controls", "a\x00b\nc\x1b[31m\x7f", `a\u0000b\u000ac\u001b[31m\u007f`, 256},
		{"bidi override reads as written", "vm:\u202egnp.exe", `vm:\u202egnp.exe`, 256},
		{"isolates and zero width", "\u2066x\u2069\u200b\u200f\ufeff", `\u2066x\u2069\u200b\u200f\ufeff`, 256},
		{"line separators", "a\u2028b\u2029", `a\u2028b\u2029`, 256},
		{"backslash cannot forge an escape", `a\u202e`, `a\\u202e`, 256},
		{"invalid UTF-8", "a\xffb", `a\xffb`, 256},
		{"an escape is not cut in half", strings.Repeat("a", 7) + "\u202e", strings.Repeat("a", 7) + "…", 12},
		{"other scripts are kept", "ldap:José 王", "ldap:José 王", 256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AuditText(tc.in, tc.max)
			if got != tc.want || len(got) > tc.max || !utf8.ValidString(got) {
				t.Fatalf("AuditText(%q) = %q (%d bytes), want %q", tc.in, got, len(got), tc.want)
			}
		})
	}
	s, _ := openStore(t, "")
	ctx := t.Context()
	long := strings.Repeat("A", 65000)
	if _, err := s.AddAudit(ctx, api.AuditEvent{Actor: long, Action: "vm.start", Target: "vm:" + long, Result: "denied:unauthorized",
		Reason: long, Client: long, ReqID: long}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.ListAudit(ctx, AuditFilter{})
	if err != nil || len(evs) != 1 {
		t.Fatal(evs, err)
	}
	e := evs[0]
	for name, v := range map[string]string{"actor": e.Actor, "target": e.Target, "client": e.Client, "request id": e.ReqID} {
		if len(v) > MaxAuditField || !strings.HasSuffix(v, "…") {
			t.Errorf("%s stored with %d bytes", name, len(v))
		}
	}
	if len(e.Reason) > MaxAuditReason {
		t.Errorf("reason stored with %d bytes", len(e.Reason))
	}
}
