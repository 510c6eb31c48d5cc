// Package store keeps the portal's own state (local users, sessions, audit
// events, login throttling) in SQLite through the pure-Go modernc driver.
//
// The SQL is kept plain so that a PostgreSQL implementation of the same
// methods can follow: placeholders only, ON CONFLICT upserts, RETURNING,
// times as BIGINT unix nanoseconds, no SQLite functions in queries. Each
// area is a small interface (stores.go: Sessions, Users, Audit,
// ConsoleTokens, Throttles; Stores is all of them) that new consumers depend
// on, and the behaviour tests run against those interfaces (suite_test.go).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/virtportal/virtportal/migrations"
)

// busyTimeout bounds how long a statement waits for a lock held by another
// process (the CLI writing while the server runs) before failing.
const busyTimeout = 5 * time.Second

// Store is the SQLite-backed store. It is safe for concurrent use.
type Store struct {
	// w has exactly one connection: SQLite admits one writer at a time, and
	// queueing writers in database/sql is fair and never yields
	// "database is locked", unlike several connections racing for the lock.
	w *sql.DB
	// r serves reads on several connections; WAL lets them run while a write
	// is in progress.
	r *sql.DB

	closeOnce sync.Once
	closeErr  error
}

// Open opens or creates the database file at path and applies the migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		// Two pools on one in-memory name would be two databases, and a URI
		// would bypass the DSN (pragmas, escaping) that Open builds.
		return nil, fmt.Errorf("store: open: %q is not a database file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("store: open: create parent dir: %w", err)
	}
	// Create the file ourselves so it is private: SQLite would use the umask,
	// and it gives the -wal and -shm files the database file's mode.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}

	w, err := sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("store: open writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	// The schema must exist before any reader connection runs, and the
	// writer is the connection that turns the file into WAL mode.
	if err := migrate(ctx, w); err != nil {
		return nil, errors.Join(err, w.Close())
	}

	r, err := sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("store: open reader: %w", err), w.Close())
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s := &Store{w: w, r: r}
	if err := s.Ping(ctx); err != nil {
		return nil, errors.Join(err, r.Close(), w.Close())
	}
	return s, nil
}

// dsn builds a file: URI so that any character in the path is escaped and
// every pooled connection runs the same pragmas when the pool opens it.
func dsn(abs string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is durable across application crashes in WAL mode; only a power
	// loss can drop the last commits, which is acceptable for this state.
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		// A write sent to the reader pool by mistake fails loudly instead
		// of competing with the single writer.
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN, so a transaction never has to
		// upgrade a read lock and fail with SQLITE_BUSY_SNAPSHOT.
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String()
}

func migrate(ctx context.Context, db *sql.DB) error {
	// A provider instead of goose's package functions: no global dialect,
	// base FS or registry that another package could change under us.
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.FS,
		goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Close checkpoints the WAL into the database file and closes both pools.
func (s *Store) Close() error {
	// Once, so that a deferred Close after an explicit one is harmless.
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	// Readers go first: a checkpoint cannot truncate the WAL past a snapshot
	// a reader still holds.
	rerr := s.r.Close()
	var cerr error
	if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		cerr = fmt.Errorf("store: close: checkpoint: %w", err)
	}
	werr := s.w.Close()
	if rerr != nil {
		rerr = fmt.Errorf("store: close reader: %w", rerr)
	}
	if werr != nil {
		werr = fmt.Errorf("store: close writer: %w", werr)
	}
	return errors.Join(rerr, cerr, werr)
}

// Ping checks that both the read and the write side answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping reader: %w", err)
	}
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping writer: %w", err)
	}
	return nil
}

// Backup writes a consistent, compacted copy of the database to a new file.
func (s *Store) Backup(ctx context.Context, path string) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return fmt.Errorf("store: backup: create parent dir: %w", err)
	}
	// Run on the writer: VACUUM INTO counts as a write for query_only
	// connections, and it reads one snapshot, so writers simply wait.
	if _, err := s.w.ExecContext(ctx, "VACUUM INTO ?", abs); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	// The copy holds password hashes and sessions; keep it private.
	if err := os.Chmod(abs, 0o600); err != nil {
		return fmt.Errorf("store: backup: %w", err)
	}
	return nil
}

// toNS turns t into the stored form; the zero time is stored as 0 so that it
// reads back as the zero time.
func toNS(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNS is the inverse of toNS; times always come back in UTC.
func fromNS(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

// The size of a list page when none is asked, and the most one may hold.
const (
	DefaultListLimit = 100
	MaxListLimit     = 1000
)

// clampLimit applies DefaultListLimit and MaxListLimit.
func clampLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultListLimit
	case n > MaxListLimit:
		return MaxListLimit
	}
	return n
}

// likeEscape makes s match literally inside a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
