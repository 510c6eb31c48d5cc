package virt

import (
	"errors"
	"fmt"
	"slices"

	"github.com/virtportal/virtportal/api"
)

// Fleet is the managers of every host the portal manages, by host name.
// It is the grant source rbac decides with: a guest is asked of its own
// host only, so a guest of the same name on another host never lends its
// grants. A Fleet does not change after NewFleet, so it needs no lock.
type Fleet struct {
	byHost map[string]*Manager
	hosts  []string // sorted
}

// NewFleet combines the managers of distinct hosts.
func NewFleet(ms ...*Manager) (*Fleet, error) {
	if len(ms) == 0 {
		return nil, errors.New("virt: a fleet needs at least one host")
	}
	f := &Fleet{byHost: make(map[string]*Manager, len(ms))}
	for _, m := range ms {
		if m == nil {
			return nil, errors.New("virt: a fleet host without a manager")
		}
		h := m.HostName()
		if _, dup := f.byHost[h]; dup {
			return nil, fmt.Errorf("virt: two managers for host %q", h)
		}
		f.byHost[h] = m
		f.hosts = append(f.hosts, h)
	}
	slices.Sort(f.hosts)
	return f, nil
}

// Manager returns the manager of host, if the fleet has that host.
func (f *Fleet) Manager(host string) (*Manager, bool) {
	m, ok := f.byHost[host]
	return m, ok
}

// Hosts returns the host names, sorted.
func (f *Fleet) Hosts() []string { return slices.Clone(f.hosts) }

// GrantsOf returns the grants of the guest from its own host's index, and
// whether that host knows the guest (a host not in the fleet: no).
func (f *Fleet) GrantsOf(g api.GuestRef) ([]api.Grant, bool) {
	m, ok := f.byHost[g.Host]
	if !ok {
		return nil, false
	}
	return m.GrantsOf(g)
}

// GuestsGrantedTo returns the guests of every host that grant something to
// user of realm directly or to one of groups, sorted by host, then name.
func (f *Fleet) GuestsGrantedTo(realm, user string, groups []string) []api.GuestRef {
	if len(f.hosts) == 1 {
		return f.byHost[f.hosts[0]].GuestsGrantedTo(realm, user, groups)
	}
	var out []api.GuestRef
	for _, h := range f.hosts {
		out = append(out, f.byHost[h].GuestsGrantedTo(realm, user, groups)...)
	}
	return out
}
