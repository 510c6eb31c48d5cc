package handlers

import (
	"slices"

	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/guests"
)

// initGuests builds the caller's view of guests; the per-guest actions of
// allowed_actions are the permissions of the guest-scoped routes (the
// policy's per-guest roles add theirs).
func (s *Server) initGuests(rs []Route) error {
	var perms []rbac.Permission
	for _, rt := range rs {
		if rt.Scope.Kind == "guest" && !slices.Contains(perms, rt.Perm) {
			perms = append(perms, rt.Perm)
		}
	}
	g, err := guests.New(s.d.Virt, s.d.Authz, s.opt.Host, perms)
	s.guests = g
	return err
}
