package handlers

import (
	"slices"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
)

// initActions builds the set of per-guest actions reported in
// allowed_actions: the permissions of the guest-scoped routes and those
// the policy gives the per-guest roles (so a custom policy.file that adds
// an action for operators shows it too).
func (s *Server) initActions(rs []Route) error {
	if s.d.Authz == nil {
		return nil
	}
	var perms []rbac.Permission
	for _, rt := range rs {
		if rt.Scope.Kind == "guest" && !slices.Contains(perms, rt.Perm) {
			perms = append(perms, rt.Perm)
		}
	}
	more, err := s.d.Authz.PermissionsOf(rbac.GuestRoles...)
	if err != nil {
		return err
	}
	for _, p := range more {
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	s.guestActs = s.d.Authz.NewActionSet(perms)
	return nil
}

// guestActions is what p may do with a guest on which its grants give it
// guestRoles: its global roles and those, asked together.
func (s *Server) guestActions(p rbac.Principal, guestRoles []string) ([]string, error) {
	if len(guestRoles) == 0 {
		return s.guestActs.Of(p.Roles...)
	}
	return s.guestActs.Of(append(slices.Clone(p.Roles), guestRoles...)...)
}

// fillActions sets AllowedActions, and the host's name, on one guest for p.
func (s *Server) fillActions(p rbac.Principal, vm *api.VM) error {
	vm.Host = s.opt.Host
	acts, err := s.guestActions(p, s.d.Authz.GuestRolesOf(p, vm.Name))
	vm.AllowedActions = acts
	return err
}

// fillListActions sets AllowedActions on every listed guest; roles holds
// p's per-guest roles when the list came from p's grants (nil: read them).
// A caller whose global roles allow everything costs one lookup in all.
func (s *Server) fillListActions(p rbac.Principal, vms []api.VM, roles map[string][]string) error {
	global, err := s.guestActs.Of(p.Roles...)
	if err != nil {
		return err
	}
	for i := range vms {
		vms[i].Host = s.opt.Host // one host in this version
		if len(global) == s.guestActs.Len() {
			vms[i].AllowedActions = global
			continue
		}
		gr, ok := roles[vms[i].Name]
		if !ok && roles == nil {
			gr = s.d.Authz.GuestRolesOf(p, vms[i].Name)
		}
		if vms[i].AllowedActions, err = s.guestActions(p, gr); err != nil {
			return err
		}
	}
	return nil
}
