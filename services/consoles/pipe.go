package consoles

import (
	"context"
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/sys/unix"
)

// PipeOptions tune Pipe.
type PipeOptions struct {
	Keepalive time.Duration // ping period; 0: no pings
	Idle      time.Duration // close after this long without a byte either way; 0: never
	// BufSize is the largest guest-side read, so the largest message;
	// default MaxPipeMessage from a socket, StreamPipeBuf otherwise.
	BufSize int
	// GuestEnded names the reason when the guest side ends by itself; nil
	// or a nil answer: "console closed".
	GuestEnded func(err error) *CloseReason
	// Tick, when set, runs every Keepalive period with the time of the last
	// byte either way; a non-nil answer closes the console with that reason.
	Tick func(lastActivity time.Time) *CloseReason
}

// PipeResult says how a Pipe ended.
type PipeResult struct {
	Reason    *CloseReason
	ByClient  bool  // the browser closed, went away or stopped answering pings
	Err       error // the I/O error that ended it, if one did
	FromGuest int64 // bytes
	ToGuest   int64
}

// MaxPipeMessage is the largest guest-side read from a socket (VNC), so
// the largest message. Measured with `make bench`, the proxy in a process
// of its own: throughput rises from 64 KiB to 1 MiB (fewer wake-ups per
// byte, and a wake-up is what a relay costs on a VM) and no further. The
// buffers come from a pool and are held only while bytes move, so an idle
// console holds none.
const MaxPipeMessage = 1 << 20

// StreamPipeBuf is the read size from a guest side that is not a socket
// (a libvirt stream: serial), whose read blocks holding its buffer; serial
// output is slow.
const StreamPipeBuf = 64 << 10

var pipeBufs = sync.Pool{New: func() any { b := make([]byte, MaxPipeMessage); return &b }}

// pipeEnd is one copier's end: which side failed, and how.
type pipeEnd struct {
	guest bool // the guest side ended (read EOF/error, or a write to it failed)
	err   error
}

// Pipe copies bytes between a browser's WebSocket and the guest side until
// one of them ends, ctx is cancelled (its cause, a *CloseReason, says why),
// the browser misses a keepalive, or nothing moves for Idle; then it
// closes both, the WebSocket with a close frame where the browser is still
// there, and returns when both copiers have stopped.
//
// Each direction reads into one buffer at a time and writes what it read
// before reading more, so a slow reader on either side slows the other
// down instead of filling memory; guest bytes go out as binary messages. The
// writes use a context without deadline so that no per-message timer is
// armed: a browser that stops reading blocks the write until the keepalive
// ping (whose control frame waits for the same lock) fails and closes the
// connection, which unblocks it.
func Pipe(ctx context.Context, ws *websocket.Conn, guest io.ReadWriteCloser, o PipeOptions) PipeResult {
	var last, fromGuest, toGuest atomic.Int64
	last.Store(time.Now().UnixNano())
	ends := make(chan pipeEnd, 2)
	go func() { // guest → browser
		ends <- copyFromGuest(ws, guest, o.BufSize, func(n int) {
			fromGuest.Add(int64(n))
			last.Store(time.Now().UnixNano())
		})
	}()
	go func() { // browser → guest
		buf := make([]byte, 32<<10)
		bg := context.Background()
		for {
			// Text messages are forwarded too: a terminal may send its input as text.
			_, r, err := ws.Reader(bg)
			if err != nil {
				ends <- pipeEnd{err: err}
				return
			}
			for {
				n, rerr := r.Read(buf)
				if n > 0 {
					if _, werr := guest.Write(buf[:n]); werr != nil {
						ends <- pipeEnd{guest: true, err: werr}
						return
					}
					toGuest.Add(int64(n))
					last.Store(time.Now().UnixNano())
				}
				if errors.Is(rerr, io.EOF) {
					break
				}
				if rerr != nil {
					ends <- pipeEnd{err: rerr}
					return
				}
			}
		}
	}()

	var res PipeResult
	var tick, idle <-chan time.Time
	if o.Keepalive > 0 {
		t := time.NewTicker(o.Keepalive)
		defer t.Stop()
		tick = t.C
	}
	var idleT *time.Timer
	if o.Idle > 0 {
		idleT = time.NewTimer(o.Idle)
		defer idleT.Stop()
		idle = idleT.C
	}
	pingFailed := make(chan error, 1)
	var pinging atomic.Bool
	running := 2
loop:
	for {
		select {
		case <-ctx.Done():
			res.Reason = causeReason(ctx)
			break loop
		case e := <-ends:
			running--
			res.Err = e.err
			switch {
			case e.guest:
				res.Reason = ReasonGuestClosed
				if o.GuestEnded != nil {
					if r := o.GuestEnded(e.err); r != nil {
						res.Reason = r
					}
				}
			default:
				res.ByClient, res.Reason = true, ReasonClientClosed
			}
			break loop
		case <-tick:
			if o.Tick != nil {
				if r := o.Tick(time.Unix(0, last.Load())); r != nil {
					res.Reason = r
					break loop
				}
			}
			// One ping at a time; its pong is read by the browser → guest copier.
			if pinging.CompareAndSwap(false, true) {
				go func() {
					defer pinging.Store(false)
					pctx, cancel := context.WithTimeout(context.Background(), o.Keepalive)
					defer cancel()
					if err := ws.Ping(pctx); err != nil {
						select {
						case pingFailed <- err:
						default:
						}
					}
				}()
			}
		case err := <-pingFailed:
			res.ByClient, res.Reason, res.Err = true, ReasonNoPong, err
			break loop
		case <-idle:
			since := time.Since(time.Unix(0, last.Load()))
			if since >= o.Idle {
				res.Reason = ReasonIdle
				break loop
			}
			idleT.Reset(o.Idle - since)
		}
	}
	if res.ByClient {
		// Gone, or closed by the browser (whose close frame the library answered).
		_ = ws.CloseNow()
	} else {
		// The close handshake needs the browser → guest copier reading; it
		// is, and the handshake is bounded by the library (5 s + 5 s).
		_ = ws.Close(res.Reason.Code, res.Reason.Text)
	}
	_ = guest.Close()
	_ = ws.CloseNow()
	for ; running > 0; running-- {
		<-ends
	}
	res.FromGuest, res.ToGuest = fromGuest.Load(), toGuest.Load()
	return res
}

// copyFromGuest sends what the guest side writes as binary messages until
// either side fails. From a socket it waits for bytes without a buffer and
// borrows one from the pool for each read; from anything else it reads
// into one buffer of its own.
func copyFromGuest(ws *websocket.Conn, guest io.Reader, size int, sent func(int)) pipeEnd {
	bg := context.Background()
	var rc syscall.RawConn
	if sc, ok := guest.(syscall.Conn); ok {
		if c, err := sc.SyscallConn(); err == nil {
			rc = c
		}
	}
	if size <= 0 {
		size = StreamPipeBuf
		if rc != nil {
			size = MaxPipeMessage
		}
	}
	var own []byte
	if rc == nil || size > MaxPipeMessage {
		own = make([]byte, size)
	}
	for {
		buf, bp := own, (*[]byte)(nil)
		if buf == nil {
			if err := waitReadable(rc); err != nil {
				return pipeEnd{guest: true, err: err}
			}
			bp = pipeBufs.Get().(*[]byte)
			buf = (*bp)[:size]
		}
		n, err := guest.Read(buf)
		var werr error
		if n > 0 {
			werr = ws.Write(bg, websocket.MessageBinary, buf[:n])
		}
		if bp != nil {
			pipeBufs.Put(bp)
		}
		switch {
		case werr != nil:
			return pipeEnd{err: werr}
		case n > 0:
			sent(n)
		}
		if err != nil {
			return pipeEnd{guest: true, err: err}
		}
	}
}

// waitReadable returns when the socket has bytes, has reached EOF or has
// failed (the next Read says which), or is closed. It peeks a byte rather
// than returning false blindly: the poller only reports edges, and bytes
// already queued would make a blind wait hang.
func waitReadable(rc syscall.RawConn) error {
	var peek [1]byte
	return rc.Read(func(fd uintptr) bool {
		_, _, err := unix.Recvfrom(int(fd), peek[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		return err != unix.EAGAIN && err != unix.EINTR
	})
}
