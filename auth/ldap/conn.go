package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// ldapConn is one connection with a hold on its socket, so that every
// request can be bounded by a deadline: go-ldap's own request timeout does
// not cover StartTLS, and nothing of it follows a context.
type ldapConn struct {
	c        *ldap.Conn
	raw      net.Conn
	url      int
	broken   bool // discard instead of reuse
	timedOut bool // the last failure was a deadline or a cancelled context
	lastUsed time.Time
}

// op runs f under a deadline of timeout and ctx. A request that overruns it
// kills the connection (the reader fails, pending requests get errors), so a
// directory that accepts and never answers cannot hang the caller.
func (lc *ldapConn) op(ctx context.Context, timeout time.Duration, f func(*ldap.Conn) error) error {
	if err := ctx.Err(); err != nil {
		lc.timedOut = true
		return err
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = lc.raw.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = lc.raw.SetDeadline(time.Unix(1, 0)) })
	err := f(lc.c)
	switch {
	case !stop():
		// ctx ended during f: the socket's deadline is poisoned.
		lc.broken, lc.timedOut = true, true
		if err == nil {
			err = ctx.Err()
		}
	case err != nil && !serverAnswered(err):
		lc.broken = true
		lc.timedOut = !time.Now().Before(deadline)
	default:
		_ = lc.raw.SetDeadline(time.Time{})
	}
	if err != nil && serverTrouble(err) {
		lc.broken = true
	}
	lc.lastUsed = time.Now()
	return err
}

func (lc *ldapConn) close() {
	// go-ldap's Close waits for its goroutines; they stop at once, but the
	// caller should not wait on a socket to a dying server.
	go lc.c.Close()
}

// serverAnswered reports whether err is an LDAP result from the server (as
// opposed to a network, timeout or client-side failure).
func serverAnswered(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode < ldap.ErrorNetwork
}

// serverTrouble reports results that say this server cannot serve us now.
func serverTrouble(err error) bool {
	return ldap.IsErrorAnyOf(err, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable,
		ldap.LDAPResultProtocolError, ldap.LDAPResultOperationsError, ldap.LDAPResultOther)
}

// dial connects to URL i: TCP, TLS or StartTLS, and the service bind when
// bind is set, all within ConnectTimeout.
func (l *Realm) dial(ctx context.Context, i int, bind bool) (*ldapConn, error) {
	u := l.urls[i]
	cctx, cancel := context.WithTimeout(ctx, l.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	raw, err := d.DialContext(cctx, "tcp", u.host)
	if err != nil {
		return nil, err
	}
	deadline, _ := cctx.Deadline()
	_ = raw.SetDeadline(deadline)
	stop := context.AfterFunc(cctx, func() { _ = raw.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	var nc net.Conn = raw
	if u.ldaps {
		tc := tls.Client(raw, l.tlsConfig(u))
		if err := tc.HandshakeContext(cctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS: %w", err)
		}
		nc = tc
	}
	// No go-ldap request timeout (SetTimeout): it costs a goroutine and a
	// timer per request, and the socket deadlines already bound everything.
	c := ldap.NewConn(nc, u.ldaps)
	c.Start()
	fail := func(what string, err error) (*ldapConn, error) {
		c.Close()
		if cctx.Err() != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("%s: no answer within %v: %w", what, l.cfg.ConnectTimeout, err)
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if l.cfg.StartTLS && !u.ldaps {
		if err := c.StartTLS(l.tlsConfig(u)); err != nil {
			return fail("StartTLS", err)
		}
	}
	if bind && l.cfg.BindDN != "" {
		pw, err := l.bindPassword()
		if err != nil {
			return fail("service bind", err)
		}
		if err := c.Bind(l.cfg.BindDN, pw); err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				l.log.Error("ldap: the service account's bind is refused: check bind_dn and bind_password_file", "url", u.raw)
			}
			return fail("service bind", err)
		}
	}
	if !stop() {
		return fail("connect", cctx.Err())
	}
	_ = raw.SetDeadline(time.Time{})
	return &ldapConn{c: c, raw: raw, url: i, lastUsed: time.Now()}, nil
}

// connect dials the servers in order, starting with the last one that
// answered, and remembers the one that answers.
func (l *Realm) connect(ctx context.Context, first int, bind bool) (*ldapConn, error) {
	var errs []error
	n := len(l.urls)
	for k := range n {
		i := (first + k) % n
		lc, err := l.dial(ctx, i, bind)
		if err == nil {
			if old := l.good.Swap(int32(i)); int(old) != i {
				l.log.Warn("ldap: now using another server", "url", l.urls[i].raw, "previous", l.urls[old].raw)
			}
			return lc, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", l.urls[i].raw, err))
		if ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// get returns a service connection: a pooled one that still looks alive
// (its reader has seen no EOF, and it has not idled long enough for a
// firewall to drop it silently), else a new one.
func (l *Realm) get(ctx context.Context) (lc *ldapConn, pooled bool, err error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, false, errors.New("ldap: realm closed")
	}
	for len(l.idle) > 0 {
		lc = l.idle[len(l.idle)-1]
		l.idle = l.idle[:len(l.idle)-1]
		if lc.c.IsClosing() || time.Since(lc.lastUsed) > ldapMaxIdle {
			lc.close()
			continue
		}
		l.mu.Unlock()
		return lc, true, nil
	}
	l.mu.Unlock()
	lc, err = l.connect(ctx, int(l.good.Load()), true)
	return lc, false, err
}

func (l *Realm) put(lc *ldapConn) {
	l.mu.Lock()
	if lc.broken || lc.c.IsClosing() || l.closed || len(l.idle) >= l.cfg.PoolSize {
		l.mu.Unlock()
		lc.close()
		return
	}
	l.idle = append(l.idle, lc)
	l.mu.Unlock()
}

// withService runs f on a service connection. When a pooled connection fails
// fast (the directory restarted under it), f runs once more on a new one;
// a timeout is not retried, so a hung directory costs one timeout.
func (l *Realm) withService(ctx context.Context, f func(*ldapConn) error) error {
	for attempt := 0; ; attempt++ {
		lc, pooled, err := l.get(ctx)
		if err != nil {
			return err
		}
		err = f(lc)
		l.put(lc)
		if err != nil && lc.broken && pooled && !lc.timedOut && attempt == 0 && ctx.Err() == nil {
			l.log.Debug("ldap: pooled connection failed, retrying on a new one", "err", err)
			continue
		}
		return err
	}
}

// Close closes the pooled connections; the realm refuses work afterwards.
func (l *Realm) Close() error {
	l.mu.Lock()
	idle := l.idle
	l.idle, l.closed = nil, true
	l.mu.Unlock()
	for _, lc := range idle {
		lc.c.Close()
	}
	return nil
}
