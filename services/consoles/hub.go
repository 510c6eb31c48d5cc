package consoles

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// live is one open console.
type live struct {
	identity  string
	principal atomic.Pointer[rbac.Principal] // refreshed from its binding while it runs
	binding   string                         // the session id, or an API token's binding
	bindHash  string                         // store.SessionHash(binding)
	guest     string
	kind      string
	opened    time.Time
	ctx       context.Context
	cancel    context.CancelCauseFunc
}

// hub knows every live console of this server: it enforces the caps and
// ends consoles when their guest stops, their grant goes, their session
// ends or the server shuts down. Consoles are process-local by nature (a
// hijacked connection), so this state is not shared between replicas.
type hub struct {
	mu      sync.Mutex
	live    map[*live]struct{}
	closing bool
	wg      sync.WaitGroup
	unsub   []func()
}

func newHub() *hub { return &hub{live: make(map[*live]struct{})} }

// check refuses a console the caps do not allow; the caller holds h.mu.
// The codes stay the generic conflict and too_many_requests the browser
// already knows.
func (h *hub) check(identity, guest, kind string, o Options) error {
	if h.closing {
		return CodeShuttingDown.New("the server is shutting down")
	}
	perUser, perGuest := 0, 0
	for lc := range h.live {
		if lc.identity == identity {
			perUser++
		}
		if lc.guest == guest {
			perGuest++
			if kind == virt.ConsoleSerial && lc.kind == virt.ConsoleSerial {
				// One writer per serial port: two keyboards on one terminal
				// interleave keystrokes, and libvirt hands out one stream.
				return virt.CodeConsoleBusy.New("the serial console of guest %q is already open (by %s since %s); only one session may use it at a time",
					guest, lc.identity, lc.opened.UTC().Format("15:04:05 UTC"))
			}
		}
	}
	if perUser >= o.MaxPerUser {
		return CodeConsoleLimit.New("you have %d consoles open, the most allowed; close one first", perUser)
	}
	if perGuest >= o.MaxPerGuest {
		return CodeConsoleLimit.New("guest %q has %d consoles open, the most allowed", guest, perGuest)
	}
	return nil
}

func (h *hub) precheck(identity, guest, kind string, o Options) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.check(identity, guest, kind, o)
}

// admit registers lc if the caps allow it; done must follow.
func (h *hub) admit(lc *live, o Options) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.check(lc.identity, lc.guest, lc.kind, o); err != nil {
		return err
	}
	h.live[lc] = struct{}{}
	h.wg.Add(1)
	return nil
}

func (h *hub) done(lc *live) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.live[lc]; ok {
		delete(h.live, lc)
		lc.cancel(nil)
		h.wg.Done()
	}
}

func (h *hub) snapshot() []*live {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*live, 0, len(h.live))
	for lc := range h.live {
		out = append(out, lc)
	}
	return out
}

// closeIf ends the consoles for which reason returns non-nil. reason runs
// without the hub's lock, so it may ask rbac and the guest index.
func (h *hub) closeIf(reason func(*live) *CloseReason) {
	for _, lc := range h.snapshot() {
		if r := reason(lc); r != nil {
			lc.cancel(r)
		}
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.live)
}

// endBinding ends the consoles bound to binding (a session id, an API token).
func (h *hub) endBinding(binding string, r *CloseReason) {
	if binding == "" {
		return
	}
	bh := store.SessionHash(binding)
	h.closeIf(func(lc *live) *CloseReason {
		if lc.bindHash == bh {
			return r
		}
		return nil
	})
}
