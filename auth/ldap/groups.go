package ldap

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

type ldapGroup struct{ dn, cn string }

// normDN is the comparable form of a DN: parsed, types and values folded.
func normDN(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(dn)
}

// groups reads u's groups, nested ones included.
func (l *Realm) groups(ctx context.Context, u ldapUser) ([]ldapGroup, error) {
	var out []ldapGroup
	err := l.withService(ctx, func(lc *ldapConn) error {
		var err error
		if l.cfg.Flavor == FlavorAD {
			out, err = l.adGroups(ctx, lc, u)
		} else {
			out, err = l.openLDAPGroups(ctx, lc, u)
		}
		return err
	})
	return out, err
}

func (l *Realm) openLDAPGroups(ctx context.Context, lc *ldapConn, u ldapUser) ([]ldapGroup, error) {
	first := fmt.Sprintf("(|(&(objectClass=posixGroup)(memberUid=%s))(&(objectClass=groupOfNames)(member=%s)))",
		ldap.EscapeFilter(u.name), ldap.EscapeFilter(u.dn))
	return l.walkGroups(ctx, lc, first, "(objectClass=groupOfNames)")
}

func groupsOf(entries []*ldap.Entry) []ldapGroup {
	out := make([]ldapGroup, 0, len(entries))
	for _, e := range entries {
		if cn := e.GetEqualFoldAttributeValue("cn"); cn != "" {
			out = append(out, ldapGroup{dn: e.DN, cn: cn})
		}
	}
	return out
}

// walkGroups finds the groups matching first, then, breadth first, the
// groups (of class nestClass) that contain those, level by level with one
// search per level, up to ldapMaxDepth levels and ldapMaxGroups groups.
//
// Direct memberships are read at every login. What nesting adds is cached
// for NestedGroupTTL per set of direct groups: most users share a few such
// sets, nesting edges change rarely, and the walk is the longest part of a
// login (at least one more round trip, however flat the directory).
func (l *Realm) walkGroups(ctx context.Context, lc *ldapConn, first, nestClass string) ([]ldapGroup, error) {
	entries, _, err := l.paged(ctx, lc, l.cfg.GroupBaseDN, first, []string{"cn"}, ldapMaxGroups)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []ldapGroup
	var frontier []string
	add := func(gs []ldapGroup) {
		for _, g := range gs {
			if k := normDN(g.dn); !seen[k] && len(out) < ldapMaxGroups {
				seen[k] = true
				out = append(out, g)
				frontier = append(frontier, g.dn)
			}
		}
	}
	add(groupsOf(entries))
	direct := len(out)
	key := l.nestKey(nestClass, out)
	if gs, ok := l.nestGet(key); ok {
		add(gs)
		return out, nil
	}
	for depth := 0; depth < ldapMaxDepth && len(frontier) > 0; depth++ {
		level := frontier
		frontier = nil
		for chunk := range slices.Chunk(level, ldapOrChunk) {
			var b strings.Builder
			b.WriteString("(&" + nestClass + "(|")
			for _, dn := range chunk {
				b.WriteString("(member=" + ldap.EscapeFilter(dn) + ")")
			}
			b.WriteString("))")
			es, _, err := l.paged(ctx, lc, l.cfg.GroupBaseDN, b.String(), []string{"cn"}, ldapMaxGroups)
			if err != nil {
				return nil, err
			}
			add(groupsOf(es))
		}
	}
	if len(frontier) > 0 || len(out) >= ldapMaxGroups {
		l.log.Warn("ldap: group nesting cut short", "depth", ldapMaxDepth, "groups", len(out))
	} else {
		l.nestPut(key, out[direct:])
	}
	return out, nil
}

func (l *Realm) nestKey(class string, direct []ldapGroup) string {
	if len(direct) == 0 {
		return ""
	}
	keys := make([]string, 0, len(direct)+1)
	for _, g := range direct {
		keys = append(keys, normDN(g.dn))
	}
	slices.Sort(keys)
	return class + "\n" + strings.Join(keys, "\n")
}

func (l *Realm) nestGet(key string) ([]ldapGroup, bool) {
	if key == "" {
		return nil, true // no direct group, nothing to nest
	}
	if l.cfg.NestedGroupTTL < 0 {
		return nil, false
	}
	l.nestMu.Lock()
	defer l.nestMu.Unlock()
	e, ok := l.nest[key]
	if !ok || time.Now().After(e.expires) {
		return nil, false
	}
	return e.groups, true
}

func (l *Realm) nestPut(key string, groups []ldapGroup) {
	if key == "" || l.cfg.NestedGroupTTL < 0 {
		return
	}
	now := time.Now()
	l.nestMu.Lock()
	defer l.nestMu.Unlock()
	if l.nest == nil || len(l.nest) >= ldapNestCacheMax {
		for k, e := range l.nest {
			if now.After(e.expires) {
				delete(l.nest, k)
			}
		}
		if l.nest == nil || len(l.nest) >= ldapNestCacheMax {
			l.nest = map[string]nestEntry{}
		}
	}
	l.nest[key] = nestEntry{groups: slices.Clone(groups), expires: now.Add(l.cfg.NestedGroupTTL)}
}
