package consoles

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// BenchmarkPipe pushes bytes from a TCP source through Pipe to a WebSocket
// client on loopback (the throughput half of `make bench`'s console
// section, for profiling), and checks that the copy loop allocates nothing
// per message.
func BenchmarkPipe(b *testing.B) {
	const chunk = 256 << 10
	src, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	go func() {
		c, err := src.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, chunk)
		for {
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	}()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		guest, err := net.Dial("tcp", src.Addr().String())
		if err != nil {
			return
		}
		ws, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		Pipe(context.Background(), ws, guest, PipeOptions{})
	}))
	defer hs.Close()
	ctx := context.Background()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.CloseNow()
	ws.SetReadLimit(-1)
	buf := make([]byte, chunk)
	b.SetBytes(chunk)
	b.ReportAllocs()
	b.ResetTimer()
	got := 0
	for i := 0; i < b.N; i++ {
		for want := (i + 1) * chunk; got < want; {
			_, r, err := ws.Reader(ctx)
			if err != nil {
				b.Fatal(err)
			}
			for {
				n, err := r.Read(buf)
				got += n
				if err != nil {
					break
				}
			}
		}
	}
}
