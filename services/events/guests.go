package events

import (
	"context"
	"slices"
	"sync"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/virt"
)

// GuestSource is one host's guest index; *virt.Manager is one.
type GuestSource interface {
	Subscribe(fn func(virt.Event)) (cancel func())
	List(ctx context.Context) ([]api.VM, error)
	ListNames(ctx context.Context, names []string) ([]api.VM, error)
	Grants(name string) ([]api.Grant, bool)
}

// guestWatch turns one host's index events into guest changes. It keeps
// the grants it last saw of each guest: who could see a guest before a
// change (a revoke, an undefine) is no longer in the index after it.
type guestWatch struct {
	b    *Broker
	host string
	src  GuestSource

	mu      sync.Mutex
	pending []virt.Event
	kick    chan struct{}

	known map[string][]api.Grant // the worker's own
}

// WatchGuests publishes the changes of host's guests until stop is called.
// The index's callbacks only queue: the fan-out runs on a goroutine of
// its own, so a burst of events never slows libvirt's event handling.
func (b *Broker) WatchGuests(host string, src GuestSource) (stop func()) {
	w := &guestWatch{b: b, host: host, src: src, kick: make(chan struct{}, 1), known: map[string][]api.Grant{}}
	ctx, cancel := context.WithCancel(context.Background())
	unsub := src.Subscribe(w.enqueue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.resync()
		w.run(ctx)
	}()
	return func() {
		unsub()
		cancel()
		<-done
	}
}

func (w *guestWatch) enqueue(e virt.Event) {
	w.mu.Lock()
	w.pending = append(w.pending, e)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *guestWatch) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		}
		w.mu.Lock()
		batch := w.pending
		w.pending = nil
		w.mu.Unlock()
		for _, e := range batch {
			w.handle(e)
		}
	}
}

// resync re-reads every guest's grants (at start and after the index's
// periodic rebuild, whose changes were announced one by one already).
func (w *guestWatch) resync() {
	vms, err := w.src.List(context.Background())
	if err != nil {
		return // not ready yet: the first rebuild ends with a resync event
	}
	known := make(map[string][]api.Grant, len(vms))
	for _, vm := range vms {
		gs, ok := w.src.Grants(vm.Name)
		if ok {
			known[vm.Name] = gs
		}
	}
	w.known = known
}

func (w *guestWatch) current(name string) (*api.VM, bool) {
	vms, err := w.src.ListNames(context.Background(), []string{name})
	if err != nil || len(vms) == 0 {
		return nil, false
	}
	return &vms[0], true
}

func (w *guestWatch) handle(e virt.Event) {
	if e.Kind == virt.EventResync {
		w.resync()
		return
	}
	before, wasKnown := w.known[e.Name]
	g := GuestChange{Host: w.host, Name: e.Name, Before: before, WasKnown: wasKnown}
	switch e.Kind {
	case virt.EventUndefined:
		delete(w.known, e.Name)
		if !wasKnown {
			return
		}
		g.Type = GuestRemoved
	case virt.EventDefined, virt.EventState, virt.EventMetadata:
		vm, ok := w.current(e.Name)
		if !ok {
			return // gone again: its undefined event follows
		}
		after, _ := w.src.Grants(e.Name)
		w.known[e.Name] = after
		g.VM, g.After, g.Known = vm, after, true
		switch {
		case !wasKnown:
			g.Type = GuestAdded
		case e.Kind == virt.EventMetadata:
			if slices.Equal(before, after) {
				return // the OS info changed, not who may see it
			}
			g.Type = GuestGrants
		default:
			g.Type = GuestState
		}
	default:
		return
	}
	w.b.PublishGuest(g)
}
