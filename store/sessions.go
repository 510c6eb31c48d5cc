package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Session is a server-side session, valid while now is before both expiries.
type Session struct {
	ID       string
	Identity string
	// Data is an opaque blob owned by the session layer.
	Data        []byte
	Created     time.Time
	LastSeen    time.Time
	IdleExpires time.Time
	AbsExpires  time.Time
}

// idHash is the stored key of a session id: lookups stay exact while the
// table never holds a usable cookie value.
func idHash(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// SaveSession inserts sess or replaces the session with the same ID.
func (s *Store) SaveSession(ctx context.Context, sess Session) error {
	data := sess.Data
	if data == nil {
		data = []byte{}
	}
	_, err := s.w.ExecContext(ctx,
		`INSERT INTO sessions (id_hash, identity, data, created_at, last_seen_at, idle_expires_at, abs_expires_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (id_hash) DO UPDATE SET
		   identity = excluded.identity,
		   data = excluded.data,
		   created_at = excluded.created_at,
		   last_seen_at = excluded.last_seen_at,
		   idle_expires_at = excluded.idle_expires_at,
		   abs_expires_at = excluded.abs_expires_at`,
		idHash(sess.ID), sess.Identity, data, toNS(sess.Created), toNS(sess.LastSeen),
		toNS(sess.IdleExpires), toNS(sess.AbsExpires))
	if err != nil {
		return fmt.Errorf("store: save session: %w", err)
	}
	return nil
}

// GetSession returns the session if it is valid at now, else CodeSessionNotFound.
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (Session, error) {
	// Absent and expired answer alike, so a stale cookie learns nothing.
	sess := Session{ID: id}
	var created, lastSeen, idle, abs int64
	n := toNS(now)
	err := s.r.QueryRowContext(ctx,
		`SELECT identity, data, created_at, last_seen_at, idle_expires_at, abs_expires_at
		 FROM sessions
		 WHERE id_hash = ? AND idle_expires_at > ? AND abs_expires_at > ?`,
		idHash(id), n, n).Scan(&sess.Identity, &sess.Data, &created, &lastSeen, &idle, &abs)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, CodeSessionNotFound.New("session not found")
	}
	if err != nil {
		return Session{}, fmt.Errorf("store: get session: %w", err)
	}
	sess.Created, sess.LastSeen = fromNS(created), fromNS(lastSeen)
	sess.IdleExpires, sess.AbsExpires = fromNS(idle), fromNS(abs)
	return sess, nil
}

// TouchSession records activity and moves the idle expiry; CodeSessionNotFound if absent or expired at lastSeen.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error {
	// The expiry check stops a late touch from reviving a dead session.
	n := toNS(lastSeen)
	c, err := s.execCount(ctx, "touch session",
		`UPDATE sessions SET last_seen_at = ?, idle_expires_at = ?
		 WHERE id_hash = ? AND idle_expires_at > ? AND abs_expires_at > ?`,
		n, toNS(idleExpires), idHash(id), n, n)
	if err != nil {
		return err
	}
	if c == 0 {
		return CodeSessionNotFound.New("session not found")
	}
	return nil
}

// DeleteSession removes the session; an absent one is not an error (double logout).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash(id)); err != nil {
		return fmt.Errorf("store: delete session: %w", err)
	}
	return nil
}

// DeleteSessionsOf ends every session of identity and says how many.
func (s *Store) DeleteSessionsOf(ctx context.Context, identity string) (int, error) {
	return s.execCount(ctx, "delete sessions of",
		`DELETE FROM sessions WHERE identity = ?`, identity)
}

// PurgeSessions deletes the sessions expired at now and says how many.
func (s *Store) PurgeSessions(ctx context.Context, now time.Time) (int, error) {
	n := toNS(now)
	return s.execCount(ctx, "purge sessions",
		`DELETE FROM sessions WHERE idle_expires_at <= ? OR abs_expires_at <= ?`, n, n)
}

// execCount runs a statement on the writer and returns how many rows it
// changed; errors are wrapped with op.
func (s *Store) execCount(ctx context.Context, op, query string, args ...any) (int, error) {
	res, err := s.w.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: %s: %w", op, err)
	}
	return int(n), nil
}
