package store

import (
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
)

func consoleToken(sessionID string) ConsoleToken {
	return ConsoleToken{Identity: "pam:alice", SessionHash: SessionHash(sessionID), Guest: "web01", Kind: "vnc",
		Created: base, Expires: base.Add(30 * time.Second)}
}

func testConsoleTokens(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	tok := consoleToken("sid-1")
	wantOK(t, s.CreateConsoleToken(ctx, "secret-1", tok))

	t.Run("only the hash is stored", func(t *testing.T) {
		if n := look(t, s).count(t, `SELECT COUNT(*) FROM console_tokens WHERE token_hash = ? OR session_hash = ?`, "secret-1", "sid-1"); n != 0 {
			t.Fatal("token or session id stored as is")
		}
	})
	t.Run("unknown", func(t *testing.T) {
		_, err := s.ConsumeConsoleToken(ctx, "no-such", base)
		wantCode(t, err, CodeConsoleTokenNotFound)
	})
	t.Run("consume once", func(t *testing.T) {
		got, err := s.ConsumeConsoleToken(ctx, "secret-1", base.Add(time.Second))
		wantOK(t, err)
		if got.Guest != "web01" || got.Kind != "vnc" || got.Identity != "pam:alice" || !got.Expires.Equal(tok.Expires) ||
			!got.Used.Equal(base.Add(time.Second)) || !got.IssuedTo("sid-1") || got.IssuedTo("sid-2") || got.IssuedTo("") {
			t.Fatalf("got %+v", got)
		}
		again, err := s.ConsumeConsoleToken(ctx, "secret-1", base.Add(2*time.Second))
		wantCode(t, err, CodeTokenUsed)
		if again.Guest != "web01" || !again.Used.Equal(got.Used) {
			t.Fatalf("replay: %v %+v", err, again)
		}
	})
	t.Run("expired", func(t *testing.T) {
		wantOK(t, s.CreateConsoleToken(ctx, "secret-2", tok))
		// Valid up to, not at, the expiry instant.
		_, err := s.ConsumeConsoleToken(ctx, "secret-2", tok.Expires)
		wantCode(t, err, CodeTokenExpired)
	})
	t.Run("incomplete refused", func(t *testing.T) {
		bad := tok
		bad.SessionHash = ""
		if err := s.CreateConsoleToken(ctx, "secret-3", bad); err == nil {
			t.Fatal("a token without a session was stored")
		}
		if err := s.CreateConsoleToken(ctx, "", tok); err == nil {
			t.Fatal("an empty token was stored")
		}
	})
	t.Run("purge", func(t *testing.T) {
		wantOK(t, s.CreateConsoleToken(ctx, "secret-4", ConsoleToken{Identity: "x", SessionHash: "h", Guest: "g", Kind: "serial",
			Created: base.Add(time.Hour), Expires: base.Add(time.Hour + 30*time.Second)}))
		n, err := s.PurgeConsoleTokens(ctx, base.Add(time.Minute))
		wantOK(t, err)
		if n != 2 || look(t, s).rows(t, "console_tokens") != 1 {
			t.Fatalf("purged %d, %d left", n, look(t, s).rows(t, "console_tokens"))
		}
	})
}

// TestConsoleTokenRace: many requests present one token at once; exactly
// one wins and every other one is told it was used.
func testConsoleTokenRace(t *testing.T, newStore func(*testing.T) Stores) {
	s := newStore(t)
	ctx := t.Context()
	for round := range 5 {
		secret := "race-" + string(rune('a'+round))
		if err := s.CreateConsoleToken(ctx, secret, consoleToken("sid")); err != nil {
			t.Fatal(err)
		}
		const n = 16
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins, gone := 0, 0
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				_, err := s.ConsumeConsoleToken(ctx, secret, base.Add(time.Second))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					wins++
				case fault.Is(err, CodeTokenUsed):
					gone++
				default:
					t.Errorf("unexpected: %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins != 1 || gone != n-1 {
			t.Fatalf("round %d: %d winners, %d refused", round, wins, gone)
		}
	}
}
