package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is an account of the break-glass "local" realm.
type User struct {
	Name string
	// Hash is an opaque PHC string (argon2id) made by the caller.
	Hash     string
	Admin    bool
	Disabled bool
	Created  time.Time
	Updated  time.Time
}

const userCols = `name, hash, admin, disabled, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, updated int64
	if err := row.Scan(&u.Name, &u.Hash, &u.Admin, &u.Disabled, &created, &updated); err != nil {
		return User{}, err
	}
	u.Created, u.Updated = fromNS(created), fromNS(updated)
	return u, nil
}

// CreateUser adds u (Created defaults to now, Updated to Created); CodeUserExists if the name is taken.
func (s *Store) CreateUser(ctx context.Context, u User) error {
	if u.Created.IsZero() {
		u.Created = time.Now()
	}
	if u.Updated.IsZero() {
		u.Updated = u.Created
	}
	// ON CONFLICT DO NOTHING tells a taken name apart without decoding
	// driver-specific constraint errors.
	n, err := s.execCount(ctx, "create user",
		`INSERT INTO local_users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (name) DO NOTHING`,
		u.Name, u.Hash, u.Admin, u.Disabled, toNS(u.Created), toNS(u.Updated))
	if err != nil {
		return err
	}
	if n == 0 {
		return CodeUserExists.New("user %q already exists", u.Name)
	}
	return nil
}

// GetUser returns the named user or CodeUserNotFound.
func (s *Store) GetUser(ctx context.Context, name string) (User, error) {
	u, err := scanUser(s.r.QueryRowContext(ctx,
		`SELECT `+userCols+` FROM local_users WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, CodeUserNotFound.New("user %q not found", name)
	}
	if err != nil {
		return User{}, fmt.Errorf("store: get user: %w", err)
	}
	return u, nil
}

// UpdatePassword replaces the user's hash; CodeUserNotFound if absent.
func (s *Store) UpdatePassword(ctx context.Context, name, hash string) error {
	return s.updateUser(ctx, "update password", name,
		`UPDATE local_users SET hash = ?, updated_at = ? WHERE name = ?`,
		hash, toNS(time.Now()), name)
}

// SetAdmin grants or revokes the admin role; CodeUserNotFound if absent.
func (s *Store) SetAdmin(ctx context.Context, name string, admin bool) error {
	return s.updateUser(ctx, "set admin", name,
		`UPDATE local_users SET admin = ?, updated_at = ? WHERE name = ?`,
		admin, toNS(time.Now()), name)
}

// SetDisabled locks or unlocks the account, keeping its hash; CodeUserNotFound if absent.
func (s *Store) SetDisabled(ctx context.Context, name string, disabled bool) error {
	return s.updateUser(ctx, "set disabled", name,
		`UPDATE local_users SET disabled = ?, updated_at = ? WHERE name = ?`,
		disabled, toNS(time.Now()), name)
}

// DeleteUser removes the user; CodeUserNotFound if absent.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	// Sessions are keyed by realm-qualified identity, which only the caller
	// builds; it ends them with DeleteSessionsOf.
	return s.updateUser(ctx, "delete user", name,
		`DELETE FROM local_users WHERE name = ?`, name)
}

// updateUser runs a one-row change and turns "no row" into CodeUserNotFound.
func (s *Store) updateUser(ctx context.Context, op, name, query string, args ...any) error {
	n, err := s.execCount(ctx, op, query, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return CodeUserNotFound.New("user %q not found", name)
	}
	return nil
}

// ListUsers returns users whose name contains q literally, ignoring case, sorted by name.
func (s *Store) ListUsers(ctx context.Context, q string, limit int) ([]User, error) {
	// lower() on both sides gives PostgreSQL the same case-insensitive
	// match that SQLite's LIKE already does for ASCII.
	rows, err := s.r.QueryContext(ctx,
		`SELECT `+userCols+` FROM local_users
		 WHERE lower(name) LIKE lower(?) ESCAPE '\'
		 ORDER BY name LIMIT ?`,
		"%"+likeEscape(q)+"%", clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	defer rows.Close()
	users := []User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list users: %w", err)
	}
	return users, nil
}

// CountAdmins counts the admins that are not disabled.
func (s *Store) CountAdmins(ctx context.Context) (int, error) {
	// A disabled admin cannot log in, so it must not count when guarding the
	// last admin or deciding whether to create the first one.
	var n int
	err := s.r.QueryRowContext(ctx,
		`SELECT COUNT(*) FROM local_users WHERE admin = ? AND disabled = ?`,
		true, false).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count admins: %w", err)
	}
	return n, nil
}
