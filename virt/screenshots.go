package virt

import (
	"context"
	"sync"
	"time"
)

// shotCache keeps each guest's last screenshot for a few seconds, so a
// guest list with thumbnails costs one screenshot per guest per period
// however many people look, and concurrent requests share one capture.
type shotCache struct {
	mu sync.Mutex
	m  map[string]*shot
}

type shot struct {
	done chan struct{}
	png  []byte
	err  error
	at   time.Time
}

// get returns the guest's screenshot taken less than ttl ago, taking one
// with take otherwise.
func (sc *shotCache) get(name string, now time.Time, ttl time.Duration, take func() ([]byte, error)) ([]byte, time.Time, error) {
	sc.mu.Lock()
	if sc.m == nil {
		sc.m = map[string]*shot{}
	}
	if e, ok := sc.m[name]; ok {
		select {
		case <-e.done:
			if now.Sub(e.at) < ttl {
				sc.mu.Unlock()
				return e.png, e.at, nil
			}
		default:
			sc.mu.Unlock()
			<-e.done
			return e.png, e.at, e.err
		}
	}
	e := &shot{done: make(chan struct{})}
	sc.m[name] = e
	for n, old := range sc.m {
		select {
		case <-old.done:
			if now.Sub(old.at) >= ttl {
				delete(sc.m, n)
			}
		default:
		}
	}
	sc.mu.Unlock()
	e.png, e.err = take()
	e.at = now
	if e.err != nil {
		sc.mu.Lock()
		if sc.m[name] == e {
			delete(sc.m, name)
		}
		sc.mu.Unlock()
	}
	close(e.done)
	return e.png, e.at, e.err
}

// CachedScreenshot returns the guest's screenshot if one was taken less than
// maxAge before now, else takes one; concurrent callers share one capture.
func (m *Manager) CachedScreenshot(name string, now time.Time, maxAge time.Duration) ([]byte, time.Time, error) {
	return m.shots.get(name, now, maxAge, func() ([]byte, error) {
		// Detached from any one request: others may be waiting on this capture.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return m.Screenshot(ctx, name)
	})
}
