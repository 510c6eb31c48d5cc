package virt

import (
	"slices"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"
)

// A pool and a network changed through another connection (as virsh
// would) reach the manager's subscribers as pool and network events.
func TestResourceEventsFromAnotherConnection(t *testing.T) {
	m := startURI(t, defaultURI)
	var mu sync.Mutex
	var seen []Event
	defer m.Subscribe(func(ev Event) {
		mu.Lock()
		seen = append(seen, ev)
		mu.Unlock()
	})()
	saw := func(kind, name, change string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return slices.Contains(seen, Event{Kind: kind, Name: name, Change: change})
		}
	}
	other := openConn(t, defaultURI)

	poolDoc, err := (&libvirtxml.StoragePool{Type: "dir", Name: "evt-pool", Target: &libvirtxml.StoragePoolTarget{Path: "/evt-pool"}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := other.StoragePoolDefineXML(poolDoc, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	t.Cleanup(func() { _ = p.Destroy(); _ = p.Undefine() })
	eventually(t, time.Second, "pool defined", saw(EventPool, "evt-pool", "defined"))
	if err := p.Create(0); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "pool started", saw(EventPool, "evt-pool", "started"))
	if err := p.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := p.Undefine(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "pool stopped", saw(EventPool, "evt-pool", "stopped"))
	eventually(t, time.Second, "pool undefined", saw(EventPool, "evt-pool", "undefined"))

	netDoc, err := (&libvirtxml.Network{Name: "evt-net", Bridge: &libvirtxml.NetworkBridge{Name: "virbr-evt"}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	n, err := other.NetworkDefineXML(netDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Free()
	t.Cleanup(func() { _ = n.Destroy(); _ = n.Undefine() })
	eventually(t, time.Second, "network defined", saw(EventNetwork, "evt-net", "defined"))
	if err := n.Create(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "network started", saw(EventNetwork, "evt-net", "started"))
	if err := n.Destroy(); err != nil {
		t.Fatal(err)
	}
	if err := n.Undefine(); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "network undefined", saw(EventNetwork, "evt-net", "undefined"))
}
