// Package guests is the caller's view of guests: who may see which guest
// (a hidden one is "not found", never "forbidden"), the list walked from
// the caller's grants rather than from every guest, and each guest object
// decorated with the caller's role, its host and the actions the caller
// may take on it (allowed_actions).
package guests

import (
	"context"
	"fmt"
	"slices"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/virt"
)

var (
	permRead     = rbac.Permission{Object: "vm", Action: "read"}
	permHostRead = rbac.Permission{Object: "host", Action: "read"}
)

// Service answers for the guests of one host; its decisions go through an
// rbac.Authorizer over every host's grants (virt.Fleet), keyed by host and
// name, so a guest of the same name elsewhere lends it nothing.
type Service struct {
	virt  *virt.Manager
	authz *rbac.Authorizer
	host  string
	acts  *rbac.ActionSet // the per-guest actions reported in allowed_actions
}

// New returns the view of host's guests; actions are the per-guest
// permissions allowed_actions reports (the guest routes' permissions); the
// policy's per-guest roles add theirs, so a custom policy file shows too.
func New(v *virt.Manager, a *rbac.Authorizer, host string, actions []rbac.Permission) (*Service, error) {
	if v != nil && v.HostName() != host {
		return nil, fmt.Errorf("guests: host %q served by the manager of host %q", host, v.HostName())
	}
	s := &Service{virt: v, authz: a, host: host}
	if a == nil {
		return s, nil
	}
	perms := slices.Clone(actions)
	more, err := a.PermissionsOf(rbac.GuestRoles...)
	if err != nil {
		return nil, err
	}
	for _, p := range more {
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	s.acts = a.NewActionSet(perms)
	return s, nil
}

// Host is the name of the host whose guests the service answers for.
func (s *Service) Host() string { return s.host }

// Ref names the guest name of the service's host (a route with {name} only).
func (s *Service) Ref(name string) api.GuestRef { return api.GuestRef{Host: s.host, Name: name} }

// manager is the guest's host's manager: a guest of a host the service
// does not answer for is not found.
func (s *Service) manager(g api.GuestRef) (*virt.Manager, error) {
	if g.Host != s.host {
		return nil, virt.GuestNotFound(g.Name)
	}
	return s.virt, nil
}

// Decide allows perm on guest g for p, or refuses: someone who may not see
// the guest learns nothing of it, not even that it exists (404); someone
// who sees it but may not do this gets 403.
func (s *Service) Decide(p rbac.Principal, perm rbac.Permission, g api.GuestRef) error {
	m, err := s.manager(g)
	if err != nil {
		return err
	}
	ok, err := s.authz.AllowedOn(p, perm, g)
	if err != nil {
		return fault.Internalf(err)
	}
	if ok {
		return nil
	}
	sees, err := s.authz.AllowedOn(p, permRead, g)
	if err != nil {
		return fault.Internalf(err)
	}
	if !sees || !m.Exists(g.Name) {
		return virt.GuestNotFound(g.Name)
	}
	return fault.CodeForbidden.New("your role on guest %q does not allow %s", g.Name, permText(perm))
}

// permText words a permission for a person.
func permText(p rbac.Permission) string {
	switch {
	case p.Object == "vm" && p.Action == "console":
		return "opening its console"
	case p.Object == "vm":
		return p.Action + " actions"
	case p.Object == "access" && p.Action == "read":
		return "reading its access list"
	case p.Object == "access":
		return "changing its access list"
	}
	return p.String()
}

// List is what p may see of the host's guests, filtered and sorted by q:
// everything for those who see all, else the guests of p's grants (direct
// or through groups), each guest's grants read once.
func (s *Service) List(ctx context.Context, p rbac.Principal, q virt.ListQuery) ([]api.VM, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	all, err := s.authz.SeesAll(p)
	if err != nil {
		return nil, fault.Internalf(err)
	}
	var vms []api.VM
	if all {
		if vms, err = s.virt.List(ctx); err != nil {
			return nil, err
		}
		for i := range vms {
			vms[i].MyRole = s.authz.RoleOn(p, s.ref(&vms[i])) // admin or auditor, no grant read
		}
		if err := s.decorateList(p, vms, nil); err != nil {
			return nil, err
		}
		return q.Apply(vms), nil
	}
	grs, err := s.authz.GrantedRoles(p, permRead)
	if err != nil {
		return nil, fault.Internalf(err)
	}
	// Grants on guests of other hosts are theirs to list.
	names, roles := make([]string, 0, len(grs)), make(map[api.GuestRef]string, len(grs))
	guestRoles := make(map[api.GuestRef][]string, len(grs))
	for _, gr := range grs {
		if gr.Guest.Host != s.host {
			continue
		}
		names = append(names, gr.Guest.Name)
		roles[gr.Guest], guestRoles[gr.Guest] = gr.Role, gr.Roles
	}
	if vms, err = s.virt.ListNames(ctx, names); err != nil {
		return nil, err
	}
	for i := range vms {
		vms[i].MyRole = roles[s.ref(&vms[i])]
	}
	if err := s.decorateList(p, vms, guestRoles); err != nil {
		return nil, err
	}
	return q.Apply(vms), nil
}

// Get is one guest as p sees it: host paths only for those who may read
// the host (an rbac error hides them too). The caller decided p may read it.
func (s *Service) Get(ctx context.Context, p rbac.Principal, g api.GuestRef) (api.VMDetail, error) {
	m, err := s.manager(g)
	if err != nil {
		return api.VMDetail{}, err
	}
	vm, err := m.Get(ctx, g.Name)
	if err != nil {
		return vm, err
	}
	if err := s.Decorate(p, &vm.VM); err != nil {
		return vm, err
	}
	if ok, err := s.authz.Allowed(p, permHostRead); err != nil || !ok {
		virt.HideHostPaths(&vm)
	}
	return vm, nil
}

// Action runs a power action and returns the guest as p now sees it.
func (s *Service) Action(ctx context.Context, p rbac.Principal, g api.GuestRef, action string) (api.VM, error) {
	m, err := s.manager(g)
	if err != nil {
		return api.VM{}, err
	}
	vm, err := m.Action(ctx, g.Name, action)
	if err != nil {
		return vm, err
	}
	return vm, s.Decorate(p, &vm)
}

// ref is vm's name on its host; a guest object without one is of the
// service's host, and says so from now on.
func (s *Service) ref(vm *api.VM) api.GuestRef {
	if vm.Host == "" {
		vm.Host = s.host
	}
	return vm.Ref()
}

// Decorate sets p's role, the host and p's allowed actions on one guest.
func (s *Service) Decorate(p rbac.Principal, vm *api.VM) error {
	g := s.ref(vm)
	vm.MyRole = s.authz.RoleOn(p, g)
	acts, err := s.actions(p, s.authz.GuestRolesOf(p, g))
	vm.AllowedActions = acts
	return err
}

// DecorateRole sets the host and p's allowed actions on vm from p's role
// on it as already known (vm.MyRole, e.g. from grants an event carried);
// per-guest roles include the ones below them, so the role says it all.
func (s *Service) DecorateRole(p rbac.Principal, vm *api.VM) error {
	s.ref(vm)
	var gr []string
	if slices.Contains(rbac.GuestRoles, vm.MyRole) {
		gr = []string{vm.MyRole}
	}
	acts, err := s.actions(p, gr)
	vm.AllowedActions = acts
	return err
}

// actions is what p may do with a guest on which its grants give it
// guestRoles: its global roles and those, asked together.
func (s *Service) actions(p rbac.Principal, guestRoles []string) ([]string, error) {
	roles := p.Roles
	if len(guestRoles) > 0 {
		roles = append(slices.Clone(p.Roles), guestRoles...)
	}
	acts, err := s.acts.Of(roles...)
	if err != nil {
		return nil, fault.Internalf(err)
	}
	return acts, nil
}

// decorateList sets the host and allowed actions on every listed guest;
// roles holds p's per-guest roles when the list came from p's grants (nil:
// read them). A caller whose global roles allow everything costs one lookup.
func (s *Service) decorateList(p rbac.Principal, vms []api.VM, roles map[api.GuestRef][]string) error {
	global, err := s.actions(p, nil)
	if err != nil {
		return err
	}
	for i := range vms {
		g := s.ref(&vms[i])
		if len(global) == s.acts.Len() {
			vms[i].AllowedActions = global
			continue
		}
		gr, ok := roles[g]
		if !ok && roles == nil {
			gr = s.authz.GuestRolesOf(p, g)
		}
		if vms[i].AllowedActions, err = s.actions(p, gr); err != nil {
			return err
		}
	}
	return nil
}
