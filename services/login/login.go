// Package login is the login flow: the throttle, the cap on concurrent
// password checks, the realm's verdict and what the audit log records.
// It speaks no HTTP: the handler parses, calls Login, starts the session
// and renders.
package login

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"github.com/virtportal/virtportal/auth"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
)

// Error codes of a refused login.
var (
	// CodeBusy: too many password checks are running and waiting already.
	CodeBusy = fault.Define("busy", fault.Unavailable)
)

// Audit reasons of refusals beyond auth's.
const (
	ReasonThrottled = "throttled"
	ReasonBusy      = "busy"
)

// Options tune the service; zero fields take the defaults.
type Options struct {
	// MaxConcurrent password checks run at once (default 4): an argon2id
	// check holds 19 MiB, so this bounds the memory a flood can take.
	MaxConcurrent int
	// MaxQueue attempts wait for a slot (default 16); beyond that, busy.
	MaxQueue int
	// QueueWait bounds the wait for a slot (default 5 s).
	QueueWait time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Service logs people in.
type Service struct {
	realms   *auth.Realms
	throttle *Throttle
	o        Options
	slots    chan struct{}
	waiting  atomic.Int64
	// queued, when set, runs when an attempt starts waiting for a slot (tests).
	queued func()
}

// New returns the login service over the enabled realms.
func New(realms *auth.Realms, th *Throttle, o Options) *Service {
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 4
	}
	if o.MaxQueue <= 0 {
		o.MaxQueue = 16
	}
	if o.QueueWait <= 0 {
		o.QueueWait = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{realms: realms, throttle: th, o: o, slots: make(chan struct{}, o.MaxConcurrent)}
}

// Throttle returns the service's throttle.
func (s *Service) Throttle() *Throttle { return s.throttle }

// Attempt is one login request.
type Attempt struct {
	Realm, Username, Password string
	Addr                      string // the client's address
}

// Outcome is what the audit log records of an attempt, with the caller on success.
type Outcome struct {
	Principal rbac.Principal
	// Actor is realm:name (the name cut short), "" when the realm is unknown.
	Actor string
	// Reason is the audit reason class of a refusal, never shown to the client.
	Reason string
}

// errBadLogin is the one answer to every failed login, whatever the reason.
func errBadLogin() error { return fault.CodeUnauthorized.New("invalid username or password") }

// Login checks an attempt. Every attempt on a known realm costs the same
// path (reserve, queue for a slot, the realm's check), whether or not the
// user exists, so that neither the answer nor its timing tells.
func (s *Service) Login(ctx context.Context, a Attempt) (Outcome, error) {
	realm, ok := s.realms.Get(a.Realm)
	if !ok {
		return Outcome{}, auth.CodeUnknownRealm.New("unknown realm %q", truncate(a.Realm, 32))
	}
	// Recorded even when the name is junk, cut short so the log stays readable.
	out := Outcome{Actor: realm.Name() + ":" + truncate(a.Username, 64)}
	res, wait, err := s.throttle.Reserve(ctx, realm.Name(), a.Username, a.Addr, s.o.Now())
	if err != nil {
		return out, fault.Internalf(err)
	}
	if wait > 0 {
		out.Reason = ReasonThrottled
		secs := int(math.Ceil(wait.Seconds()))
		return out, fault.CodeRateLimited.New("too many failed logins; try again in %d s", secs).WithRetry(secs)
	}
	// The shape is checked before a realm sees the name: wildcards,
	// parentheses, NULs or control characters never reach a directory, and
	// fail like a wrong password (the reservation stays a failure).
	if !auth.ValidUsername(a.Username) || a.Password == "" || len(a.Password) > auth.MaxPasswordLen {
		out.Reason = auth.ReasonInvalid
		return out, errBadLogin()
	}
	release, err := s.acquire(ctx)
	if err != nil {
		out.Reason = ReasonBusy
		return out, errors.Join(err, res.Cancel(context.WithoutCancel(ctx)))
	}
	p, err := realm.Authenticate(ctx, a.Username, a.Password)
	release()
	if err != nil {
		out.Reason = auth.LoginReason(err)
		if out.Reason == "" {
			out.Reason = auth.ReasonUnavailable
		}
		if out.Reason == auth.ReasonUnavailable {
			// An outage is no guess: the user is not throttled for it.
			if cerr := res.Cancel(context.WithoutCancel(ctx)); cerr != nil {
				return out, fault.Internalf(cerr)
			}
			return out, auth.CodeRealmUnavailable.Wrap(err, "the %s realm is unavailable; try again later", realm.Label())
		}
		return out, errBadLogin()
	}
	if err := res.Succeeded(context.WithoutCancel(ctx)); err != nil {
		return out, fault.Internalf(err)
	}
	out.Principal = p
	return out, nil
}

// acquire waits for a password-check slot among a bounded queue.
func (s *Service) acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, nil
	default:
	}
	if s.waiting.Add(1) > int64(s.o.MaxQueue) {
		s.waiting.Add(-1)
		return nil, CodeBusy.New("too many logins at once; try again in a moment").WithRetry(1)
	}
	defer s.waiting.Add(-1)
	if s.queued != nil {
		s.queued()
	}
	timer := time.NewTimer(s.o.QueueWait)
	defer timer.Stop()
	select {
	case s.slots <- struct{}{}:
		return release, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil, CodeBusy.New("too many logins at once; try again in a moment").WithRetry(1)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
