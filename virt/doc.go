// Package virt is virtportal's only door to libvirt: one connection manager
// per host URI that survives libvirtd restarts, an in-memory index of guests
// and their grants kept current by domain events, bulk statistics, power
// actions, deletion, domain metadata and test-driver fixtures.
//
// Nothing here knows about HTTP or sessions; every error handed to a caller is
// a fault (package fault) with a stable code and a message safe to show.
package virt
