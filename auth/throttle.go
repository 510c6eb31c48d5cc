package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/virtportal/virtportal/store"
)

// Throttle slows down password guessing per identity and per client address.
// Its state lives in the store, so dropping the cookie, or reaching another
// replica, does not reset it.
type Throttle struct {
	st *store.Store
	// Free failures before delays start, per identity and per address; an
	// address is shared by everybody behind one NAT, hence more lenient.
	IdentityLimit, AddressLimit int
	// Window after which failures are forgotten.
	Window time.Duration
	// MaxDelay caps the doubling delay.
	MaxDelay time.Duration
}

// NewThrottle returns a throttle with the defaults: 5 free failures per
// identity, 20 per address, a 15 minute window and delays up to 15 minutes.
func NewThrottle(st *store.Store) *Throttle {
	return &Throttle{st: st, IdentityLimit: 5, AddressLimit: 20, Window: 15 * time.Minute, MaxDelay: 15 * time.Minute}
}

func identityKey(realm, username string) string {
	k := strings.ToLower(realm + ":" + username)
	if len(k) > 128 {
		sum := sha256.Sum256([]byte(k))
		k = "sha256:" + hex.EncodeToString(sum[:])
	}
	return "id:" + k
}

func addressKey(addr string) string { return "addr:" + addr }

func (t *Throttle) wait(ctx context.Context, key string, limit int, now time.Time) (time.Duration, error) {
	th, err := t.st.GetThrottle(ctx, key)
	if err != nil || th.Failures < limit || now.Sub(th.Last) > t.Window {
		return 0, err
	}
	delay := time.Second << min(th.Failures-limit, 20)
	delay = min(delay, t.MaxDelay)
	if left := th.Last.Add(delay).Sub(now); left > 0 {
		return left, nil
	}
	return 0, nil
}

// Check returns how long the caller must wait before another attempt (0: go ahead).
func (t *Throttle) Check(ctx context.Context, realm, username, addr string, now time.Time) (time.Duration, error) {
	a, err := t.wait(ctx, identityKey(realm, username), t.IdentityLimit, now)
	if err != nil {
		return 0, err
	}
	b, err := t.wait(ctx, addressKey(addr), t.AddressLimit, now)
	return max(a, b), err
}

// Failed records a failed attempt.
func (t *Throttle) Failed(ctx context.Context, realm, username, addr string, now time.Time) error {
	if _, err := t.st.AddFailure(ctx, identityKey(realm, username), now, t.Window); err != nil {
		return err
	}
	_, err := t.st.AddFailure(ctx, addressKey(addr), now, t.Window)
	return err
}

// Succeeded forgets the identity's failures. The address's stay: otherwise a
// guesser with one valid account could reset its counter at will.
func (t *Throttle) Succeeded(ctx context.Context, realm, username string) error {
	return t.st.ResetThrottle(ctx, identityKey(realm, username))
}
