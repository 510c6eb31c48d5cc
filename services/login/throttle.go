package login

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
	"time"

	"github.com/virtportal/virtportal/store"
)

// Store is the part of the store the throttle uses.
type Store interface {
	ReserveThrottle(ctx context.Context, keys []string, now time.Time, window time.Duration, decide func([]store.Throttle) bool) (bool, error)
	RefundThrottle(ctx context.Context, keys ...string) error
	ResetThrottle(ctx context.Context, key string) error
	ResetThrottlePrefix(ctx context.Context, key, prefix string) (int, error)
}

// Throttle slows down password guessing. It counts failures under three
// keys: the client address, the identity, and the pair (identity, address).
// Its state lives in the store, so dropping the cookie, or reaching another
// replica, does not reset it.
//
// The rule, and why:
//   - An address that failed AddressLimit times waits, whatever name it
//     tries: one machine guessing many names.
//   - An address that has failed for an identity waits once the pair or the
//     identity as a whole has failed IdentityLimit times; the delay doubles
//     with each failure up to MaxDelay. So guessers spread over many
//     addresses share one slow, doubling budget per identity after the first
//     try of each address.
//   - An address with no failure for the identity is never held back by the
//     identity's count. Otherwise anyone could lock the real owner (say
//     admin) out for good with a few wrong passwords from addresses of their
//     own; the price is one guess per fresh address per Window, and an IPv6
//     client counts as its /64 so fresh addresses are not free.
//
// An attempt is reserved (counted as failed) before the password is checked,
// in one transaction with the decision, so concurrent attempts cannot all
// pass on the same count; a success or a realm outage takes it back.
type Throttle struct {
	st Store
	// Free failures before delays start, per identity (and pair) and per
	// address; an address is shared by everybody behind one NAT, hence more
	// lenient.
	IdentityLimit, AddressLimit int
	// Window after which failures are forgotten.
	Window time.Duration
	// MaxDelay caps the doubling delay.
	MaxDelay time.Duration
}

// NewThrottle returns a throttle with the defaults: 5 free failures per
// identity, 20 per address, a 15 minute window and delays up to 15 minutes.
func NewThrottle(st Store) *Throttle {
	return &Throttle{st: st, IdentityLimit: 5, AddressLimit: 20, Window: 15 * time.Minute, MaxDelay: 15 * time.Minute}
}

func identityKey(realm, username string) string {
	k := strings.ToLower(realm + ":" + username)
	if len(k) > 128 {
		sum := sha256.Sum256([]byte(k))
		k = "sha256:" + hex.EncodeToString(sum[:])
	}
	return k
}

// clientKey is the address a client is counted as: an IPv6 address by its
// /64, which one subscriber usually holds whole.
func clientKey(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return truncate(addr, 64)
	}
	ip = ip.Unmap()
	if ip.Is6() {
		return netip.PrefixFrom(ip, 64).Masked().String()
	}
	return ip.String()
}

// keys of one attempt, in the order ReserveThrottle reads them.
type keys struct{ addr, id, pair string }

func (t *Throttle) keysOf(realm, username, addr string) keys {
	id := identityKey(realm, username)
	a := clientKey(addr)
	return keys{addr: "addr:" + a, id: "id:" + id, pair: pairPrefix(id) + a}
}

// pairPrefix starts every pair key of an identity; '|' is in no login name.
func pairPrefix(id string) string { return "pair:" + id + "|" }

// delay is how long a key with th's failures must wait at now.
func (t *Throttle) delay(th store.Throttle, limit int, now time.Time) time.Duration {
	if th.Failures < limit {
		return 0
	}
	d := min(time.Second<<min(th.Failures-limit, 20), t.MaxDelay)
	return max(th.Last.Add(d).Sub(now), 0)
}

// wait decides one attempt from the states of its keys (addr, id, pair).
func (t *Throttle) wait(addr, id, pair store.Throttle, now time.Time) time.Duration {
	w := t.delay(addr, t.AddressLimit, now)
	if pair.Failures > 0 {
		w = max(w, t.delay(pair, t.IdentityLimit, now), t.delay(id, t.IdentityLimit, now))
	}
	return w
}

// Reservation is an attempt counted as failed until it is taken back.
type Reservation struct {
	t *Throttle
	k keys
}

// Reserve counts an attempt before its password is checked, or returns how
// long the caller must wait (then nothing is counted).
func (t *Throttle) Reserve(ctx context.Context, realm, username, addr string, now time.Time) (Reservation, time.Duration, error) {
	k := t.keysOf(realm, username, addr)
	var wait time.Duration
	ok, err := t.st.ReserveThrottle(ctx, []string{k.addr, k.id, k.pair}, now, t.Window, func(s []store.Throttle) bool {
		wait = t.wait(s[0], s[1], s[2], now)
		return wait <= 0
	})
	if err != nil || !ok {
		return Reservation{}, wait, err
	}
	return Reservation{t: t, k: k}, 0, nil
}

// Succeeded forgets the pair's failures and takes back the reservation. The
// failures of the address stay (otherwise a guesser with one valid account
// could reset its counter at will), and so do the identity's (otherwise the
// owner's login would hand the guessers a fresh budget).
func (r Reservation) Succeeded(ctx context.Context) error {
	if err := r.t.st.ResetThrottle(ctx, r.k.pair); err != nil {
		return err
	}
	return r.t.st.RefundThrottle(ctx, r.k.addr, r.k.id)
}

// Cancel takes the reservation back: no password was judged (the realm was
// down, or the server too busy to ask it).
func (r Reservation) Cancel(ctx context.Context) error {
	return r.t.st.RefundThrottle(ctx, r.k.addr, r.k.id, r.k.pair)
}

// Clear forgets the failures of an identity, from every address (after an
// administrator set a new password). It returns how many keys it removed.
func (t *Throttle) Clear(ctx context.Context, realm, username string) (int, error) {
	id := identityKey(realm, username)
	return t.st.ResetThrottlePrefix(ctx, "id:"+id, pairPrefix(id))
}
