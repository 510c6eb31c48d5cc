package virt

import (
	"fmt"
	"hash/maphash"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/fault"
)

type refreshKind uint8

const (
	refreshMeta refreshKind = iota + 1
	refreshFull
)

// enqueue coalesces: a burst of events for one guest costs one refresh.
func (m *Manager) enqueue(name string, kind refreshKind) {
	m.pendMu.Lock()
	if m.pending[name] < kind {
		m.pending[name] = kind
	}
	m.pendMu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

func (m *Manager) refreshWorker() {
	defer m.wg.Done()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.kick:
		}
		m.pendMu.Lock()
		jobs := m.pending
		m.pending = make(map[string]refreshKind)
		m.pendMu.Unlock()
		for name, kind := range jobs {
			if m.ctx.Err() != nil {
				return
			}
			if err := m.refresh(name, kind); err != nil {
				if isConnErr(err) || fault.IsKind(err, fault.Unavailable) {
					// The reconnect's rebuild covers what is dropped here.
					m.signalLost()
					continue
				}
				m.log.Error("guest refresh failed", "guest", name, "err", err)
			}
		}
	}
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

	start := time.Now()
	doms, err := c.ListAllDomains(0)
	m.observe("list domains", start, err)
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
