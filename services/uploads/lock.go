package uploads

import (
	"context"
	"sync"
)

// lockTable holds one lock per upload id, so that two requests on one
// upload never interleave. A waiter asks the holder to stop (a PATCH of a
// client that has since given up), as tusd's own lockers do.
type lockTable struct {
	mu sync.Mutex
	m  map[string]*idLock
}

type idLock struct {
	ch   chan struct{} // holds a token while locked
	refs int
	stop func() // the holder's request to stop; nil if none
}

func (t *lockTable) ref(id string) *idLock {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.m[id]
	if l == nil {
		l = &idLock{ch: make(chan struct{}, 1)}
		t.m[id] = l
	}
	l.refs++
	return l
}

func (t *lockTable) unref(id string, l *idLock) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l.refs--; l.refs == 0 {
		delete(t.m, id)
	}
}

// lock waits for the upload's lock until ctx ends; stop is called when
// another request wants it. The returned func releases it.
func (t *lockTable) lock(ctx context.Context, id string, stop func()) (func(), error) {
	l := t.ref(id)
	select {
	case l.ch <- struct{}{}:
	default:
		t.mu.Lock()
		if l.stop != nil {
			l.stop()
		}
		t.mu.Unlock()
		select {
		case l.ch <- struct{}{}:
		case <-ctx.Done():
			t.unref(id, l)
			return nil, ctx.Err()
		}
	}
	t.mu.Lock()
	l.stop = stop
	t.mu.Unlock()
	return func() {
		t.mu.Lock()
		l.stop = nil
		t.mu.Unlock()
		<-l.ch
		t.unref(id, l)
	}, nil
}

// tryLock takes the lock only if it is free.
func (t *lockTable) tryLock(id string) (func(), bool) {
	l := t.ref(id)
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; t.unref(id, l) }, true
	default:
		t.unref(id, l)
		return nil, false
	}
}
