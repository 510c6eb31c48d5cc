package store

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ConsoleToken is a one-time permission to open one console of one guest,
// bound to the session that asked for it.
type ConsoleToken struct {
	Identity string // realm:name of the user it was issued to
	// SessionHash is SessionHash(id) of the issuing session.
	SessionHash string
	Guest       string
	Kind        string // vnc or serial
	Created     time.Time
	Expires     time.Time
	Used        time.Time // zero until consumed
}

// SessionHash is the stored form of a session id, the same as the
// sessions table keeps: console tokens and live consoles compare it
// without holding the id itself.
func SessionHash(id string) string { return idHash(id) }

// IssuedTo reports, in constant time, whether the token belongs to the
// session with this id.
func (t ConsoleToken) IssuedTo(sessionID string) bool {
	return sessionID != "" && subtle.ConstantTimeCompare([]byte(t.SessionHash), []byte(SessionHash(sessionID))) == 1
}

// CreateConsoleToken stores the token's hash with t; token is the secret
// handed to the browser and is not stored.
func (s *Store) CreateConsoleToken(ctx context.Context, token string, t ConsoleToken) error {
	if token == "" || t.SessionHash == "" || t.Guest == "" || t.Kind == "" || !t.Expires.After(t.Created) {
		return errors.New("store: create console token: incomplete token")
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO console_tokens (token_hash, identity, session_hash, guest, kind, created_at, expires_at, used_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?, NULL)`,
		idHash(token), t.Identity, t.SessionHash, t.Guest, t.Kind, toNS(t.Created), toNS(t.Expires))
	if err != nil {
		return fmt.Errorf("store: create console token: %w", err)
	}
	return nil
}

// ConsumeConsoleToken marks the token used at now and returns it. It
// answers CodeConsoleTokenNotFound for a token it never issued,
// CodeTokenUsed or CodeTokenExpired for one already used or expired (with
// the token, so that the refusal can name its guest). Of concurrent calls with the same token exactly one succeeds:
// the conditional UPDATE is the whole decision.
func (s *Store) ConsumeConsoleToken(ctx context.Context, token string, now time.Time) (ConsoleToken, error) {
	h, n := idHash(token), toNS(now)
	won, err := s.execCount(ctx, "consume console token",
		`UPDATE console_tokens SET used_at = ?
		 WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?`, n, h, n)
	if err != nil {
		return ConsoleToken{}, err
	}
	// The row no longer changes once used or expired, so reading it after
	// the UPDATE is safe; the writer connection sees its own commit.
	var t ConsoleToken
	var created, expires int64
	var used sql.NullInt64
	err = s.w.QueryRowContext(ctx,
		`SELECT identity, session_hash, guest, kind, created_at, expires_at, used_at
		 FROM console_tokens WHERE token_hash = ?`, h).
		Scan(&t.Identity, &t.SessionHash, &t.Guest, &t.Kind, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return ConsoleToken{}, CodeConsoleTokenNotFound.New("console token not found")
	}
	if err != nil {
		return ConsoleToken{}, fmt.Errorf("store: consume console token: %w", err)
	}
	t.Created, t.Expires = fromNS(created), fromNS(expires)
	if used.Valid {
		t.Used = fromNS(used.Int64)
	}
	if won == 1 {
		return t, nil
	}
	if used.Valid {
		return t, CodeTokenUsed.New("this console token was already used; ask for a new one")
	}
	return t, CodeTokenExpired.New("this console token expired; ask for a new one")
}

// PurgeConsoleTokens deletes the tokens that expired before before, used
// or not, and says how many.
func (s *Store) PurgeConsoleTokens(ctx context.Context, before time.Time) (int, error) {
	return s.execCount(ctx, "purge console tokens", `DELETE FROM console_tokens WHERE expires_at < ?`, toNS(before))
}
