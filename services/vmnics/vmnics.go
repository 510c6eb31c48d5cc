// Package vmnics edits guests' network interfaces on behalf of a caller:
// which networks and NIC types the caller may use, then virt does the edit.
package vmnics

import (
	"context"
	"slices"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/virt"
)

// CodeNetworkNotAllowed: a caller who is no administrator named a network
// none of their guests uses, or a host bridge or interface.
var CodeNetworkNotAllowed = fault.Define("nic_source_not_allowed", fault.Forbidden)

// PermHostNIC lets a caller connect NICs to host bridges and interfaces
// and to any network (administrators).
var PermHostNIC = rbac.Permission{Object: "network", Action: "manage"}

// Guests lists the guests a caller sees.
type Guests interface {
	List(ctx context.Context, p rbac.Principal, q virt.ListQuery) ([]api.VM, error)
}

// Networks names the networks guests use, and all of them.
type Networks interface {
	NetworksOfGuests(ctx context.Context, guests []string) ([]api.Network, error)
	ListNetworks(ctx context.Context) ([]api.Network, error)
}

// Authz decides global permissions.
type Authz interface {
	Allowed(p rbac.Principal, perm rbac.Permission) (bool, error)
}

// Service is the NIC editor of one host.
type Service struct {
	v     *virt.Manager
	g     Guests
	n     Networks
	authz Authz
}

// New returns the NIC editor of host v.
func New(v *virt.Manager, g Guests, n Networks, a Authz) *Service {
	return &Service{v: v, g: g, n: n, authz: a}
}

// usable returns the networks p may connect NICs to and whether p may use
// host bridges and interfaces.
func (s *Service) usable(ctx context.Context, p rbac.Principal) ([]string, bool, error) {
	admin, err := s.authz.Allowed(p, PermHostNIC)
	if err != nil {
		return nil, false, fault.Internalf(err)
	}
	var nets []api.Network
	if admin {
		nets, err = s.n.ListNetworks(ctx)
	} else {
		var vms []api.VM
		if vms, err = s.g.List(ctx, p, virt.ListQuery{}); err == nil {
			names := make([]string, len(vms))
			for i, vm := range vms {
				names[i] = vm.Name
			}
			nets, err = s.n.NetworksOfGuests(ctx, names)
		}
	}
	if err != nil {
		return nil, false, err
	}
	out := make([]string, 0, len(nets))
	for _, n := range nets {
		out = append(out, n.Name)
	}
	slices.Sort(out)
	return out, admin, nil
}

// check refuses a source p may not use; nothing changes.
func (s *Service) check(ctx context.Context, p rbac.Principal, req api.NICRequest) error {
	if req.Type == "" && req.Source == "" {
		return nil
	}
	nets, admin, err := s.usable(ctx, p)
	if err != nil {
		return err
	}
	switch req.Type {
	case "", virt.NICNetwork:
		if req.Source != "" && !admin && !slices.Contains(nets, req.Source) {
			return CodeNetworkNotAllowed.New("you may connect NICs only to networks your guests already use")
		}
	case virt.NICBridge, virt.NICDirect:
		if !admin {
			return CodeNetworkNotAllowed.New("only administrators connect NICs to host bridges and interfaces")
		}
	}
	return nil
}

// List returns the guest's NICs with the networks and types p may use.
func (s *Service) List(ctx context.Context, p rbac.Principal, name string) (api.NICList, error) {
	out, err := s.v.NICs(ctx, name)
	if err != nil {
		return out, err
	}
	nets, admin, err := s.usable(ctx, p)
	if err != nil {
		return out, err
	}
	out.Networks, out.Types = nets, []string{virt.NICNetwork}
	if admin {
		out.Types = append(out.Types, virt.NICBridge, virt.NICDirect)
	}
	return out, nil
}

// Add adds a NIC.
func (s *Service) Add(ctx context.Context, p rbac.Principal, name string, req api.NICRequest) (api.NICChange, error) {
	if req.Source == "" && (req.Type == "" || req.Type == virt.NICNetwork) {
		return api.NICChange{}, virt.CodeNICSourceNeeded.New("name the network the NIC connects to")
	}
	if err := s.check(ctx, p, req); err != nil {
		return api.NICChange{}, err
	}
	return s.v.AddNIC(ctx, name, req)
}

// Update edits a NIC.
func (s *Service) Update(ctx context.Context, p rbac.Principal, name, mac string, req api.NICRequest) (api.NICChange, error) {
	if err := s.check(ctx, p, req); err != nil {
		return api.NICChange{}, err
	}
	return s.v.UpdateNIC(ctx, name, mac, req)
}

// Remove removes a NIC.
func (s *Service) Remove(ctx context.Context, name, mac string) (api.NICChange, error) {
	return s.v.RemoveNIC(ctx, name, mac)
}
