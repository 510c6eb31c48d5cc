// Package syncbuf is a bytes.Buffer safe for concurrent use, for tests and
// benchmarks that collect a logger's or a process's output while it runs.
package syncbuf

import (
	"bytes"
	"sync"
)

// Buffer collects writes from any goroutine; String reads them so far.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String is everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
