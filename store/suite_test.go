package store

import "testing"

// suite runs the behaviour tests of every area (users, sessions, audit,
// console tokens, throttle) against the implementation newStore opens, a
// fresh one per test, closed when the test ends. A PostgreSQL
// implementation runs the same suite with its own constructor, and an
// inspector to look at its rows.
func suite(t *testing.T, newStore func(t *testing.T) Stores) {
	for _, tc := range []struct {
		name string
		run  func(*testing.T, func(*testing.T) Stores)
	}{
		{"AuditAddRoundTrip", testAuditAddRoundTrip},
		{"AuditFilters", testAuditFilters},
		{"AuditPagingAndLimits", testAuditPagingAndLimits},
		{"PurgeAudit", testPurgeAudit},
		{"ConsoleTokens", testConsoleTokens},
		{"ConsoleTokenRace", testConsoleTokenRace},
		{"SessionSaveGet", testSessionSaveGet},
		{"SessionExpiry", testSessionExpiry},
		{"SessionDelete", testSessionDelete},
		{"PurgeSessions", testPurgeSessions},
		{"Throttle", testThrottle},
		{"PurgeThrottle", testPurgeThrottle},
		{"Users", testUsers},
		{"CountAdmins", testCountAdmins},
		{"ListUsers", testListUsers},
		{"ListUsersLimits", testListUsersLimits},
		// Templates (issue 10).
		{"Templates", testTemplates},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore) })
	}
}

// TestSQLite runs the suite against the SQLite store.
func TestSQLite(t *testing.T) {
	suite(t, func(t *testing.T) Stores {
		s, _ := openStore(t, "")
		return sqliteUnderTest{s}
	})
}

// inspector looks at an implementation's rows, for what the interfaces
// rightly do not show: that only hashes are stored, that purges delete.
type inspector interface {
	// rows counts the rows of table.
	rows(t *testing.T, table string) int
	// count runs a COUNT(*) query with ? parameters.
	count(t *testing.T, query string, args ...any) int
}

// look returns s's inspector; an implementation under test must have one.
func look(t *testing.T, s Stores) inspector {
	t.Helper()
	in, ok := s.(inspector)
	if !ok {
		t.Fatalf("%T has no inspector for the suite", s)
	}
	return in
}

// sqliteUnderTest is the SQLite store with its inspector.
type sqliteUnderTest struct{ *Store }

func (s sqliteUnderTest) rows(t *testing.T, table string) int { return countRows(t, s.Store, table) }

func (s sqliteUnderTest) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := s.r.QueryRowContext(t.Context(), query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
