package consoles

import (
	"context"
	"testing"
	"time"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
)

func newLive(identity, binding, guest, kind string) *live {
	lc := &live{identity: identity, binding: binding, bindHash: store.SessionHash(binding), guest: guest, kind: kind, opened: time.Now()}
	lc.ctx, lc.cancel = context.WithCancelCause(context.Background())
	return lc
}

func TestHubCaps(t *testing.T) {
	o := Options{MaxPerUser: 2, MaxPerGuest: 3}.WithDefaults()
	h := newHub()
	a := newLive("local:a", "s1", "g1", "serial")
	if err := h.admit(a, o); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		lc   *live
		kind fault.Kind // when refused
		ok   bool
	}{
		{"second serial on a guest", newLive("local:b", "s2", "g1", "serial"), fault.Conflict, false},
		{"vnc beside a serial", newLive("local:b", "s2", "g1", "vnc"), 0, true},
		{"a's second", newLive("local:a", "s1", "g2", "vnc"), 0, true},
		{"a's third: per-user cap", newLive("local:a", "s1", "g3", "vnc"), fault.RateLimited, false},
		{"g1's third", newLive("local:c", "s3", "g1", "vnc"), 0, true},
		{"g1's fourth: per-guest cap", newLive("local:d", "s4", "g1", "vnc"), fault.RateLimited, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := h.admit(tc.lc, o)
			if tc.ok != (err == nil) || (err != nil && !fault.IsKind(err, tc.kind)) {
				t.Fatalf("admit: %v", err)
			}
		})
	}
	if h.count() != 4 {
		t.Fatalf("%d live", h.count())
	}
	t.Run("ending a binding ends its consoles only", func(t *testing.T) {
		h.endBinding("s1", ReasonLoggedOut)
		for lc := range h.live {
			ended := lc.ctx.Err() != nil
			if ended != (lc.binding == "s1") {
				t.Fatalf("%s on %s ended=%t", lc.binding, lc.guest, ended)
			}
			if ended && causeReason(lc.ctx) != ReasonLoggedOut {
				t.Fatalf("reason %v", causeReason(lc.ctx))
			}
		}
	})
	t.Run("done frees the place, twice is harmless", func(t *testing.T) {
		h.done(a)
		h.done(a)
		if h.count() != 3 {
			t.Fatalf("%d live", h.count())
		}
		if err := h.admit(newLive("local:e", "s5", "g1", "serial"), o); err != nil {
			t.Fatal("serial after the first closed:", err)
		}
	})
	t.Run("closing refuses new consoles", func(t *testing.T) {
		h.mu.Lock()
		h.closing = true
		h.mu.Unlock()
		if err := h.admit(newLive("local:f", "s6", "g9", "vnc"), o); !fault.IsKind(err, fault.Unavailable) {
			t.Fatalf("admit while closing: %v", err)
		}
	})
}
