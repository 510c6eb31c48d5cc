package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/virtportal/virtportal/fault"
)

// Codes of the API-token store.
var (
	CodeTokenNotFound  = fault.Define("token_not_found", fault.NotFound)
	CodeTokenNameTaken = fault.Define("token_name_taken", fault.Conflict)
	CodeTokenLimit     = fault.Define("token_limit", fault.Conflict)
)

// APIToken is a personal API token as stored: never its secret.
type APIToken struct {
	ID       string
	Realm    string // the owner's realm
	Username string // the owner's name in it
	Name     string // what the owner called it
	Created  time.Time
	Expires  time.Time
	LastUsed time.Time // zero: never used
	Revoked  time.Time // zero: live
	// Permissions limit the token ("object:action"); none: the owner's all.
	Permissions []string
}

// Owner is the owner's identity, "realm:name" (rbac.Principal.ID).
func (t APIToken) Owner() string { return t.Realm + ":" + t.Username }

// Tokens keeps personal API tokens. Lookups go by the SHA-256 of the
// secret, so the secret itself never reaches the database.
type Tokens interface {
	// CreateToken stores t under the hash of secret; at most limit live
	// (unrevoked) tokens per owner (token_limit), names unique among them
	// (token_name_taken).
	CreateToken(ctx context.Context, secret string, t APIToken, limit int) error
	// TokenBySecret returns the token whose secret this is, revoked and
	// expired ones included (the caller decides); token_not_found if none.
	TokenBySecret(ctx context.Context, secret string) (APIToken, error)
	// Token returns the token with this id, revoked ones included.
	Token(ctx context.Context, id string) (APIToken, error)
	// ListTokens returns the live tokens of owner ("" for everyone's),
	// oldest first, expired ones included so they can be seen and removed.
	ListTokens(ctx context.Context, owner string) ([]APIToken, error)
	// RevokeToken marks a live token revoked at; token_not_found if there
	// is no live token with this id.
	RevokeToken(ctx context.Context, id string, at time.Time) error
	// TouchToken sets last-used to at unless it is already after
	// at-minGap, so that busy scripts do not write on every request.
	TouchToken(ctx context.Context, id string, at time.Time, minGap time.Duration) error
}

var _ Tokens = (*Store)(nil)

const tokenCols = `id, realm, username, name, created_at, expires_at, last_used_at, revoked_at, permissions`

func scanToken(row interface{ Scan(...any) error }) (APIToken, error) {
	var t APIToken
	var created, expires, used, revoked int64
	var perms string
	if err := row.Scan(&t.ID, &t.Realm, &t.Username, &t.Name, &created, &expires, &used, &revoked, &perms); err != nil {
		return APIToken{}, err
	}
	if perms != "" {
		t.Permissions = strings.Split(perms, ",")
	}
	t.Created, t.Expires, t.LastUsed, t.Revoked = fromNS(created), fromNS(expires), fromNS(used), fromNS(revoked)
	return t, nil
}

// CreateToken implements Tokens.
func (s *Store) CreateToken(ctx context.Context, secret string, t APIToken, limit int) error {
	if secret == "" || t.ID == "" || t.Realm == "" || t.Username == "" || t.Name == "" || !t.Expires.After(t.Created) {
		return errors.New("store: create token: incomplete token")
	}
	owner := t.Owner()
	// One statement on the single writer: the cap holds under parallel
	// requests, and ON CONFLICT tells a taken name apart without decoding
	// driver-specific constraint errors.
	n, err := s.execCount(ctx, "create token",
		`INSERT INTO api_tokens (id, secret_hash, identity, realm, username, name, created_at, expires_at, last_used_at, revoked_at, permissions)
		 SELECT ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?
		 WHERE (SELECT COUNT(*) FROM api_tokens WHERE identity = ? AND revoked_at = 0) < ?
		 ON CONFLICT DO NOTHING`,
		t.ID, idHash(secret), owner, t.Realm, t.Username, t.Name, toNS(t.Created), toNS(t.Expires), strings.Join(t.Permissions, ","), owner, limit)
	if err != nil {
		return err
	}
	if n == 1 {
		return nil
	}
	var live int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM api_tokens WHERE identity = ? AND revoked_at = 0`, owner).Scan(&live); err != nil {
		return fmt.Errorf("store: create token: %w", err)
	}
	if live >= limit {
		return CodeTokenLimit.New("%s has %d live tokens, the most allowed; revoke one first", owner, live)
	}
	return CodeTokenNameTaken.New("a token called %q exists already", t.Name)
}

func (s *Store) oneToken(ctx context.Context, where string, arg any) (APIToken, error) {
	t, err := scanToken(s.r.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return APIToken{}, CodeTokenNotFound.New("no such token")
	}
	if err != nil {
		return APIToken{}, fmt.Errorf("store: get token: %w", err)
	}
	return t, nil
}

// TokenBySecret implements Tokens.
func (s *Store) TokenBySecret(ctx context.Context, secret string) (APIToken, error) {
	return s.oneToken(ctx, `secret_hash = ?`, idHash(secret))
}

// Token implements Tokens.
func (s *Store) Token(ctx context.Context, id string) (APIToken, error) {
	return s.oneToken(ctx, `id = ?`, id)
}

// ListTokens implements Tokens.
func (s *Store) ListTokens(ctx context.Context, owner string) ([]APIToken, error) {
	q, args := `SELECT `+tokenCols+` FROM api_tokens WHERE revoked_at = 0`, []any{}
	if owner != "" {
		q, args = q+` AND identity = ?`, append(args, owner)
	}
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	defer rows.Close()
	out := []APIToken{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken implements Tokens.
func (s *Store) RevokeToken(ctx context.Context, id string, at time.Time) error {
	n, err := s.execCount(ctx, "revoke token",
		`UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, max(toNS(at), 1), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return CodeTokenNotFound.New("no such token")
	}
	return nil
}

// TouchToken implements Tokens.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time, minGap time.Duration) error {
	_, err := s.execCount(ctx, "touch token",
		`UPDATE api_tokens SET last_used_at = ? WHERE id = ? AND last_used_at <= ?`,
		toNS(at), id, toNS(at.Add(-minGap)))
	return err
}
