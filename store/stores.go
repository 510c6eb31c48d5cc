package store

import (
	"context"
	"time"

	"github.com/virtportal/virtportal/api"
)

// The store's areas, each a small interface, so that a consumer depends on
// the area it uses and a second implementation (PostgreSQL) can be added
// and run the same test suite. *Store implements them all.

// Sessions keeps server-side sessions by the hash of their id.
type Sessions interface {
	SaveSession(ctx context.Context, sess Session) error
	GetSession(ctx context.Context, id string, now time.Time) (Session, error)
	TouchSession(ctx context.Context, id string, lastSeen, idleExpires time.Time) error
	DeleteSession(ctx context.Context, id string) error
	DeleteSessionsOf(ctx context.Context, identity string) (int, error)
	PurgeSessions(ctx context.Context, now time.Time) (int, error)
}

// Users keeps the accounts of the local realm.
type Users interface {
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, name string) (User, error)
	UpdatePassword(ctx context.Context, name, hash string) error
	SetAdmin(ctx context.Context, name string, admin bool) error
	SetDisabled(ctx context.Context, name string, disabled bool) error
	DeleteUser(ctx context.Context, name string) error
	ListUsers(ctx context.Context, q string, limit int) ([]User, error)
	CountAdmins(ctx context.Context) (int, error)
}

// Audit keeps the audit log.
type Audit interface {
	AddAudit(ctx context.Context, e api.AuditEvent) (int64, error)
	ListAudit(ctx context.Context, f AuditFilter) ([]api.AuditEvent, error)
	PurgeAudit(ctx context.Context, before time.Time) (int, error)
}

// ConsoleTokens keeps one-time console tokens by their hash.
type ConsoleTokens interface {
	CreateConsoleToken(ctx context.Context, token string, t ConsoleToken) error
	ConsumeConsoleToken(ctx context.Context, token string, now time.Time) (ConsoleToken, error)
	PurgeConsoleTokens(ctx context.Context, before time.Time) (int, error)
}

// Throttles keeps failed-login counters.
type Throttles interface {
	GetThrottle(ctx context.Context, key string) (Throttle, error)
	AddFailure(ctx context.Context, key string, now time.Time, window time.Duration) (Throttle, error)
	ResetThrottle(ctx context.Context, key string) error
	PurgeThrottle(ctx context.Context, before time.Time) (int, error)
}

// Stores is every area of one backend, with its health check and close.
type Stores interface {
	Sessions
	Users
	Audit
	ConsoleTokens
	Throttles
	Ping(ctx context.Context) error
	Close() error
}

var _ Stores = (*Store)(nil)
