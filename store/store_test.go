package store

import (
	"context"
	"database/sql"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/virtportal/virtportal/migrations"
)

// openStore opens a store at path (a fresh file under t.TempDir() when path
// is "") and closes it when the test ends.
func openStore(t *testing.T, path string) (*Store, string) {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "data", "virtportal.db")
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, path
}

// base is a fixed instant with sub-microsecond digits, so any loss of
// precision or time zone in a round trip shows.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	_, path := openStore(t, filepath.Join(dir, "v.db"))
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != c.mode {
			t.Errorf("%s: mode %v, want %v", c.path, got, c.mode)
		}
	}
}

func TestOpenRejectsNonFiles(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file::memory:?cache=shared"} {
		t.Run(p, func(t *testing.T) {
			if s, err := Open(t.Context(), p); err == nil {
				s.Close()
				t.Fatalf("Open(%q) succeeded", p)
			}
		})
	}
}

func TestPragmasOnEveryConnection(t *testing.T) {
	s, _ := openStore(t, "")
	ctx := t.Context()
	want := map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "5000",
		"foreign_keys": "1",
		"synchronous":  "1", // NORMAL
	}
	// Hold several reader connections at once so the pool has to open new
	// ones: each must have run the DSN pragmas.
	for _, c := range []struct {
		name  string
		db    *sql.DB
		conns int
		ro    string
	}{
		{"writer", s.w, 1, "0"},
		{"readers", s.r, 4, "1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := c.db
			for i := 0; i < c.conns; i++ {
				conn, err := db.Conn(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				for p, v := range want {
					var got string
					if err := conn.QueryRowContext(ctx, "PRAGMA "+p).Scan(&got); err != nil {
						t.Fatalf("conn %d PRAGMA %s: %v", i, p, err)
					}
					if got != v {
						t.Errorf("conn %d PRAGMA %s = %q, want %q", i, p, got, v)
					}
				}
				var ro string
				if err := conn.QueryRowContext(ctx, "PRAGMA query_only").Scan(&ro); err != nil {
					t.Fatal(err)
				}
				if ro != c.ro {
					t.Errorf("conn %d query_only = %s, want %s", i, ro, c.ro)
				}
			}
		})
	}
	if _, err := s.r.ExecContext(ctx, "DELETE FROM sessions"); err == nil {
		t.Error("a write through the reader pool succeeded")
	}
}

func schemaVersion(t *testing.T, s *Store) int64 {
	t.Helper()
	var v int64
	if err := s.r.QueryRowContext(t.Context(),
		`SELECT MAX(version_id) FROM goose_db_version WHERE is_applied = ?`, true).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// latestMigration is the number of the highest migration file, so that a
// new migration does not need this test changed.
func latestMigration(t *testing.T) int64 {
	t.Helper()
	files, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("migrations: %v %v", files, err)
	}
	var latest int64
	for _, f := range files {
		n, err := strconv.ParseInt(strings.SplitN(f, "_", 2)[0], 10, 64)
		if err != nil {
			t.Fatalf("migration %s: %v", f, err)
		}
		latest = max(latest, n)
	}
	return latest
}

func countRows(t *testing.T, s *Store, table string) int {
	t.Helper()
	var n int
	// table names come from the test's own constants only
	if err := s.r.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrations(t *testing.T) {
	s, path := openStore(t, "")
	ctx := t.Context()
	for _, table := range []string{"local_users", "sessions", "audit_events", "login_throttle", "console_tokens", "api_tokens", "tasks", "task_resources"} {
		t.Run(table, func(t *testing.T) {
			var n int
			err := s.r.QueryRowContext(ctx,
				`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&n)
			if err != nil || n != 1 {
				t.Fatalf("table %s: n=%d err=%v", table, n, err)
			}
		})
	}
	if v := schemaVersion(t, s); v != latestMigration(t) {
		t.Fatalf("schema version %d, want %d", v, latestMigration(t))
	}
	if err := s.CreateUser(ctx, User{Name: "keep", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	rowsBefore := countRows(t, s, "goose_db_version")

	// A second Open while the first is still open, then one after closing:
	// neither applies anything again nor loses data.
	t.Run("second open while open", func(t *testing.T) {
		s2, _ := openStore(t, path)
		if got := countRows(t, s2, "goose_db_version"); got != rowsBefore {
			t.Errorf("goose rows %d, want %d", got, rowsBefore)
		}
		if _, err := s2.GetUser(ctx, "keep"); err != nil {
			t.Error(err)
		}
	})
	t.Run("reopen after close", func(t *testing.T) {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		s3, _ := openStore(t, path)
		if got := countRows(t, s3, "goose_db_version"); got != rowsBefore {
			t.Errorf("goose rows %d, want %d", got, rowsBefore)
		}
		if v := schemaVersion(t, s3); v != latestMigration(t) {
			t.Errorf("schema version %d, want %d", v, latestMigration(t))
		}
		if _, err := s3.GetUser(ctx, "keep"); err != nil {
			t.Error(err)
		}
	})
}

func TestPing(t *testing.T) {
	s, _ := openStore(t, "")
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestCloseCheckpointsWAL(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "v.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 200 {
		if _, err := s.AddAudit(ctx, auditEvent("local:admin", "user.create", "user:u", base.Add(time.Duration(i)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateUser(ctx, User{Name: "alice", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() != 0 {
		t.Errorf("-wal holds %d bytes after Close", fi.Size())
	} else if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}

	// Only the main file, copied alone, must hold everything.
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	copyFile(t, path, copyPath)
	for _, p := range []string{path, copyPath} {
		t.Run(filepath.Base(p), func(t *testing.T) {
			s2, _ := openStore(t, p)
			if _, err := s2.GetUser(ctx, "alice"); err != nil {
				t.Error(err)
			}
			if n := countRows(t, s2, "audit_events"); n != 200 {
				t.Errorf("%d audit events, want 200", n)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestBackup(t *testing.T) {
	s, _ := openStore(t, "")
	ctx := t.Context()
	if err := s.CreateUser(ctx, User{Name: "alice", Hash: "h", Admin: true}); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "bk", "backup.db")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dst); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if err := s.Backup(ctx, dst); err == nil {
		t.Error("Backup over an existing file succeeded")
	}
	b, _ := openStore(t, dst)
	u, err := b.GetUser(ctx, "alice")
	if err != nil || !u.Admin {
		t.Fatalf("GetUser from backup: %+v %v", u, err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	s, _ := openStore(t, "")
	ctx := t.Context()
	const workers, each = 50, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each*3)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				now := base.Add(time.Duration(w*each+i) * time.Millisecond)
				if _, err := s.AddAudit(ctx, auditEvent("local:w", "session.login", "", now)); err != nil {
					errs <- err
				}
				if _, err := s.AddFailure(ctx, "addr:10.0.0.1", now, time.Hour); err != nil {
					errs <- err
				}
				// Reads alongside the writes must not fail either.
				if _, err := s.GetThrottle(ctx, "addr:10.0.0.1"); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
		if strings.Contains(err.Error(), "locked") || strings.Contains(err.Error(), "busy") {
			t.Fatal("lock contention reached the caller")
		}
	}
	th, err := s.GetThrottle(ctx, "addr:10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if th.Failures != workers*each {
		t.Errorf("failures %d, want %d", th.Failures, workers*each)
	}
	// Goroutines run in any order: First is whichever failure landed first,
	// Last the latest instant reported.
	lastNow := base.Add((workers*each - 1) * time.Millisecond)
	if th.First.Before(base) || th.First.After(lastNow) || !th.Last.Equal(lastNow) {
		t.Errorf("window %v..%v", th.First, th.Last)
	}
	if n := countRows(t, s, "audit_events"); n != workers*each {
		t.Errorf("audit events %d, want %d", n, workers*each)
	}
}

func TestContextCancelled(t *testing.T) {
	s, _ := openStore(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.GetThrottle(ctx, "k"); err == nil {
		t.Error("GetThrottle with a cancelled context succeeded")
	}
	if err := s.CreateUser(ctx, User{Name: "x", Hash: "h"}); err == nil {
		t.Error("CreateUser with a cancelled context succeeded")
	}
}
