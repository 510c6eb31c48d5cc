package virt

import (
	"context"
	"slices"
	"sync"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/api"
)

// grantee identifies who a grant is for.
type grantee struct{ kind, realm, name string }

// grantIndex maps each grantee to the guests granting it something, so that
// a caller's guest list walks the caller's grants, never every guest.
// It is guarded by Manager.mu.
type grantIndex map[grantee]map[string]struct{}

// reindex moves guest's entries from the old grants to the new ones.
func (gi grantIndex) reindex(guest string, old, cur []api.Grant) {
	for _, g := range old {
		k := grantee{g.Kind, g.Realm, g.Name}
		if set := gi[k]; set != nil {
			delete(set, guest)
			if len(set) == 0 {
				delete(gi, k)
			}
		}
	}
	for _, g := range cur {
		k := grantee{g.Kind, g.Realm, g.Name}
		if gi[k] == nil {
			gi[k] = map[string]struct{}{}
		}
		gi[k][guest] = struct{}{}
	}
}

// GuestsGrantedTo returns, sorted by name, the guests of this host granting
// something to user of realm directly or to one of groups.
func (m *Manager) GuestsGrantedTo(realm, user string, groups []string) []api.GuestRef {
	m.mu.RLock()
	defer m.mu.RUnlock()
	seen := map[string]struct{}{}
	add := func(k grantee) {
		for g := range m.grantees[k] {
			seen[g] = struct{}{}
		}
	}
	add(grantee{"user", realm, user})
	for _, g := range groups {
		add(grantee{"group", realm, g})
	}
	names := make([]string, 0, len(seen))
	for g := range seen {
		names = append(names, g)
	}
	slices.Sort(names)
	out := make([]api.GuestRef, len(names))
	for i, n := range names {
		out[i] = m.Ref(n)
	}
	return out
}

// GrantsOf is Grants for a guest named across hosts: a guest of another
// host is not known here, whatever its name.
func (m *Manager) GrantsOf(g api.GuestRef) ([]api.Grant, bool) {
	if g.Host != m.cfg.Host {
		return nil, false
	}
	return m.Grants(g.Name)
}

// ListNames is List for the named guests only; unknown names are skipped.
func (m *Manager) ListNames(ctx context.Context, names []string) ([]api.VM, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if err := m.readyLocked(); err != nil {
		return nil, err
	}
	out := make([]api.VM, 0, len(names))
	oses := make([]api.OSInfo, len(names))
	for i, n := range names {
		if e, ok := m.byName[n]; ok {
			out = append(out, e.copyVM(&oses[i]))
		}
	}
	return out, nil
}

// PatchGrants applies a PATCH to cur: entries named in remove go (matched by
// kind, realm and name, whatever the role), an entry in add replaces the same
// principal's entry, and the adds come last in their order.
func PatchGrants(cur, add, remove []api.Grant) []api.Grant {
	same := func(a, b api.Grant) bool { return a.Kind == b.Kind && a.Realm == b.Realm && a.Name == b.Name }
	next := slices.DeleteFunc(slices.Clone(cur), func(g api.Grant) bool {
		return slices.ContainsFunc(remove, func(r api.Grant) bool { return same(g, r) }) ||
			slices.ContainsFunc(add, func(a api.Grant) bool { return same(g, a) })
	})
	return append(next, add...)
}

// grantLocks serialises read-modify-write of one guest's grants.
type grantLocks struct {
	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

func (l *grantLocks) lock(name string) func() {
	l.mu.Lock()
	if l.locks == nil {
		l.locks = map[string]*sync.Mutex{}
	}
	mu := l.locks[name]
	if mu == nil {
		mu = &sync.Mutex{}
		l.locks[name] = mu
	}
	l.mu.Unlock()
	mu.Lock()
	return mu.Unlock
}

// UpdateGrants applies change to the guest's current grants and writes the
// result, atomically against other updates through this manager, so that
// concurrent edits of one guest lose no entry.
func (m *Manager) UpdateGrants(ctx context.Context, name string, change func(cur []api.Grant) ([]api.Grant, error)) ([]api.Grant, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	unlock := m.grantLocks.lock(name)
	defer unlock()
	cur, ok := m.Grants(name)
	if !ok {
		return nil, GuestNotFound(name)
	}
	next, err := change(cur)
	if err != nil {
		return nil, err
	}
	if err := m.SetGrants(ctx, name, next); err != nil {
		return nil, err
	}
	got, _ := m.Grants(name)
	return got, nil
}

// SetGrants replaces the <access> of the guest's virtportal metadata,
// keeping everything else in it. It writes the persistent definition and,
// while the guest runs, the live one, each from its own current content.
func (m *Manager) SetGrants(ctx context.Context, name string, grants []api.Grant) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := validateGrants(grants); err != nil {
		return err
	}
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return err
	}
	defer release(c)
	defer dom.Free()

	active, persistent, err := activity(dom)
	if err != nil {
		return m.fail("get state", name, err)
	}
	var targets []libvirt.DomainModificationImpact
	if persistent {
		targets = append(targets, libvirt.DOMAIN_AFFECT_CONFIG)
	}
	if active {
		targets = append(targets, libvirt.DOMAIN_AFFECT_LIVE)
	}
	if grants == nil {
		grants = []api.Grant{}
	}
	for _, flags := range targets {
		cur, err := getMetadata(dom, MetadataNS, flags)
		if err != nil {
			return m.fail("read metadata", name, err)
		}
		doc, err := withAccess(cur, grants)
		if err != nil {
			// Our element is unreadable; replacing it would lose data.
			m.log.Error("cannot rewrite guest metadata", "guest", name, "err", err)
			return CodeMetadataUnreadable.New("guest %q has virtportal metadata that cannot be read; fix it with virsh metadata first", name)
		}
		if err := dom.SetMetadata(libvirt.DOMAIN_METADATA_ELEMENT, doc, MetadataPrefix, MetadataNS, flags); err != nil {
			return m.fail("write metadata", name, err)
		}
	}
	if err := m.refreshDom(dom, name, refreshMeta); err != nil {
		// A revoke must hold on the next request even if re-reading failed:
		// put what was written into the index directly.
		m.log.Warn("refresh after grant change failed", "guest", name, "err", err)
		m.mu.RLock()
		info := guestInfo{}
		if e, ok := m.byName[name]; ok {
			info.os = e.meta.os
		}
		m.mu.RUnlock()
		info.grants = grantsFromAccess(accessFrom(grants))
		// Under refreshMu, so a rebuild that read the XML before the write
		// cannot put the old grants back after this.
		m.refreshMu.Lock()
		events := m.setMeta(name, info)
		m.refreshMu.Unlock()
		m.publish(events)
	}
	return nil
}
