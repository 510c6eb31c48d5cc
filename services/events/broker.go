// Package events is the broker behind GET /api/v1/events (DESIGN.md §10):
// task changes and guest changes, each delivered only to subscribers who
// may see it, with monotonic ids, a ring of recent events for
// Last-Event-ID resume, and bounded per-subscriber buffers (a slow
// subscriber is dropped with a reset; publishers never wait for one).
package events

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/tasks"
)

// Guest change types, as on the wire.
const (
	GuestState   = "state"
	GuestGrants  = "grants"
	GuestAdded   = "added"
	GuestRemoved = "removed"
)

// Why a subscription ends.
const (
	EndReset   = "reset"   // too slow, or resumed from too far back: refetch
	EndLogout  = "logout"  // the session logged out
	EndRevoked = "revoked" // the session was ended elsewhere
	EndExpired = "expired" // the session expired
	EndClosed  = "closed"  // the server is stopping
)

// GuestChange is one change of a guest, with its grants before and after
// so that a caller who gained or lost sight of it learns "added" or
// "removed".
type GuestChange struct {
	Type          string // state, grants, added, removed
	Host, Name    string
	VM            *api.VM // as it is now; nil once removed
	Before, After []api.Grant
	// WasKnown and Known say whether the guest existed before and after.
	WasKnown, Known bool
}

// Event is one published event; exactly one of Task, Guest and Resource
// is set.
type Event struct {
	ID       uint64
	Task     *tasks.Info
	Guest    *GuestChange
	Resource *api.ResourceEvent // a pool or network
}

// Message is an event as one subscriber sees it.
type Message struct {
	ID       uint64
	Event    string // "task", "guest", "pool" or "network"
	Task     *api.Task
	Guest    *api.GuestEvent
	Resource *api.ResourceEvent
	// Data is the JSON of Task or Guest, made once for every subscriber
	// who sees the event alike.
	Data []byte
}

// viewKey names how a subscriber sees an event: all who share it get the
// same bytes.
func viewKey(m Message) string {
	if m.Task != nil {
		return strings.Join(m.Task.AllowedActions, ",")
	}
	if m.Resource != nil {
		return "resource" // everyone who sees it sees it alike
	}
	role, acts := "", ""
	if m.Guest.VM != nil {
		role, acts = m.Guest.VM.MyRole, strings.Join(m.Guest.VM.AllowedActions, ",")
	}
	return m.Guest.Type + "|" + role + "|" + acts
}

func marshal(m *Message) {
	var v any = m.Guest
	switch {
	case m.Task != nil:
		v = m.Task
	case m.Resource != nil:
		v = m.Resource
	}
	m.Data, _ = json.Marshal(v)
}

// Authorizer is what the broker asks; *rbac.Authorizer is one.
type Authorizer interface {
	tasks.Authorizer
	AllowedWith(p rbac.Principal, perm rbac.Permission, grants []api.Grant) (bool, error)
	RoleWith(p rbac.Principal, grants []api.Grant) string
}

// Options tune a Broker.
type Options struct {
	Ring   int // recent events kept for resume; default 4096
	Buffer int // messages a subscriber may fall behind; default 512
	// Decorate completes a guest as one subscriber sees it (its host and
	// allowed_actions), given vm.MyRole; nil: only the role is set.
	Decorate func(p rbac.Principal, vm *api.VM)
}

// Broker fans events out to subscribers.
type Broker struct {
	authz Authorizer
	opt   Options

	// mu serialises publishing and subscribing, so every subscriber sees
	// events in id order and a resume's backlog joins the live stream
	// without a gap or a repeat.
	mu    sync.Mutex
	seq   uint64
	floor uint64 // every event with an id above floor is in the ring
	ring  []Event
	head  int // index of the oldest event once the ring is full
	subs  map[*Sub]struct{}
}

// New returns a broker deciding visibility with authz.
func New(authz Authorizer, opt Options) *Broker {
	if opt.Ring <= 0 {
		opt.Ring = 4096
	}
	if opt.Buffer <= 0 {
		opt.Buffer = 512
	}
	// Ids start at the clock in microseconds, so an id from before a
	// restart is older than anything in the new ring and gets a reset
	// instead of a silent gap.
	base := uint64(time.Now().UnixMicro())
	return &Broker{authz: authz, opt: opt, seq: base, floor: base, subs: map[*Sub]struct{}{}}
}

// Sub is one subscriber: one event stream of one session.
type Sub struct {
	b         *Broker
	c         chan Message
	principal atomic.Pointer[rbac.Principal]
	session   string

	once   sync.Once
	done   chan struct{}
	reason atomic.Value // string
	start  uint64
}

// Start is the id of the newest event when the subscription began.
func (s *Sub) Start() uint64 { return s.start }

// C delivers the subscriber's messages.
func (s *Sub) C() <-chan Message { return s.c }

// Done is closed when the subscription ends; Reason says why.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Reason is why the subscription ended (EndReset, EndLogout, …).
func (s *Sub) Reason() string {
	r, _ := s.reason.Load().(string)
	return r
}

// SetPrincipal replaces the caller's groups and roles (after a refresh).
func (s *Sub) SetPrincipal(p rbac.Principal) { s.principal.Store(&p) }

// End ends the subscription with reason; the first reason wins.
func (s *Sub) End(reason string) {
	s.once.Do(func() {
		s.reason.Store(reason)
		close(s.done)
	})
}

// Close ends the subscription and forgets it.
func (s *Sub) Close() {
	s.End(EndClosed)
	s.b.mu.Lock()
	delete(s.b.subs, s)
	s.b.mu.Unlock()
}

// Subscribe starts a subscription for p on session (a key for
// EndSession; "" for none). With resume, the events after lastID that p
// may see come first; when they are no longer all in the ring, the
// subscription starts with reset true and the caller must refetch.
func (b *Broker) Subscribe(p rbac.Principal, session string, resume bool, lastID uint64) (s *Sub, backlog []Message, reset bool) {
	s = &Sub{b: b, c: make(chan Message, b.opt.Buffer), session: session, done: make(chan struct{})}
	s.principal.Store(&p)
	b.mu.Lock()
	defer b.mu.Unlock()
	s.start = b.seq
	if resume {
		if lastID < b.floor || lastID > b.seq {
			reset = true
		} else {
			for _, ev := range b.ordered() {
				if ev.ID > lastID {
					if m, ok := b.view(&p, ev); ok {
						marshal(&m)
						backlog = append(backlog, m)
					}
				}
			}
		}
	}
	b.subs[s] = struct{}{}
	return s, backlog, reset
}

// LastID is the id of the newest event.
func (b *Broker) LastID() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}

// ordered returns the ring oldest first. Callers hold b.mu.
func (b *Broker) ordered() []Event {
	if len(b.ring) < b.opt.Ring {
		return b.ring
	}
	return append(slices.Clone(b.ring[b.head:]), b.ring[:b.head]...)
}

// EndSession ends every subscription of session with reason.
func (b *Broker) EndSession(session, reason string) {
	if session == "" {
		return
	}
	b.mu.Lock()
	var ended []*Sub
	for s := range b.subs {
		if s.session == session {
			ended = append(ended, s)
		}
	}
	b.mu.Unlock()
	for _, s := range ended {
		s.End(reason)
	}
}

// Close ends every subscription.
func (b *Broker) Close() {
	b.mu.Lock()
	subs := make([]*Sub, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.End(EndClosed)
	}
}

// Subscribers counts the live subscriptions.
func (b *Broker) Subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// PublishTask announces a task change.
func (b *Broker) PublishTask(in tasks.Info) { b.publish(Event{Task: &in}) }

// PublishGuest announces a guest change.
func (b *Broker) PublishGuest(g GuestChange) { b.publish(Event{Guest: &g}) }

func (b *Broker) publish(ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.seq++
	ev.ID = b.seq
	if len(b.ring) < b.opt.Ring {
		b.ring = append(b.ring, ev)
	} else {
		b.floor = b.ring[b.head].ID
		b.ring[b.head] = ev
		b.head = (b.head + 1) % b.opt.Ring
	}
	var views map[string][]byte
	for s := range b.subs {
		select {
		case <-s.done:
			continue
		default:
		}
		m, ok := b.view(s.principal.Load(), ev)
		if !ok {
			continue
		}
		key := viewKey(m)
		if data, ok := views[key]; ok {
			m.Data = data
		} else {
			marshal(&m)
			if views == nil {
				views = map[string][]byte{}
			}
			views[key] = m.Data
		}
		select {
		case s.c <- m:
		default:
			// Never wait for a slow reader: drop it; it refetches.
			s.End(EndReset)
		}
	}
}

var permVMRead = rbac.Permission{Object: "vm", Action: "read"}

// view is ev as p sees it, if p may see it at all.
func (b *Broker) view(p *rbac.Principal, ev Event) (Message, bool) {
	if ev.Task != nil {
		if !tasks.MaySee(b.authz, *p, ev.Task.Task) {
			return Message{}, false
		}
		t := tasks.View(b.authz, *p, *ev.Task)
		return Message{ID: ev.ID, Event: "task", Task: &t}, true
	}
	if ev.Resource != nil {
		return b.viewResource(p, ev)
	}
	g := ev.Guest
	sees := func(known bool, grants []api.Grant) bool {
		if !known {
			return false
		}
		ok, err := b.authz.AllowedWith(*p, permVMRead, grants)
		return err == nil && ok
	}
	before, after := sees(g.WasKnown, g.Before), sees(g.Known, g.After)
	typ := g.Type
	switch {
	case !before && !after:
		return Message{}, false
	case !before:
		typ = GuestAdded
	case !after:
		typ = GuestRemoved
	}
	out := &api.GuestEvent{Type: typ, Host: g.Host, Name: g.Name}
	if typ != GuestRemoved && g.VM != nil {
		vm := *g.VM
		if vm.OS != nil {
			os := *vm.OS
			vm.OS = &os
		}
		vm.MyRole = b.authz.RoleWith(*p, g.After)
		if b.opt.Decorate != nil {
			b.opt.Decorate(*p, &vm)
		}
		out.VM = &vm
	}
	return Message{ID: ev.ID, Event: "guest", Guest: out}, true
}
