package virt

import (
	"errors"
	"sync"
	"testing"
	"time"
)

func TestShotCacheSharesOneCapture(t *testing.T) {
	var sc shotCache
	now := time.Now()
	var mu sync.Mutex
	calls := 0
	take := func() ([]byte, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		time.Sleep(50 * time.Millisecond)
		return []byte("png"), nil
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if b, _, err := sc.get("g", now, time.Second, take); err != nil || string(b) != "png" {
				t.Errorf("%q %v", b, err)
			}
		})
	}
	wg.Wait()
	if calls != 1 {
		t.Fatalf("%d captures for 20 concurrent requests", calls)
	}
	if _, _, _ = sc.get("g", now.Add(2*time.Second), time.Second, take); calls != 2 {
		t.Fatalf("an expired capture was served (%d)", calls)
	}
	fail := errors.New("boom")
	if _, _, err := sc.get("h", now, time.Second, func() ([]byte, error) { return nil, fail }); err != fail {
		t.Fatal(err)
	}
	if _, _, err := sc.get("h", now, time.Second, take); err != nil {
		t.Fatal("an error was cached")
	}
}
