package virt

import (
	"libvirt.org/go/libvirt"
)

// Kinds of Event for pools and networks: Name is the pool or network and
// Change what happened to it (defined, undefined, started, stopped,
// created, deleted).
const (
	EventPool    = "pool"
	EventNetwork = "network"
)

// resourceCallbacks are the pool and network event registrations of one
// connection, deregistered with it.
type resourceCallbacks struct{ pool, net []int }

func poolChange(t libvirt.StoragePoolEventLifecycleType) string {
	switch t {
	case libvirt.STORAGE_POOL_EVENT_DEFINED:
		return "defined"
	case libvirt.STORAGE_POOL_EVENT_UNDEFINED:
		return "undefined"
	case libvirt.STORAGE_POOL_EVENT_STARTED:
		return "started"
	case libvirt.STORAGE_POOL_EVENT_STOPPED:
		return "stopped"
	case libvirt.STORAGE_POOL_EVENT_CREATED:
		return "created"
	case libvirt.STORAGE_POOL_EVENT_DELETED:
		return "deleted"
	}
	return "changed"
}

func networkChange(t libvirt.NetworkEventLifecycleType) string {
	switch t {
	case libvirt.NETWORK_EVENT_DEFINED:
		return "defined"
	case libvirt.NETWORK_EVENT_UNDEFINED:
		return "undefined"
	case libvirt.NETWORK_EVENT_STARTED:
		return "started"
	case libvirt.NETWORK_EVENT_STOPPED:
		return "stopped"
	}
	return "changed"
}

// registerResourceEvents asks c for pool and network lifecycle events. A
// driver without them only loses live updates of those pages: logged,
// not fatal.
func (m *Manager) registerResourceEvents(c *libvirt.Connect) resourceCallbacks {
	var cb resourceCallbacks
	if id, err := c.StoragePoolEventLifecycleRegister(nil, m.onPoolLifecycle); err == nil {
		cb.pool = append(cb.pool, id)
	} else {
		m.log.Warn("no storage pool events on this driver", "err", err)
	}
	if id, err := c.NetworkEventLifecycleRegister(nil, m.onNetworkLifecycle); err == nil {
		cb.net = append(cb.net, id)
	} else {
		m.log.Warn("no network events on this driver", "err", err)
	}
	return cb
}

func (m *Manager) deregisterResourceEvents(c *libvirt.Connect, cb resourceCallbacks) {
	for _, id := range cb.pool {
		if err := c.StoragePoolEventDeregister(id); err != nil {
			m.log.Debug("pool event deregistration failed", "err", err)
		}
	}
	for _, id := range cb.net {
		if err := c.NetworkEventDeregister(id); err != nil {
			m.log.Debug("network event deregistration failed", "err", err)
		}
	}
}

// The callbacks run on libvirt's event loop; GetName reads the handle and
// subscribers only queue.
func (m *Manager) onPoolLifecycle(_ *libvirt.Connect, p *libvirt.StoragePool, ev *libvirt.StoragePoolEventLifecycle) {
	if name, err := p.GetName(); err == nil {
		m.publish([]Event{{Kind: EventPool, Name: name, Change: poolChange(ev.Event)}})
	}
}

func (m *Manager) onNetworkLifecycle(_ *libvirt.Connect, n *libvirt.Network, ev *libvirt.NetworkEventLifecycle) {
	if name, err := n.GetName(); err == nil {
		m.publish([]Event{{Kind: EventNetwork, Name: name, Change: networkChange(ev.Event)}})
	}
}
