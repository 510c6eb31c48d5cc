// Package virt is virtportal's only door to libvirt: one connection manager
// per host URI that survives libvirtd restarts, an in-memory index of guests
// and their grants kept current by domain events, bulk statistics, power
// actions, deletion, domain metadata and test-driver fixtures.
//
// Nothing here knows about HTTP or sessions; every error handed to a caller is
// a fault (package fault) with a stable code and a message safe to show.
//
// The Manager is split by resource over its one connection: manager.go (life
// cycle, subscriptions), conn.go (the connection and reconnects), index.go,
// refresh.go and domainxml.go (the guest index), guests.go (actions, detail,
// deletion), devices.go, volumes.go, consoles.go, stream.go, screenshots.go,
// spice.go, grants.go and metadata.go (access lists), stats.go and host.go.
// Pools, volumes and networks get files of their own the same way.
package virt
