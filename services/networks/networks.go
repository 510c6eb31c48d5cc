// Package networks holds what network work spans: the pass-through of a
// host's network calls for handlers, and what a caller who may not read
// networks sees of them (the names of those their guests use).
package networks

import (
	"context"
	"slices"

	"github.com/virtportal/virtportal/api"
)

// Host is what the service needs of a host; *virt.Manager is one.
type Host interface {
	ListNetworks(ctx context.Context) ([]api.Network, error)
	Network(ctx context.Context, name string) (api.Network, error)
	CreateNetwork(ctx context.Context, req api.NetworkRequest) (api.Network, error)
	StartNetwork(ctx context.Context, name string) (api.Network, error)
	StopNetwork(ctx context.Context, name string) (api.Network, error)
	SetNetworkAutostart(ctx context.Context, name string, on bool) (api.Network, error)
	DeleteNetwork(ctx context.Context, name string) error
	NetworkLeases(ctx context.Context, name string) ([]api.Lease, error)
	FreeSubnet(ctx context.Context) (api.FreeSubnet, error)
	HostInterfaces(ctx context.Context) ([]api.HostInterface, error)
}

// Service is the networks of one host.
type Service struct{ Host }

// New returns the network service of host h.
func New(h Host) *Service { return &Service{Host: h} }

// NetworksOfGuests is what a caller who may not read networks sees: the
// names of the networks the given guests (those the caller sees) use,
// nothing more.
func (s *Service) NetworksOfGuests(ctx context.Context, guests []string) ([]api.Network, error) {
	if len(guests) == 0 {
		return []api.Network{}, nil
	}
	mine := make(map[string]bool, len(guests))
	for _, g := range guests {
		mine[g] = true
	}
	all, err := s.ListNetworks(ctx)
	if err != nil {
		return nil, err
	}
	out := []api.Network{}
	for _, n := range all {
		if slices.ContainsFunc(n.UsedBy, func(g string) bool { return mine[g] }) {
			out = append(out, api.Network{Name: n.Name, UsedBy: []string{}})
		}
	}
	return out, nil
}
