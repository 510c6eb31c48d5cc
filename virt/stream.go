package virt

import (
	"errors"
	"io"
	"net"
	"sync"

	"libvirt.org/go/libvirt"
)

// streamConn is a blocking libvirt stream as an io.ReadWriteCloser. Read and
// Write may run concurrently (one goroutine each); Close aborts the stream,
// which wakes a blocked Recv, waits for the calls in flight, and only then
// frees the stream, so no call ever uses a freed one.
type streamConn struct {
	st   *libvirt.Stream
	conn *libvirt.Connect // a reference held until Close

	mu     sync.Mutex
	closed bool
	eof    bool
	calls  sync.WaitGroup
	once   sync.Once
}

func (s *streamConn) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.calls.Add(1)
	return true
}

func (s *streamConn) Read(p []byte) (int, error) {
	if !s.enter() {
		return 0, net.ErrClosed
	}
	defer s.calls.Done()
	for {
		n, err := s.st.Recv(p)
		switch {
		case errors.Is(err, io.EOF):
			s.mu.Lock()
			s.eof = true
			s.mu.Unlock()
			return 0, io.EOF
		case err != nil:
			if s.isClosed() {
				return 0, net.ErrClosed
			}
			return 0, err
		case n < 0:
			continue // -2/-3 happen only on non-blocking or sparse streams
		}
		return n, nil
	}
}

func (s *streamConn) Write(p []byte) (int, error) {
	if !s.enter() {
		return 0, net.ErrClosed
	}
	defer s.calls.Done()
	done := 0
	for done < len(p) {
		n, err := s.st.Send(p[done:])
		if err != nil {
			if s.isClosed() {
				return done, net.ErrClosed
			}
			return done, err
		}
		if n > 0 {
			done += n
		}
	}
	return done, nil
}

func (s *streamConn) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close ends the stream: Finish when the guest side already ended it
// cleanly, Abort otherwise.
func (s *streamConn) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		eof := s.eof
		s.mu.Unlock()
		if eof {
			if err := s.st.Finish(); err != nil {
				_ = s.st.Abort()
			}
		} else {
			_ = s.st.Abort()
		}
		s.calls.Wait()
		_ = s.st.Free()
		release(s.conn)
	})
	return nil
}
