package virt

import (
	"context"
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

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
	// xmlHash lets a rebuild skip parsing a domain XML that did not change.
	xmlHash uint64
}

var xmlSeed = maphash.MakeSeed()

// stateName maps libvirt's state to the API's words.
func stateName(s libvirt.DomainState) string {
	switch s {
	case libvirt.DOMAIN_RUNNING:
		return api.StateRunning
	case libvirt.DOMAIN_BLOCKED:
		return api.StateBlocked
	case libvirt.DOMAIN_PAUSED:
		return api.StatePaused
	case libvirt.DOMAIN_SHUTDOWN:
		return api.StateShutdown
	case libvirt.DOMAIN_SHUTOFF:
		return api.StateShutoff
	case libvirt.DOMAIN_CRASHED:
		return api.StateCrashed
	case libvirt.DOMAIN_PMSUSPENDED:
		return api.StateSuspended
	}
	return api.StateUnknown
}

// memMiB converts a libvirt memory size to MiB.
func memMiB(value uint64, unit string) uint64 {
	var b uint64
	switch strings.ToLower(unit) {
	case "b", "bytes":
		b = value
	case "kb":
		b = value * 1000
	case "", "k", "kib":
		b = value << 10
	case "mb":
		b = value * 1000 * 1000
	case "m", "mib":
		b = value << 20
	case "gb":
		b = value * 1000 * 1000 * 1000
	case "g", "gib":
		b = value << 30
	case "tb":
		b = value * 1000 * 1000 * 1000 * 1000
	case "t", "tib":
		b = value << 40
	default:
		b = value << 10
	}
	return b >> 20
}

// parseDomain reads a domain XML into an entry (state, persistence and
// autostart come from elsewhere). A metadata problem is logged and yields
// no grants rather than hiding the guest.
func (m *Manager) parseDomain(doc string) (*entry, *libvirtxml.Domain, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return nil, nil, fmt.Errorf("parse domain XML: %w", err)
	}
	e := &entry{xmlHash: maphash.String(xmlSeed, doc)}
	e.vm.Name = d.Name
	e.vm.UUID = d.UUID
	if d.VCPU != nil {
		e.vm.VCPUs = int(d.VCPU.Value)
		if d.VCPU.Current > 0 {
			e.vm.VCPUs = int(d.VCPU.Current)
		}
	}
	if d.Memory != nil {
		e.maxMemMiB = memMiB(uint64(d.Memory.Value), d.Memory.Unit)
	}
	e.vm.MemoryMiB = e.maxMemMiB
	if d.CurrentMemory != nil {
		e.vm.MemoryMiB = memMiB(uint64(d.CurrentMemory.Value), d.CurrentMemory.Unit)
	}
	if d.Devices != nil {
		for _, g := range d.Devices.Graphics {
			if k := graphicsKind(g); k == "vnc" || k == "spice" {
				e.vm.Graphics = k
				break
			}
		}
		for _, disk := range d.Devices.Disks {
			if src := diskSourceKey(disk); src != "" {
				e.disks = append(e.disks, src)
			}
		}
	}
	var metaErr error
	if d.Metadata != nil {
		ours, kimchi, err := splitMetadata(d.Metadata.XML)
		if err != nil {
			metaErr = err
		} else {
			e.meta, metaErr = infoFromMeta(ours, kimchi)
		}
	}
	if metaErr != nil {
		m.log.Warn("unreadable guest metadata; no grants taken from it", "guest", d.Name, "err", metaErr)
	}
	e.vm.OS = e.meta.os
	return e, &d, nil
}

func graphicsKind(g libvirtxml.DomainGraphic) string {
	switch {
	case g.VNC != nil:
		return "vnc"
	case g.Spice != nil:
		return "spice"
	case g.RDP != nil:
		return "rdp"
	case g.SDL != nil:
		return "sdl"
	case g.Desktop != nil:
		return "desktop"
	case g.EGLHeadless != nil:
		return "egl-headless"
	case g.DBus != nil:
		return "dbus"
	}
	return ""
}

// diskSourceKey names where a disk's data lives, for volume-sharing checks.
func diskSourceKey(d libvirtxml.DomainDisk) string {
	if d.Source == nil {
		return ""
	}
	switch {
	case d.Source.File != nil && d.Source.File.File != "":
		return d.Source.File.File
	case d.Source.Block != nil && d.Source.Block.Dev != "":
		return d.Source.Block.Dev
	case d.Source.Volume != nil && d.Source.Volume.Pool != "" && d.Source.Volume.Volume != "":
		return "vol:" + d.Source.Volume.Pool + "/" + d.Source.Volume.Volume
	}
	return ""
}

// readEntry reads one guest completely: its XML, state, persistence and
// autostart (four calls; used for single refreshes, not for rebuilds).
func (m *Manager) readEntry(dom *libvirt.Domain) (*entry, error) {
	doc, err := dom.GetXMLDesc(0)
	if err != nil {
		return nil, err
	}
	st, _, err := dom.GetState()
	if err != nil {
		return nil, err
	}
	persistent, err := dom.IsPersistent()
	if err != nil {
		return nil, err
	}
	autostart := false
	if persistent {
		if autostart, err = dom.GetAutostart(); err != nil {
			return nil, err
		}
	}
	e, _, err := m.parseDomain(doc)
	if err != nil {
		return nil, err
	}
	e.vm.State = stateName(st)
	e.vm.Persistent = persistent
	e.vm.Autostart = autostart
	return e, nil
}

// readMeta re-reads only the metadata (ours, else Kimchi's), the same copy
// GetXMLDesc(0) shows: live for a running guest, persistent otherwise.
func readMeta(dom *libvirt.Domain) (guestInfo, error) {
	ours, err := getMetadata(dom, MetadataNS, libvirt.DOMAIN_AFFECT_CURRENT)
	if err != nil {
		return guestInfo{}, err
	}
	var g *guestMeta
	if ours != "" {
		if g, err = parseGuestMeta(ours); err != nil {
			return guestInfo{}, err // unreadable grants of ours grant nothing
		}
		// Kimchi's grants count only when ours have no <access>.
		if g.Access != nil {
			return infoFromGuest(g, "")
		}
	}
	kimchi, err := getMetadata(dom, KimchiNS, libvirt.DOMAIN_AFFECT_CURRENT)
	if err != nil {
		return guestInfo{}, err
	}
	return infoFromGuest(g, kimchi)
}

// getMetadata returns the element under ns, or "" when there is none.
func getMetadata(dom *libvirt.Domain, ns string, flags libvirt.DomainModificationImpact) (string, error) {
	doc, err := dom.GetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, ns, flags)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_DOMAIN_METADATA {
			return "", nil
		}
		return "", err
	}
	return doc, nil
}

// refresh re-reads one guest and updates the index and subscribers.
func (m *Manager) refresh(name string, kind refreshKind) error {
	events, err := m.refreshLocked(name, kind)
	m.publish(events)
	return err
}

func (m *Manager) refreshLocked(name string, kind refreshKind) ([]Event, error) {
	c, err := m.acquire()
	if err != nil {
		return nil, err
	}
	defer release(c)
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()

	dom, err := c.LookupDomainByName(name)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_DOMAIN {
			return m.remove(name), nil
		}
		return nil, err
	}
	defer dom.Free()
	return m.reread(dom, name, kind)
}

// refreshDom is refresh through dom, a handle the caller already holds
// (an action, a grant change): no second lookup.
func (m *Manager) refreshDom(dom *libvirt.Domain, name string, kind refreshKind) error {
	m.refreshMu.Lock()
	events, err := m.reread(dom, name, kind)
	m.refreshMu.Unlock()
	m.publish(events)
	return err
}

// reread reads dom (the guest name) into the index. Callers hold refreshMu.
func (m *Manager) reread(dom *libvirt.Domain, name string, kind refreshKind) ([]Event, error) {
	if kind == refreshMeta && m.Exists(name) {
		info, err := readMeta(dom)
		switch {
		case err == nil:
			return m.setMeta(name, info), nil
		case libvirtCode(err) == libvirt.ERR_NO_DOMAIN:
			return m.remove(name), nil
		case isConnErr(err):
			return nil, err
		}
		m.log.Warn("unreadable guest metadata; re-reading the whole guest", "guest", name, "err", err)
	}
	e, err := m.readEntry(dom)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_DOMAIN {
			return m.remove(name), nil
		}
		return nil, err
	}
	return m.put(e), nil
}

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
		x.Graphics == y.Graphics && a.maxMemMiB == b.maxMemMiB && slices.Equal(a.disks, b.disks)
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

// rebuild re-reads every guest: ListAllDomains, bulk state, the persistent
// and autostart sets, and one GetXMLDesc per guest fetched by a few
// workers. XML that did not change since the last read is not parsed again.
func (m *Manager) rebuild(initial bool) error {
	events, err := m.rebuildLocked(initial)
	m.publish(events)
	return err
}

func (m *Manager) rebuildLocked(initial bool) ([]Event, error) {
	c, err := m.acquire()
	if err != nil {
		return nil, err
	}
	defer release(c)
	m.refreshMu.Lock()
	defer m.refreshMu.Unlock()

	doms, err := c.ListAllDomains(0)
	if err != nil {
		return nil, err
	}
	defer func() {
		for i := range doms {
			_ = doms[i].Free()
		}
	}()
	names := make([]string, len(doms))
	for i := range doms {
		if names[i], err = doms[i].GetName(); err != nil {
			return nil, err
		}
	}
	states, err := bulkStates(c)
	if err != nil {
		return nil, err
	}
	transient, err := nameSet(c, libvirt.CONNECT_LIST_DOMAINS_TRANSIENT)
	if err != nil {
		return nil, err
	}
	autostart, err := nameSet(c, libvirt.CONNECT_LIST_DOMAINS_AUTOSTART)
	if err != nil {
		return nil, err
	}

	m.mu.RLock()
	known := make(map[string]*entry, len(m.byName))
	for n, e := range m.byName {
		known[n] = e
	}
	m.mu.RUnlock()

	entries := make([]*entry, len(doms))
	errs := make([]error, len(doms))
	workers := min(runtime.GOMAXPROCS(0)+1, 8, max(len(doms), 1))
	var next int
	var nextMu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				nextMu.Lock()
				i := next
				next++
				nextMu.Unlock()
				if i >= len(doms) {
					return
				}
				entries[i], errs[i] = m.rebuildOne(&doms[i], names[i], known[names[i]])
			}
		})
	}
	wg.Wait()

	fresh := make(map[string]*entry, len(doms))
	for i, e := range entries {
		if errs[i] != nil {
			// Gone between the listing and the read: leave it out.
			if libvirtCode(errs[i]) == libvirt.ERR_NO_DOMAIN {
				continue
			}
			return nil, errs[i]
		}
		st, ok := states[names[i]]
		if !ok {
			// Not in the bulk state answer: it vanished or just appeared;
			// the event that follows fixes it.
			st = libvirt.DOMAIN_NOSTATE
			if s, _, err := doms[i].GetState(); err == nil {
				st = s
			} else if libvirtCode(err) == libvirt.ERR_NO_DOMAIN {
				continue
			}
		}
		e.vm.State = stateName(st)
		e.vm.Persistent = !transient[names[i]]
		e.vm.Autostart = autostart[names[i]]
		fresh[e.vm.Name] = e
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	var events []Event
	for name := range m.byName {
		if _, ok := fresh[name]; !ok {
			events = append(events, m.removeLocked(name)...)
		}
	}
	if initial && len(m.byName) == 0 {
		// First build: one sort instead of many inserts.
		m.sorted = make([]*entry, 0, len(fresh))
		for name, e := range fresh {
			m.byName[name] = e
			m.grantees.reindex(name, nil, e.meta.grants)
			m.sorted = append(m.sorted, e)
		}
		slices.SortFunc(m.sorted, func(a, b *entry) int { return strings.Compare(a.vm.Name, b.vm.Name) })
	} else {
		for _, e := range fresh {
			events = append(events, m.putLocked(e)...)
		}
	}
	events = append(events, Event{Kind: EventResync})
	return events, nil
}

// rebuildOne fetches one guest's XML and parses it unless it is unchanged.
func (m *Manager) rebuildOne(dom *libvirt.Domain, name string, old *entry) (*entry, error) {
	doc, err := dom.GetXMLDesc(0)
	if err != nil {
		return nil, err
	}
	// xmlHash is written under m.mu (setMeta), so it is read under it too.
	hash := maphash.String(xmlSeed, doc)
	m.mu.RLock()
	same := old != nil && old.xmlHash != 0 && old.xmlHash == hash
	var kept entry
	if same {
		kept = *old
	}
	m.mu.RUnlock()
	if same {
		return &kept, nil
	}
	e, _, err := m.parseDomain(doc)
	if err != nil {
		return nil, fmt.Errorf("guest %s: %w", name, err)
	}
	return e, nil
}

// bulkStates asks for every guest's state in one call.
func bulkStates(c *libvirt.Connect) (map[string]libvirt.DomainState, error) {
	recs, err := c.GetAllDomainStats(nil, libvirt.DOMAIN_STATS_STATE, 0)
	if err != nil {
		return nil, err
	}
	out := make(map[string]libvirt.DomainState, len(recs))
	for _, r := range recs {
		name, nerr := r.Domain.GetName()
		if nerr == nil && r.State != nil && r.State.StateSet {
			out[name] = r.State.State
		}
		_ = r.Domain.Free()
	}
	return out, nil
}

func nameSet(c *libvirt.Connect, flags libvirt.ConnectListAllDomainsFlags) (map[string]bool, error) {
	doms, err := c.ListAllDomains(flags)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(doms))
	for i := range doms {
		if name, err := doms[i].GetName(); err == nil {
			out[name] = true
		}
		_ = doms[i].Free()
	}
	return out, nil
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
