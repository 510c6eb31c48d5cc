package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/virtportal/virtportal/api"
)

// AddAudit appends e (ignoring e.ID; zero Time means now) and returns its id.
func (s *Store) AddAudit(ctx context.Context, e api.AuditEvent) (int64, error) {
	// The database assigns ids in insertion order; they order the log and
	// are the paging cursor, so a caller-chosen id must not leak in.
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	// Whoever asked, the record stays small and readable: an unauthenticated
	// request must not store 65 kB, nor a name that reads backwards.
	e.Actor, e.Target = AuditText(e.Actor, MaxAuditField), AuditText(e.Target, MaxAuditField)
	e.Action, e.Result = AuditText(e.Action, MaxAuditField), AuditText(e.Result, MaxAuditField)
	e.Client, e.ReqID = AuditText(e.Client, MaxAuditField), AuditText(e.ReqID, MaxAuditField)
	e.Reason = AuditText(e.Reason, MaxAuditReason)
	var id int64
	err := s.w.QueryRowContext(ctx,
		`INSERT INTO audit_events (at, actor, action, target, result, reason, client, request_id)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 RETURNING id`,
		toNS(e.Time), e.Actor, e.Action, e.Target, e.Result, e.Reason, e.Client, e.ReqID).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("store: add audit: %w", err)
	}
	return id, nil
}

// AuditFilter selects audit events; zero fields do not filter.
type AuditFilter struct {
	// Actor matches exactly ("pam:alice").
	Actor string
	// Realm matches the actor's "realm:" prefix ("pam").
	Realm string
	// Action, Target and Result match exactly, or as a prefix when they
	// end in '*' ("vm.*", "vm:web*", "error:*").
	Action string
	Target string
	Result string
	// Since is inclusive and Until exclusive.
	Since time.Time
	Until time.Time
	// BeforeID returns only events older than that id: the paging cursor.
	BeforeID int64
	// Limit <= 0 means DefaultListLimit; at most MaxListLimit.
	Limit int
}

// Next is the BeforeID of the page after items, a page ListAudit returned
// for f; "" when items was the last page.
func (f AuditFilter) Next(items []api.AuditEvent) string {
	if len(items) == 0 || len(items) < clampLimit(f.Limit) {
		return ""
	}
	return strconv.FormatInt(items[len(items)-1].ID, 10)
}

// ListAudit returns the matching events, newest (highest id) first.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]api.AuditEvent, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Actor != "" {
		add("actor = ?", f.Actor)
	}
	if f.Realm != "" {
		add(prefixCond("actor"), prefixArgs(f.Realm+":")...)
	}
	for _, m := range []struct{ col, v string }{{"action", f.Action}, {"target", f.Target}, {"result", f.Result}} {
		if m.v == "" {
			continue
		}
		if p, ok := strings.CutSuffix(m.v, "*"); ok {
			if p != "" { // a lone "*" matches everything
				add(prefixCond(m.col), prefixArgs(p)...)
			}
		} else {
			add(m.col+" = ?", m.v)
		}
	}
	if !f.Since.IsZero() {
		add("at >= ?", toNS(f.Since))
	}
	if !f.Until.IsZero() {
		add("at < ?", toNS(f.Until))
	}
	if f.BeforeID > 0 {
		add("id < ?", f.BeforeID)
	}
	query := `SELECT id, at, actor, action, target, result, reason, client, request_id FROM audit_events`
	if len(where) > 0 {
		// Only fixed fragments are joined here; every value is a placeholder.
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY id DESC LIMIT ?"
	args = append(args, clampLimit(f.Limit))

	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	events := []api.AuditEvent{}
	for rows.Next() {
		var e api.AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Action, &e.Target, &e.Result, &e.Reason, &e.Client, &e.ReqID); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		e.Time = fromNS(at)
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return events, nil
}

// prefixCond matches col against a literal, case-sensitive prefix given by
// prefixArgs. Not LIKE: it ignores ASCII case in SQLite but not in
// PostgreSQL, while substr() (counting characters in both) means the same
// on each and needs no escaping.
func prefixCond(col string) string {
	return "substr(" + col + ", 1, ?) = ?"
}

func prefixArgs(p string) []any {
	return []any{utf8.RuneCountInString(p), p}
}

// PurgeAudit deletes events older than before and says how many.
func (s *Store) PurgeAudit(ctx context.Context, before time.Time) (int, error) {
	return s.execCount(ctx, "purge audit", `DELETE FROM audit_events WHERE at < ?`, toNS(before))
}

// Bounds of audited strings, in bytes.
const (
	MaxAuditField  = 256
	MaxAuditReason = 512
)

// AuditText makes s safe to store and to show: invalid UTF-8 bytes, control
// characters, backslashes and invisible format characters (bidi overrides
// and isolates U+202A–U+202E, U+2066–U+2069, zero-width characters, line
// and paragraph separators) are escaped as \xNN or \uNNNN, and the result
// is at most max bytes, cut at a character and ending in "…".
func AuditText(s string, max int) string {
	const ell = "…"
	var b strings.Builder
	fit := 0 // the longest prefix, at a piece's end, that leaves room for ell
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		var piece string
		switch {
		case r == utf8.RuneError && n == 1:
			piece = fmt.Sprintf(`\x%02x`, s[i])
		case r == '\\':
			piece = `\\`
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.In(r, unicode.Zl, unicode.Zp):
			piece = fmt.Sprintf(`\u%04x`, r)
		default:
			piece = s[i : i+n]
		}
		if b.Len()+len(piece) > max {
			return b.String()[:fit] + ell
		}
		b.WriteString(piece)
		if b.Len() <= max-len(ell) {
			fit = b.Len()
		}
		i += n
	}
	return b.String()
}
