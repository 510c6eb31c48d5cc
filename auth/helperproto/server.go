package helperproto

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Handler carries out requests that passed the peer check, validation, the
// rate limits and the concurrency cap. An error should be an *Error with a
// response code; any other error answers CodeInternal.
type Handler interface {
	// Authenticate checks the password with PAM. It must not keep password
	// past its return: the server wipes it then.
	Authenticate(ctx context.Context, username string, password Secret) (UserInfo, error)
}

// Knower is a Handler that can tell, cheaply and before any password is
// checked, whether a user name exists. Serve then keeps names that do not
// exist in a lane of their own (the global rate limit and a quarter of the
// slots), so that a flood of made-up names cannot shut real users out.
type Knower interface {
	Exists(username string) bool
}

// ServeOptions tune Serve; zero fields take the defaults below.
type ServeOptions struct {
	// AllowedUID is the only peer uid served (SO_PEERCRED); others are
	// disconnected without an answer.
	AllowedUID uint32
	// Timeout bounds a request from accept to answer (default 8 s). PAM
	// cannot be interrupted, so a request past it answers "unavailable" while
	// its PAM call keeps its concurrency slot until it returns.
	Timeout time.Duration
	// MaxConcurrent requests run at once (default 8); up to MaxQueue more
	// wait for a slot within their timeout (0 means 64, negative means no
	// queue); beyond that: busy. Names a Knower handler says do not exist
	// have a lane of their own: a quarter of each (at least 1 slot).
	MaxConcurrent, MaxQueue int
	// UserRate and UserBurst are the token bucket of each user name
	// (requests per second, default 1 and 10); Rate and Burst (default 20
	// and 40) the one bucket that all names a Knower says do not exist
	// share (every name, when the handler is no Knower). A request without
	// a token answers rate_limited: real users never share a bucket.
	Rate      float64
	Burst     int
	UserRate  float64
	UserBurst int
	// Log gets one line per request and per refused peer (default: discard).
	Log *slog.Logger
}

func (o *ServeOptions) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 8 * time.Second
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 8
	}
	if o.MaxQueue < 0 {
		o.MaxQueue = 0
	} else if o.MaxQueue == 0 {
		o.MaxQueue = 64
	}
	if o.Rate <= 0 {
		o.Rate = 20
	}
	if o.Burst <= 0 {
		o.Burst = 40
	}
	if o.UserRate <= 0 {
		o.UserRate = 1
	}
	if o.UserBurst <= 0 {
		o.UserBurst = 10
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// extraConns, beyond the running and queued requests, bounds open
// connections (most of them still sending), so that a flood cannot exhaust
// the helper's file descriptors.
const extraConns = 32

type server struct {
	h     Handler
	o     ServeOptions
	known lane // names that exist (every name without a Knower)
	// unknown is the lane of names that do not exist; nil without a Knower.
	unknown *lane
	conns   atomic.Int64
	users   *userBuckets
}

// lane is a set of slots with a bounded queue, and optionally a bucket.
type lane struct {
	slots    chan struct{}
	maxQueue int
	waiting  atomic.Int64
	bucket   *bucket // nil: no lane-wide rate limit
}

// Serve answers requests on ln until ctx is done, then stops accepting,
// waits for the requests in flight and closes ln (which removes a socket
// file that ln created).
func Serve(ctx context.Context, ln *net.UnixListener, h Handler, opts ServeOptions) error {
	opts.defaults()
	s := &server{
		h: h, o: opts,
		known: lane{slots: make(chan struct{}, opts.MaxConcurrent), maxQueue: opts.MaxQueue},
		users: &userBuckets{rate: opts.UserRate, burst: opts.UserBurst, m: map[string]*bucket{}},
	}
	global := newBucket(opts.Rate, opts.Burst, time.Now())
	if _, ok := h.(Knower); ok {
		s.unknown = &lane{slots: make(chan struct{}, max(1, opts.MaxConcurrent/4)), maxQueue: opts.MaxQueue / 4, bucket: global}
	} else {
		s.known.bucket = global
	}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	var tempDelay time.Duration
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) {
				// Out of descriptors: back off instead of spinning.
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				s.o.Log.Warn("helper accept", "err", err, "retry_in", tempDelay)
				time.Sleep(tempDelay)
				continue
			}
			_ = ln.Close()
			return err
		}
		tempDelay = 0
		wg.Go(func() { s.serveConn(ctx, conn) })
	}
}

// peerCred returns the uid and pid of the process at the other end.
func peerCred(conn *net.UnixConn) (uid uint32, pid int32, err error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, err
	}
	if cerr != nil {
		return 0, 0, cerr
	}
	return cred.Uid, cred.Pid, nil
}

func (s *server) serveConn(ctx context.Context, conn *net.UnixConn) {
	defer conn.Close()
	start := time.Now()
	uid, pid, err := peerCred(conn)
	if err != nil {
		s.o.Log.Warn("helper peer refused", "err", err)
		return
	}
	if uid != s.o.AllowedUID {
		// No answer at all: a foreign process learns nothing, not even the protocol.
		s.o.Log.Warn("helper peer refused", "peer_uid", uid, "peer_pid", pid, "allowed_uid", s.o.AllowedUID)
		return
	}
	if n := s.conns.Add(1); n > int64(s.o.MaxConcurrent+s.o.MaxQueue+extraConns) {
		s.conns.Add(-1)
		s.o.Log.Warn("helper request", "peer_uid", uid, "peer_pid", pid, "result", CodeBusy, "detail", "too many connections")
		return
	}
	defer s.conns.Add(-1)

	deadline := start.Add(s.o.Timeout)
	_ = conn.SetDeadline(deadline)
	var req Request
	res, detail := s.handle(ctx, conn, &req, start, deadline)
	res.Version, res.ID = Version, req.ID
	result := "ok"
	if !res.OK {
		result = res.Error
	}
	attrs := []any{"peer_uid", uid, "peer_pid", pid, "id", req.ID, "op", logText(req.Op),
		"user", logText(req.Username), "result", result, "duration", time.Since(start).Round(time.Microsecond)}
	if detail != "" {
		attrs = append(attrs, "detail", detail)
	}
	// Logged before the answer leaves, so that whoever sees the answer finds the line.
	s.o.Log.Info("helper request", attrs...)
	if err := WriteFrame(conn, &res, MaxResponseFrame); err != nil {
		s.o.Log.Warn("helper answer not delivered", "peer_uid", uid, "peer_pid", pid, "id", req.ID, "err", err)
	}
}

// logText keeps whatever a client sent readable and short in the log; slog
// quotes control characters.
func logText(s string) string { return truncate(s, MaxUsernameLen) }

func fail(code string, detail string) (Response, string) {
	return Response{Error: code}, detail
}

// handle reads, checks and runs one request; detail explains a failure in the log.
func (s *server) handle(ctx context.Context, conn *net.UnixConn, req *Request, now, deadline time.Time) (Response, string) {
	body, err := ReadFrame(conn, MaxRequestFrame)
	if err != nil {
		return fail(CodeInvalid, "read: "+err.Error())
	}
	*req, err = DecodeRequest(body)
	clear(body)
	// From here on the password lives only in req.Password, wiped below or,
	// when the handler outlives the timeout, by the handler's goroutine.
	wipe := true
	defer func() {
		if wipe {
			req.Password.Wipe()
		}
	}()
	if err != nil {
		return fail(CodeInvalid, err.Error())
	}
	if err := req.Validate(); err != nil {
		return fail(CodeInvalid, errors.Unwrap(err).Error())
	}
	ln, which := &s.known, "global"
	if k, ok := s.h.(Knower); ok && !k.Exists(req.Username) {
		ln, which = s.unknown, "unknown-name"
	}
	if ln.bucket != nil && !ln.bucket.take(now) {
		return fail(CodeRateLimited, which+" rate limit")
	}
	if !s.users.take(req.Username, now) {
		return fail(CodeRateLimited, "per-user rate limit")
	}

	// Concurrency cap: wait for a slot among a bounded queue. Shutdown does
	// not cut the wait short: an accepted request is finished.
	if !ln.tryAcquire() {
		if ln.waiting.Add(1) > int64(ln.maxQueue) {
			ln.waiting.Add(-1)
			return fail(CodeBusy, "queue full")
		}
		testHookQueued()
		timer := time.NewTimer(time.Until(deadline))
		acquired := false
		select {
		case ln.slots <- struct{}{}:
			acquired = true
		case <-timer.C:
		}
		timer.Stop()
		ln.waiting.Add(-1)
		if !acquired {
			return fail(CodeBusy, "no slot before the deadline")
		}
	}

	type result struct {
		u   UserInfo
		err error
	}
	done := make(chan result, 1)
	// Cancelled when handle returns: a handler past the deadline is told to give up.
	hctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	wipe = false
	go func() {
		var r result
		func() {
			defer func() {
				if p := recover(); p != nil {
					r = result{err: fmt.Errorf("handler panic: %v", p)}
				}
			}()
			r.u, r.err = s.h.Authenticate(hctx, req.Username, req.Password)
		}()
		req.Password.Wipe()
		<-ln.slots // freed before the answer goes out, so the next request finds it
		done <- r
	}()
	var r result
	select {
	case r = <-done:
	case <-hctx.Done():
		select {
		case r = <-done: // finished right at the deadline
		default:
			return fail(CodeUnavailable, "timed out after "+s.o.Timeout.String())
		}
	}
	if r.err != nil {
		var e *Error
		if errors.As(r.err, &e) && knownCodes[e.Code] {
			return fail(e.Code, errString(e.Err))
		}
		return fail(CodeInternal, r.err.Error())
	}
	res := Response{Version: Version, ID: req.ID, OK: true, User: &r.u}
	if err := res.Validate(req.ID); err != nil {
		// Never hand the server something it would refuse anyway.
		return fail(CodeInternal, "handler answer: "+err.Error())
	}
	return res, ""
}

func (l *lane) tryAcquire() bool {
	select {
	case l.slots <- struct{}{}:
		return true
	default:
		return false
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// bucket is a token bucket: rate tokens per second up to burst.
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate float64, burst int, now time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now}
}

// refill brings the bucket up to date; the caller holds mu.
func (b *bucket) refill(now time.Time) {
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = min(b.burst, b.tokens+dt*b.rate)
		b.last = now
	}
}

func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refill(now)
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// userBuckets holds one bucket per username. Full buckets carry no
// information, so they are dropped when the map grows; the global limit
// bounds how many can be partly empty at once.
type userBuckets struct {
	mu    sync.Mutex
	rate  float64
	burst int
	m     map[string]*bucket
}

const maxUserBuckets = 10000

// testHookQueued runs when a request starts waiting for a slot.
var testHookQueued = func() {}

func (u *userBuckets) take(name string, now time.Time) bool {
	u.mu.Lock()
	b, ok := u.m[name]
	if !ok {
		if len(u.m) >= maxUserBuckets {
			for k, x := range u.m {
				x.mu.Lock()
				x.refill(now)
				full := x.tokens >= x.burst
				x.mu.Unlock()
				if full {
					delete(u.m, k)
				}
			}
		}
		if len(u.m) >= maxUserBuckets {
			u.mu.Unlock()
			return false
		}
		b = newBucket(u.rate, u.burst, now)
		u.m[name] = b
	}
	u.mu.Unlock()
	return b.take(now)
}
