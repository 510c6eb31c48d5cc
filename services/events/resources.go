package events

import (
	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/virt"
)

// ResourceSource is one host's libvirt events; *virt.Manager is one.
type ResourceSource interface {
	Subscribe(fn func(virt.Event)) (cancel func())
}

// Who sees pool and network events: those who may read them (users of
// guests see names of their guests' pools only, and refetch on their own).
var (
	permPoolRead    = rbac.Permission{Object: "pool", Action: "read"}
	permNetworkRead = rbac.Permission{Object: "network", Action: "read"}
)

// WatchResources publishes the lifecycle changes of host's pools and
// networks (also those made with virsh or by another portal) until stop
// is called. The change names what happened; clients refetch the object.
func (b *Broker) WatchResources(host string, src ResourceSource) (stop func()) {
	return src.Subscribe(func(e virt.Event) {
		if e.Kind != virt.EventPool && e.Kind != virt.EventNetwork {
			return
		}
		b.publish(Event{Resource: &api.ResourceEvent{Kind: e.Kind, Type: e.Change, Host: host, Name: e.Name}})
	})
}

// PublishResource announces a pool or network change (tests, or changes
// the host reports no event for).
func (b *Broker) PublishResource(r api.ResourceEvent) { b.publish(Event{Resource: &r}) }

// viewResource is ev as p sees it, if p may read that kind.
func (b *Broker) viewResource(p *rbac.Principal, ev Event) (Message, bool) {
	perm := permPoolRead
	if ev.Resource.Kind == virt.EventNetwork {
		perm = permNetworkRead
	}
	if ok, err := b.authz.Allowed(*p, perm); err != nil || !ok {
		return Message{}, false
	}
	r := *ev.Resource
	return Message{ID: ev.ID, Event: r.Kind, Resource: &r}, true
}
