package handlers

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/services/consoles"
	"github.com/virtportal/virtportal/store"
)

// newToken makes a token as c (a signed-in browser) and returns it with a
// client that presents it and nothing else.
func (c *client) newToken(t *testing.T, name string) (api.Token, *client) {
	t.Helper()
	r := c.do("POST", "/api/v1/tokens", map[string]any{"name": name, "expires_in_days": 7})
	want(t, r, http.StatusCreated, "")
	var nt api.NewToken
	r.decode(t, &nt)
	b := c.e.client()
	b.bearer = nt.Secret
	return nt.Token, b
}

// tokenAudit returns the audit events of action about token id.
func tokenAudit(t *testing.T, e *env, action, id string) []api.AuditEvent {
	t.Helper()
	return e.audit(store.AuditFilter{Action: action, Target: "token:" + id})
}

func TestTokenLifecycle(t *testing.T) {
	e := newEnv(t)
	alice := e.as("local", "alice")
	r := alice.do("POST", "/api/v1/tokens", map[string]any{"name": "backup script", "expires_in_days": 7})
	want(t, r, http.StatusCreated, "")
	var nt api.NewToken
	r.decode(t, &nt)
	if !strings.HasPrefix(nt.Secret, "vpt_") || len(nt.Secret) != 47 {
		t.Fatalf("secret %q", nt.Secret)
	}
	tok := nt.Token
	if tok.ID == "" || tok.Name != "backup script" || tok.Owner != "local:alice" || tok.LastUsed != nil {
		t.Fatalf("token %+v", tok)
	}
	if d := time.Until(tok.Expires); d < 6*24*time.Hour || d > 7*24*time.Hour {
		t.Fatalf("expires in %v", d)
	}
	bearer := e.client()
	bearer.bearer = nt.Secret

	t.Run("acts as its owner", func(t *testing.T) {
		var s api.Session
		r := bearer.do("GET", "/api/v1/session", nil)
		want(t, r, 200, "")
		r.decode(t, &s)
		if s.Identity != "local:alice" || s.CSRFToken != "" {
			t.Fatalf("session %+v", s)
		}
		want(t, bearer.do("GET", "/api/v1/vms", nil), 200, "")
		want(t, bearer.do("GET", "/api/v1/host", nil), 403, "forbidden")
		if len(r.header.Values("Set-Cookie")) != 0 {
			t.Fatalf("a bearer request got a cookie: %v", r.header.Values("Set-Cookie"))
		}
		// The scheme's case does not matter; other schemes are not ours.
		lower := e.client()
		want(t, lower.do("GET", "/api/v1/session", nil, "Authorization", "bearer "+nt.Secret), 200, "")
		want(t, lower.do("GET", "/api/v1/session", nil, "Authorization", "Basic YTpi"), 401, "unauthorized")
	})
	t.Run("listed without its secret, with its last use", func(t *testing.T) {
		r := alice.do("GET", "/api/v1/tokens", nil)
		want(t, r, 200, "")
		if strings.Contains(string(r.body), nt.Secret) || strings.Contains(string(r.body), "secret") {
			t.Fatalf("list shows a secret: %s", r.body)
		}
		var l api.TokenList
		r.decode(t, &l)
		if len(l.Items) != 1 || l.Items[0].ID != tok.ID || l.Items[0].LastUsed == nil {
			t.Fatalf("list %s", r.body)
		}
		// Others see none of it.
		var ol api.TokenList
		e.as("local", "op").do("GET", "/api/v1/tokens", nil).decode(t, &ol)
		if len(ol.Items) != 0 {
			t.Fatalf("op sees %+v", ol.Items)
		}
	})
	t.Run("a token cannot make tokens", func(t *testing.T) {
		want(t, bearer.do("POST", "/api/v1/tokens", map[string]any{"name": "child"}), 403, "token_needs_session")
	})
	t.Run("a token has no session to end", func(t *testing.T) {
		want(t, bearer.do("DELETE", "/api/v1/session", nil), 400, "bad_request")
		want(t, bearer.do("GET", "/api/v1/session", nil), 200, "")
	})
	t.Run("cookie and bearer together refused", func(t *testing.T) {
		want(t, alice.do("GET", "/api/v1/session", nil, "Authorization", "Bearer "+nt.Secret), 400, "auth_ambiguous")
	})
	t.Run("create and revoke audited", func(t *testing.T) {
		evs := tokenAudit(t, e, "token.create", tok.ID)
		if len(evs) != 1 || evs[0].Actor != "local:alice" || evs[0].Result != "ok" {
			t.Fatalf("create audit %+v", evs)
		}
		want(t, alice.do("DELETE", "/api/v1/tokens/"+tok.ID, nil), 204, "")
		evs = tokenAudit(t, e, "token.revoke", tok.ID)
		if len(evs) != 1 || evs[0].Result != "ok" {
			t.Fatalf("revoke audit %+v", evs)
		}
		want(t, alice.do("DELETE", "/api/v1/tokens/"+tok.ID, nil), 204, "") // idempotent
	})
	t.Run("a revoked token is refused on the next request, audited", func(t *testing.T) {
		want(t, bearer.do("GET", "/api/v1/vms", nil), 401, "token_invalid")
		evs := tokenAudit(t, e, "token.refused", tok.ID)
		if len(evs) != 1 || evs[0].Actor != "local:alice" || !strings.Contains(evs[0].Reason, "reason=revoked") {
			t.Fatalf("refusal audit %+v", evs)
		}
	})
	t.Run("unknown and malformed tokens refused, audited, secret never stored", func(t *testing.T) {
		unknown := "vpt_" + auth.RandomToken(32)
		for _, secret := range []string{unknown, "vpt_short", "not-a-token", strings.Repeat("A", 10000)} {
			c := e.client()
			c.bearer = secret
			want(t, c.do("GET", "/api/v1/vms", nil), 401, "token_invalid")
		}
		evs := e.audit(store.AuditFilter{Action: "token.refused"})
		if len(evs) != 5 {
			t.Fatalf("%d refusals audited, want 5: %+v", len(evs), evs)
		}
		for _, ev := range e.audit(store.AuditFilter{}) {
			all := ev.Actor + ev.Target + ev.Reason + ev.Result
			if strings.Contains(all, unknown[4:]) || strings.Contains(all, nt.Secret[4:]) {
				t.Fatalf("a secret reached the audit log: %+v", ev)
			}
		}
		if strings.Contains(e.logs.String(), nt.Secret[4:]) || strings.Contains(e.logs.String(), unknown[4:]) {
			t.Fatal("a secret reached the log")
		}
	})
}

func TestTokenBadRequests(t *testing.T) {
	e := newEnv(t)
	alice := e.as("local", "alice")
	future := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"empty name", map[string]any{"name": ""}, 400, "token_name_invalid"},
		{"65 characters", map[string]any{"name": strings.Repeat("é", 65)}, 400, "token_name_invalid"},
		{"NUL", map[string]any{"name": "a\x00b"}, 400, "token_name_invalid"},
		{"newline", map[string]any{"name": "a\nb"}, 400, "token_name_invalid"},
		{"bidi override", map[string]any{"name": "abc\u202Egpj.exe"}, 400, "token_name_invalid"},
		{"leading space", map[string]any{"name": " ci"}, 400, "token_name_invalid"},
		{"10 MB name", `{"name":"` + strings.Repeat("A", 10<<20) + `"}`, 413, "too_large"},
		{"both expiries", map[string]any{"name": "x", "expires": future, "expires_in_days": 3}, 400, "token_expiry_invalid"},
		{"too long", map[string]any{"name": "x", "expires_in_days": 366}, 400, "token_expiry_invalid"},
		{"negative days", map[string]any{"name": "x", "expires_in_days": -1}, 400, "token_expiry_invalid"},
		{"in the past", map[string]any{"name": "x", "expires": "2020-01-01T00:00:00Z"}, 400, "token_expiry_invalid"},
		{"past the limit", map[string]any{"name": "x", "expires": time.Now().Add(400 * 24 * time.Hour).Format(time.RFC3339)}, 400, "token_expiry_invalid"},
		{"not RFC 3339", map[string]any{"name": "x", "expires": "tomorrow"}, 400, "bad_request"},
		{"unknown field", map[string]any{"name": "x", "roles": []string{"admin"}}, 400, "bad_request"},
		{"no CSRF header", nil, 403, "csrf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.body == nil {
				want(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "x"}, csrfHeader, ""), tc.status, tc.code)
				return
			}
			want(t, alice.do("POST", "/api/v1/tokens", tc.body), tc.status, tc.code)
		})
	}
	var l api.TokenList
	alice.do("GET", "/api/v1/tokens", nil).decode(t, &l)
	if len(l.Items) != 0 {
		t.Fatalf("a bad request made a token: %+v", l.Items)
	}
	t.Run("duplicate name", func(t *testing.T) {
		want(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "ci", "expires": future}), 201, "")
		want(t, alice.do("POST", "/api/v1/tokens", map[string]any{"name": "ci"}), 409, "token_name_taken")
	})
	t.Run("a realm that cannot re-read its users gets no tokens", func(t *testing.T) {
		want(t, e.as("test", "gina").do("POST", "/api/v1/tokens", map[string]any{"name": "x"}), 409, "token_realm_unsupported")
	})
	t.Run("malformed id", func(t *testing.T) {
		want(t, alice.do("DELETE", "/api/v1/tokens/a*b", nil), 400, "bad_request")
	})
}

func TestTokenOwnership(t *testing.T) {
	e := newEnv(t)
	alice, op, admin := e.as("local", "alice"), e.as("local", "op"), e.as("local", "admin")
	tok, _ := alice.newToken(t, "ci")
	opTok, opBearer := op.newToken(t, "mine")

	// Someone else's token is as good as missing, by session or by token.
	want(t, op.do("DELETE", "/api/v1/tokens/"+tok.ID, nil), 404, "token_not_found")
	want(t, opBearer.do("DELETE", "/api/v1/tokens/"+tok.ID, nil), 404, "token_not_found")
	want(t, alice.do("GET", "/api/v1/tokens?all=true", nil), 403, "forbidden")
	want(t, alice.do("GET", "/api/v1/tokens?all=maybe", nil), 400, "bad_request")
	evs := tokenAudit(t, e, "token.revoke", tok.ID)
	if len(evs) != 2 || evs[0].Result != "denied:token_not_found" {
		t.Fatalf("foreign revoke audit %+v", evs)
	}

	var all api.TokenList
	want(t, admin.do("GET", "/api/v1/tokens?all=true", nil), 200, "")
	admin.do("GET", "/api/v1/tokens?all=true", nil).decode(t, &all)
	if len(all.Items) != 2 {
		t.Fatalf("admin sees %+v", all.Items)
	}
	want(t, admin.do("DELETE", "/api/v1/tokens/"+tok.ID, nil), 204, "")
	// The owner may revoke with the token itself (a script cleaning up).
	want(t, opBearer.do("DELETE", "/api/v1/tokens/"+opTok.ID, nil), 204, "")
	want(t, opBearer.do("GET", "/api/v1/session", nil), 401, "token_invalid")
	evs = tokenAudit(t, e, "token.revoke", opTok.ID)
	if len(evs) != 1 || evs[0].Actor != "local:op" || !strings.Contains(evs[0].Reason, "token="+opTok.ID) {
		t.Fatalf("revoke by token audit %+v", evs)
	}
}

func TestTokenNeedsNoCSRF(t *testing.T) {
	e := newEnv(t)
	guest := e.guestIn(api.StateShutoff)
	_, bearer := e.as("local", "admin").newToken(t, "ops")
	want(t, bearer.do("POST", "/api/v1/vms/"+guest+"/start", nil), 200, "")
	if st := e.stateOf(guest); st != api.StateRunning {
		t.Fatalf("guest is %s", st)
	}
	evs := e.audit(store.AuditFilter{Action: "vm.start", Target: "vm:" + guest})
	if len(evs) != 1 || evs[0].Actor != "local:admin" || !strings.Contains(evs[0].Reason, "token=") {
		t.Fatalf("audit %+v", evs)
	}
	// A page of another site still cannot use it: browsers send an Origin.
	want(t, bearer.do("POST", "/api/v1/vms/"+guest+"/poweroff", nil, "Origin", "https://evil.example"), 403, "bad_origin")
}

func TestTokenFollowsOwner(t *testing.T) {
	var offset atomic.Int64
	clock := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	e := newEnv(t, withOptions(func(o *Options) { o.GroupRefresh = time.Minute; o.Now = clock }))
	ctx := context.Background()
	alice := e.as("local", "alice")
	tok, bearer := alice.newToken(t, "ci")
	want(t, bearer.do("GET", "/api/v1/host", nil), 403, "forbidden")

	t.Run("role change takes effect after the refresh interval", func(t *testing.T) {
		if err := e.st.SetAdmin(ctx, "alice", true); err != nil {
			t.Fatal(err)
		}
		want(t, bearer.do("GET", "/api/v1/host", nil), 403, "forbidden")
		offset.Store(int64(2 * time.Minute))
		want(t, bearer.do("GET", "/api/v1/host", nil), 200, "")
		if err := e.st.SetAdmin(ctx, "alice", false); err != nil {
			t.Fatal(err)
		}
		offset.Store(int64(4 * time.Minute))
		want(t, bearer.do("GET", "/api/v1/host", nil), 403, "forbidden")
	})
	t.Run("a disabled owner's token fails", func(t *testing.T) {
		if err := e.st.SetDisabled(ctx, "alice", true); err != nil {
			t.Fatal(err)
		}
		offset.Store(int64(6 * time.Minute))
		want(t, bearer.do("GET", "/api/v1/vms", nil), 401, "token_invalid")
		if err := e.st.SetDisabled(ctx, "alice", false); err != nil {
			t.Fatal(err)
		}
		want(t, bearer.do("GET", "/api/v1/vms", nil), 200, "")
	})
	t.Run("a deleted owner's token fails", func(t *testing.T) {
		if err := e.st.DeleteUser(ctx, "alice"); err != nil {
			t.Fatal(err)
		}
		offset.Store(int64(8 * time.Minute))
		want(t, bearer.do("GET", "/api/v1/vms", nil), 401, "token_invalid")
	})
	t.Run("an expired token fails", func(t *testing.T) {
		_, b := e.as("local", "op").newToken(t, "short")
		want(t, b.do("GET", "/api/v1/vms", nil), 200, "")
		offset.Store(int64(8 * 24 * time.Hour))
		want(t, b.do("GET", "/api/v1/vms", nil), 401, "token_invalid")
	})
	reasons := map[string]bool{}
	for _, ev := range e.audit(store.AuditFilter{Action: "token.refused"}) {
		reasons[ev.Reason[:strings.Index(ev.Reason, ";")]] = true
		if ev.Target == "token:"+tok.ID && ev.Actor != "local:alice" {
			t.Fatalf("refusal names %q", ev.Actor)
		}
	}
	for _, r := range []string{"reason=owner_disabled", "reason=owner_gone", "reason=expired"} {
		if !reasons[r] {
			t.Errorf("no refusal audited with %s: %v", r, reasons)
		}
	}
}

// A console token made with an API token is bound to it: only a request
// presenting the same API token opens the console, and revoking the API
// token ends the console.
func TestTokenConsole(t *testing.T) {
	e := consoleEnv(t, withOptions(func(o *Options) { o.Console.Keepalive = 100 * time.Millisecond }))
	fake := newFakeOpener()
	e.srv.consoles.UseOpener(fake)
	op := e.as("local", "op")
	tok, bearer := op.newToken(t, "console")

	t.Run("a browser session cannot spend it", func(t *testing.T) {
		tk := bearer.ticket(t, consoleGuest, "vnc")
		st, code, _ := op.dial(t, tk.WSURL, e.url)
		if st != http.StatusForbidden || code != "token_session" {
			t.Fatalf("got %d %s", st, code)
		}
	})
	t.Run("another token of the same owner cannot spend it", func(t *testing.T) {
		_, other := op.newToken(t, "other")
		tk := bearer.ticket(t, consoleGuest, "vnc")
		st, code, _ := other.dial(t, tk.WSURL, "-")
		if st != http.StatusForbidden || code != "token_session" {
			t.Fatalf("got %d %s", st, code)
		}
	})
	t.Run("the same token opens it, revoking ends it", func(t *testing.T) {
		tk := bearer.ticket(t, consoleGuest, "vnc")
		st, code, ws := bearer.dial(t, tk.WSURL, "-")
		if ws == nil {
			t.Fatalf("refused %d %s", st, code)
		}
		fake.next(t)
		want(t, op.do("DELETE", "/api/v1/tokens/"+tok.ID, nil), 204, "")
		closedWith(t, ws, websocket.StatusCode(consoles.CloseAccessRevoked), "access revoked", 5*time.Second)
	})
}
