package rbac

import (
	"slices"
	"strings"
	"sync"
)

// ActionName is how the API names a permission in allowed_actions: "vm.power".
func ActionName(p Permission) string { return p.Object + "." + p.Action }

// PermissionsOf lists the permissions the policy gives roles by name in its
// own lines (not through wildcards), in policy order, without duplicates.
func (a *Authorizer) PermissionsOf(roles ...string) ([]Permission, error) {
	lines, err := a.enf.GetPolicy()
	if err != nil {
		return nil, err
	}
	var out []Permission
	for _, l := range lines {
		if len(l) < 3 || !slices.Contains(roles, l[0]) || l[1] == "*" || l[2] == "*" {
			continue
		}
		if p := (Permission{Object: l[1], Action: l[2]}); !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// ActionSet answers which of a fixed list of permissions some roles allow,
// as action names, from the Casbin policy. Answers are cached per set of
// roles: the policy does not change while the server runs, and no person
// or grant is part of the key, so a revoke is never outlived.
type ActionSet struct {
	a     *Authorizer
	perms []Permission

	mu   sync.RWMutex
	memo map[string][]string
}

// NewActionSet returns an ActionSet over perms.
func (a *Authorizer) NewActionSet(perms []Permission) *ActionSet {
	return &ActionSet{a: a, perms: slices.Clone(perms), memo: map[string][]string{}}
}

// Of returns the actions that one of roles allows, in the order of the
// set's permissions; never nil. The slice is shared: do not modify it.
func (s *ActionSet) Of(roles ...string) ([]string, error) {
	key := strings.Join(roles, "\x00")
	s.mu.RLock()
	out, hit := s.memo[key]
	s.mu.RUnlock()
	if hit {
		return out, nil
	}
	out = []string{}
	for _, p := range s.perms {
		ok, err := s.a.anyAllows(roles, p)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ActionName(p))
		}
	}
	s.mu.Lock()
	if len(s.memo) < memoCap {
		s.memo[key] = out
	}
	s.mu.Unlock()
	return out, nil
}

// Len is the number of permissions in the set.
func (s *ActionSet) Len() int { return len(s.perms) }
