package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/auth"
)

// paged runs a paged search (RFC 2696) and stops once it holds more than
// limit entries; more reports that more matched than limit.
func (l *Realm) paged(ctx context.Context, lc *ldapConn, base, filter string, attrs []string, limit int) (entries []*ldap.Entry, more bool, err error) {
	size := uint32(min(ldapPageSize, limit+1))
	paging := ldap.NewControlPaging(size)
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, l.timeLimit(), false, filter, attrs, []ldap.Control{paging})
	for {
		var res *ldap.SearchResult
		err := lc.op(ctx, l.cfg.OpTimeout, func(c *ldap.Conn) (err error) {
			res, err = c.Search(req)
			return err
		})
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && res != nil {
			// The server's own cap: what came is all there is.
			entries = append(entries, res.Entries...)
			return entries[:min(len(entries), limit)], true, nil
		}
		if err != nil {
			return nil, false, err
		}
		entries = append(entries, res.Entries...)
		var cookie []byte
		if pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging); ok {
			cookie = pc.Cookie
		}
		if len(entries) > limit {
			if len(cookie) > 0 {
				// Tell the server to drop the rest (size 0 with the cookie).
				paging.PagingSize = 0
				paging.SetCookie(cookie)
				_ = lc.op(ctx, l.cfg.OpTimeout, func(c *ldap.Conn) error { _, err := c.Search(req); return err })
			}
			return entries[:limit], true, nil
		}
		if len(cookie) == 0 {
			return entries, false, nil
		}
		paging.SetCookie(cookie)
	}
}

// dirQuery is the substring filter of a directory search over attrs; q is a
// literal ("*" matches a star), and an empty q matches everything.
func dirQuery(base string, q string, attrs ...string) string {
	if q == "" {
		return base
	}
	var b strings.Builder
	b.WriteString("(&" + base + "(|")
	e := ldap.EscapeFilter(q)
	for _, a := range attrs {
		b.WriteString("(" + a + "=*" + e + "*)")
	}
	b.WriteString("))")
	return b.String()
}

func (l *Realm) groupClass() string {
	if l.cfg.Flavor == FlavorAD {
		return "(objectClass=group)"
	}
	return "(|(objectClass=posixGroup)(objectClass=groupOfNames))"
}

func (l *Realm) searchLimit(limit int) int {
	if limit <= 0 || limit > l.cfg.SearchLimit {
		return l.cfg.SearchLimit
	}
	return limit
}

func validQuery(q string) bool {
	return len(q) <= ldapMaxQueryLen && utf8.ValidString(q) && strings.IndexFunc(q, unicode.IsControl) < 0
}

// SearchUsers implements Directory: users whose login name, cn, display name
// or mail contains q.
func (l *Realm) SearchUsers(ctx context.Context, q string, limit int) (api.DirList, error) {
	out := api.DirList{Items: []api.DirEntry{}}
	if !validQuery(q) {
		return out, nil
	}
	attrs := []string{l.cfg.UsernameAttr, "cn", l.cfg.DisplayAttr, "mail"}
	slices.Sort(attrs)
	attrs = slices.Compact(attrs)
	// Every entry the login filter could find, whatever the name.
	base := strings.ReplaceAll(l.cfg.UserFilter, "{username}", "*")
	filter := dirQuery(base, q, attrs...)
	entries, more, err := l.dirSearch(ctx, l.cfg.BaseDN, filter, []string{l.cfg.UsernameAttr, l.cfg.DisplayAttr, "cn"}, l.searchLimit(limit))
	if err != nil {
		return out, err
	}
	out.Truncated = more
	for _, e := range entries {
		name := e.GetEqualFoldAttributeValue(l.cfg.UsernameAttr)
		if name == "" {
			continue
		}
		disp := e.GetEqualFoldAttributeValue(l.cfg.DisplayAttr)
		if disp == "" {
			disp = e.GetEqualFoldAttributeValue("cn")
		}
		out.Items = append(out.Items, api.DirEntry{Kind: "user", Realm: l.Name(), Name: name, Display: disp, DN: e.DN})
	}
	slices.SortFunc(out.Items, func(a, b api.DirEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// SearchGroups implements Directory: groups whose cn or description contains q.
func (l *Realm) SearchGroups(ctx context.Context, q string, limit int) (api.DirList, error) {
	out := api.DirList{Items: []api.DirEntry{}}
	if !validQuery(q) {
		return out, nil
	}
	filter := dirQuery(l.groupClass(), q, "cn", "description")
	entries, more, err := l.dirSearch(ctx, l.cfg.GroupBaseDN, filter, []string{"cn", "description"}, l.searchLimit(limit))
	if err != nil {
		return out, err
	}
	out.Truncated = more
	for _, e := range entries {
		name := e.GetEqualFoldAttributeValue("cn")
		if name == "" {
			continue
		}
		out.Items = append(out.Items, api.DirEntry{Kind: "group", Realm: l.Name(), Name: name,
			Display: e.GetEqualFoldAttributeValue("description"), DN: e.DN})
	}
	slices.SortFunc(out.Items, func(a, b api.DirEntry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (l *Realm) dirSearch(ctx context.Context, base, filter string, attrs []string, limit int) ([]*ldap.Entry, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, l.cfg.OpTimeout+l.cfg.ConnectTimeout)
	defer cancel()
	var entries []*ldap.Entry
	var more bool
	err := l.withService(ctx, func(lc *ldapConn) (err error) {
		entries, more, err = l.paged(ctx, lc, base, filter, attrs, limit)
		return err
	})
	if err != nil {
		return nil, false, auth.Fail(auth.ReasonUnavailable, err)
	}
	return entries, more, nil
}

// LookupUser reports whether exactly one user called name exists, for grants.
func (l *Realm) LookupUser(ctx context.Context, name string) (bool, error) {
	if checkName(name) != nil {
		return false, nil
	}
	return l.lookup(ctx, l.cfg.BaseDN, l.userFilter(name), name)
}

// LookupGroup reports whether exactly one group with cn name exists, for grants.
func (l *Realm) LookupGroup(ctx context.Context, name string) (bool, error) {
	if checkName(name) != nil {
		return false, nil
	}
	return l.lookup(ctx, l.cfg.GroupBaseDN, "(&"+l.groupClass()+"(cn="+ldap.EscapeFilter(name)+"))", name)
}

func (l *Realm) lookup(ctx context.Context, base, filter, name string) (bool, error) {
	req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		2, l.timeLimit(), false, filter, []string{"1.1"}, nil) // 1.1: no attributes
	res, _, err := l.search(ctx, req)
	switch {
	case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded), err == nil && len(res.Entries) > 1:
		return false, fmt.Errorf("ldap: %q: %w", logName(name), auth.ErrAmbiguous)
	case err != nil:
		return false, auth.Fail(auth.ReasonUnavailable, err)
	}
	return len(res.Entries) == 1, nil
}
