package virt

import (
	"context"
	"hash/maphash"
	"slices"
	"strings"

	"github.com/virtportal/virtportal/api"
)

// entry is one guest in the index. vm.OS points into the entry and is
// never handed out: readers copy it.
type entry struct {
	vm        api.VM
	maxMemMiB uint64
	meta      guestInfo
	// disks are the sources of the guest's disks ("/path" or
	// "vol:pool/volume"), to refuse deleting a volume another guest uses.
	disks []string
	// writable are those of disks a guest writes to (not CD-ROM,
	// read-only or shareable), to refuse a second writer.
	writable []string
	// nics are the guest's interfaces on libvirt networks, to name the
	// guests using a network and the owner of a DHCP lease.
	nics []nic
	// xmlHash lets a rebuild skip parsing a domain XML that did not change.
	xmlHash uint64
}

var xmlSeed = maphash.MakeSeed()

// put stores e, keeping the stats rates of an active guest, and says what
// changed. Callers hold refreshMu.
func (m *Manager) put(e *entry) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.putLocked(e)
}

func (m *Manager) putLocked(e *entry) []Event {
	name := e.vm.Name
	old, ok := m.byName[name]
	if !ok {
		m.byName[name] = e
		m.grantees.reindex(name, nil, e.meta.grants)
		i, _ := slices.BinarySearchFunc(m.sorted, name, cmpEntryName)
		m.sorted = slices.Insert(m.sorted, i, e)
		return []Event{{Kind: EventDefined, Name: name}}
	}
	if isActiveState(e.vm.State) {
		copyRates(&e.vm, &old.vm)
	}
	var events []Event
	if !old.meta.equal(e.meta) {
		events = append(events, Event{Kind: EventMetadata, Name: name})
	}
	if !sameListed(old, e) {
		events = append(events, Event{Kind: EventState, Name: name})
	}
	m.grantees.reindex(name, old.meta.grants, e.meta.grants)
	// Replace in place: sorted holds the same pointer.
	*old = *e
	return events
}

func cmpEntryName(e *entry, name string) int { return strings.Compare(e.vm.Name, name) }

func copyRates(dst, src *api.VM) {
	dst.CPUPercent, dst.MemPercent = src.CPUPercent, src.MemPercent
	dst.DiskReadBps, dst.DiskWriteBps = src.DiskReadBps, src.DiskWriteBps
	dst.NetRxBps, dst.NetTxBps = src.NetRxBps, src.NetTxBps
}

// sameListed compares what a listing shows, apart from rates and metadata.
func sameListed(a, b *entry) bool {
	x, y := a.vm, b.vm
	return x.UUID == y.UUID && x.State == y.State && x.Persistent == y.Persistent &&
		x.Autostart == y.Autostart && x.VCPUs == y.VCPUs && x.MemoryMiB == y.MemoryMiB &&
		x.Graphics == y.Graphics && a.maxMemMiB == b.maxMemMiB && slices.Equal(a.disks, b.disks) && slices.Equal(a.writable, b.writable) && slices.Equal(a.nics, b.nics)
}

func (m *Manager) setMeta(name string, info guestInfo) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.byName[name]
	if !ok || e.meta.equal(info) {
		return nil
	}
	m.grantees.reindex(name, e.meta.grants, info.grants)
	e.meta = info
	e.vm.OS = info.os
	// The XML changed too; make the next rebuild parse it.
	e.xmlHash = 0
	return []Event{{Kind: EventMetadata, Name: name}}
}

func (m *Manager) remove(name string) []Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.removeLocked(name)
}

func (m *Manager) removeLocked(name string) []Event {
	e, ok := m.byName[name]
	if !ok {
		return nil
	}
	m.grantees.reindex(name, e.meta.grants, nil)
	delete(m.byName, name)
	if i, found := slices.BinarySearchFunc(m.sorted, name, cmpEntryName); found {
		m.sorted = slices.Delete(m.sorted, i, i+1)
	}
	return []Event{{Kind: EventUndefined, Name: name}}
}

func isActiveState(s string) bool {
	switch s {
	case api.StateShutoff, api.StateUnknown:
		return false
	}
	return true
}

func (m *Manager) count() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.byName)
}

// List returns every guest from the index, sorted by name, with the rates
// of the last statistics sample. It makes no libvirt call.
func (m *Manager) List(ctx context.Context) ([]api.VM, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.readyLocked(); err != nil {
		return nil, err
	}
	out := make([]api.VM, len(m.sorted))
	oses := make([]api.OSInfo, len(m.sorted))
	for i, e := range m.sorted {
		out[i] = e.copyVM(&oses[i])
	}
	return out, nil
}

// Exists reports whether the index knows the guest.
func (m *Manager) Exists(name string) bool {
	m.mu.RLock()
	_, ok := m.byName[name]
	m.mu.RUnlock()
	return ok
}

// Grants returns a copy of the guest's grants from the index (virtportal's
// <access>, else Kimchi's), and whether the guest is known.
func (m *Manager) Grants(name string) ([]api.Grant, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byName[name]
	if !ok {
		return nil, false
	}
	return slices.Clone(e.meta.grants), true
}

// vm returns a copy of the indexed guest.
func (m *Manager) vm(name string) (api.VM, uint64, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byName[name]
	if !ok {
		return api.VM{}, 0, false
	}
	return e.copyVM(new(api.OSInfo)), e.maxMemMiB, true
}

// copyVM is e's VM with its OS copied into os, so that callers may keep it
// past the lock. Callers hold m.mu.
func (e *entry) copyVM(os *api.OSInfo) api.VM {
	vm := e.vm
	if vm.OS != nil {
		*os = *vm.OS
		vm.OS = os
	}
	return vm
}

// UUIDOf returns the guest's domain UUID from the index, and whether the
// guest is known.
func (m *Manager) UUIDOf(name string) (string, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, ok := m.byName[name]
	if !ok {
		return "", false
	}
	return e.vm.UUID, true
}

// StateCounts counts the index's guests by state.
func (m *Manager) StateCounts() map[string]int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string]int{}
	for _, e := range m.sorted {
		out[e.vm.State]++
	}
	return out
}
