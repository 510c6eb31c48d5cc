package rbac

import (
	"slices"

	"github.com/virtportal/virtportal/api"
)

// RolesIn returns the per-guest roles p holds through grants (direct and
// through p's groups).
func RolesIn(p Principal, grants []api.Grant) []string {
	var roles []string
	for _, g := range grants {
		if g.Realm != p.Realm {
			continue
		}
		if (g.Kind == "user" && g.Name == p.Name) || (g.Kind == "group" && slices.Contains(p.Groups, g.Name)) {
			if !slices.Contains(roles, g.Role) {
				roles = append(roles, g.Role)
			}
		}
	}
	return roles
}

// AllowedWith is AllowedOn for a guest carrying the given grants rather
// than those in the index: for a guest that is gone, or whose grants just
// changed (the event stream decides with the grants before and after).
func (a *Authorizer) AllowedWith(p Principal, perm Permission, grants []api.Grant) (bool, error) {
	if !p.Permits(perm) {
		return false, nil
	}
	ok, err := a.Allowed(p, perm)
	if err != nil || ok {
		return ok, err
	}
	return a.anyAllows(RolesIn(p, grants), perm)
}

// RoleWith is RoleOn for a guest carrying the given grants.
func (a *Authorizer) RoleWith(p Principal, grants []api.Grant) string {
	return roleOf(p, RolesIn(p, grants))
}
