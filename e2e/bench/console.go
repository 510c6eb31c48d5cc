package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/virtportal/virtportal/handlers"
)

// Console proxy benchmark (DESIGN.md §11): 200 MB from a local TCP source to
// a WebSocket client through (a) the portal's copy loop (handlers.Pipe)
// behind a real HTTP server on loopback, (b) websockify, the proxy noVNC
// ships with, (c) no proxy at all, interleaved in rounds; then the round
// trip of small frames through the copy loop against a raw TCP echo.
const (
	consoleBytes  = 200 << 20
	consoleRounds = 7
	rttFrame      = 32
	rttPerRound   = 2000
	clientBuf     = 256 << 10
)

func benchConsole() error {
	push, err := listen(func(c net.Conn) {
		// A source as fast as the machine allows: one buffer, written over and over.
		buf := make([]byte, 256<<10)
		for sent := 0; sent < consoleBytes; {
			n, err := c.Write(buf[:min(len(buf), consoleBytes-sent)])
			if err != nil {
				return
			}
			sent += n
		}
		// Hold the connection until the client has it all and hangs up:
		// websockify drops what it still buffers when its target closes.
		_, _ = c.Read(buf)
	})
	if err != nil {
		return err
	}
	defer push.Close()
	echo, err := listen(func(c net.Conn) {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	defer echo.Close()

	// (a) The portal's copy loop, as the console handler runs it, on a
	// real HTTP server; ?to= names the guest side.
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		to := push.Addr().String()
		if r.URL.Query().Get("to") == "echo" {
			to = echo.Addr().String()
		}
		guest, err := net.Dial("tcp", to)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		ws, err := handlers.AcceptConsole(w, r)
		if err != nil {
			guest.Close()
			return
		}
		// As the console route runs it, default buffer size and all.
		handlers.Pipe(context.Background(), ws, guest, handlers.PipeOptions{Keepalive: 20 * time.Second, Idle: 15 * time.Minute})
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(pln) }()
	defer hs.Close()
	proxyURL := "ws://" + pln.Addr().String() + "/"

	// (b) websockify in front of the same source and echo.
	wsfyPush, stopPush, err := startWebsockify(push.Addr().String())
	if err != nil {
		return err
	}
	defer stopPush()
	wsfyEcho, stopEcho, err := startWebsockify(echo.Addr().String())
	if err != nil {
		return err
	}
	defer stopEcho()

	// Throughput, interleaved so that machine noise hits all three alike.
	var viaProxy, viaWsfy, viaRaw []float64
	for range consoleRounds {
		for _, m := range []struct {
			out *[]float64
			run func() (time.Duration, error)
		}{
			{&viaProxy, func() (time.Duration, error) { return pullWS(proxyURL + "?to=push") }},
			{&viaWsfy, func() (time.Duration, error) { return pullWS(wsfyPush) }},
			{&viaRaw, func() (time.Duration, error) { return pullTCP(push.Addr().String()) }},
		} {
			d, err := m.run()
			if err != nil {
				return err
			}
			*m.out = append(*m.out, float64(consoleBytes)/1e6/d.Seconds())
		}
	}
	p, w, r := median(viaProxy), median(viaWsfy), median(viaRaw)
	fmt.Printf("console proxy: %d MB from a TCP source to the client, median of %d interleaved rounds\n", consoleBytes>>20, consoleRounds)
	fmt.Printf("  virtportal (handlers.Pipe, WebSocket)  %7.0f MB/s   rounds %s\n", p, rates(viaProxy))
	fmt.Printf("  websockify %-27s %7.0f MB/s   rounds %s   (baseline, same run)\n", websockifyVersion(), w, rates(viaWsfy))
	fmt.Printf("  raw TCP, no proxy                      %7.0f MB/s   rounds %s   (baseline, same run)\n", r, rates(viaRaw))
	fmt.Printf("  ratio virtportal/websockify  %.2f   (goal: >= 2)\n", p/w)
	fmt.Printf("  ratio virtportal/raw TCP     %.2f   (goal: >= 0.8)\n", p/r)

	// Small-frame round trips.
	var rttProxy, rttWsfy, rttRaw []time.Duration
	for range consoleRounds {
		for _, m := range []struct {
			out *[]time.Duration
			run func() ([]time.Duration, error)
		}{
			{&rttProxy, func() ([]time.Duration, error) { return echoWS(proxyURL + "?to=echo") }},
			{&rttWsfy, func() ([]time.Duration, error) { return echoWS(wsfyEcho) }},
			{&rttRaw, func() ([]time.Duration, error) { return echoTCP(echo.Addr().String()) }},
		} {
			ds, err := m.run()
			if err != nil {
				return err
			}
			*m.out = append(*m.out, ds...)
		}
	}
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f µs", float64(d.Nanoseconds())/1000) }
	p50, r50 := percentile(rttProxy, .5), percentile(rttRaw, .5)
	fmt.Printf("console round trip of a %d-byte frame (%d each, interleaved)\n", rttFrame, len(rttProxy))
	fmt.Printf("  virtportal           p50 %-10s p99 %s\n", us(p50), us(percentile(rttProxy, .99)))
	fmt.Printf("  websockify           p50 %-10s p99 %s   (baseline, same run)\n", us(percentile(rttWsfy, .5)), us(percentile(rttWsfy, .99)))
	fmt.Printf("  raw TCP echo         p50 %-10s p99 %s   (baseline, same run)\n", us(r50), us(percentile(rttRaw, .99)))
	fmt.Printf("  overhead p50         %s   (goal: <= 100 µs)\n", us(p50-r50))

	var missed []string
	if p < 2*w {
		missed = append(missed, fmt.Sprintf("%.2f× websockify", p/w))
	}
	if p < 0.8*r {
		missed = append(missed, fmt.Sprintf("%.2f× raw TCP", p/r))
	}
	if p50-r50 > 100*time.Microsecond {
		missed = append(missed, "latency overhead "+us(p50-r50))
	}
	if len(missed) > 0 {
		return fmt.Errorf("budget missed: %v", missed)
	}
	return nil
}

// listen serves each connection with serve on a loopback port.
func listen(serve func(net.Conn)) (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); serve(c) }()
		}
	}()
	return ln, nil
}

// startWebsockify runs websockify in front of target and returns its URL.
func startWebsockify(target string) (string, func(), error) {
	if _, err := exec.LookPath("websockify"); err != nil {
		return "", nil, errors.New("websockify is not installed (Debian package websockify): the console benchmark compares against it")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command("websockify", addr, target)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "ws://" + addr + "/", stop, nil
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, errors.New("websockify did not listen within 10 s")
		}
	}
}

func websockifyVersion() string {
	out, err := exec.Command("dpkg-query", "-W", "-f", "${Version}", "websockify").Output()
	if err != nil {
		return ""
	}
	return string(out)
}

func dialWS(url string) (*websocket.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(-1)
	return ws, nil
}

// pullWS reads consoleBytes from a WebSocket and times it, connection included.
func pullWS(url string) (time.Duration, error) {
	t0 := time.Now()
	ws, err := dialWS(url)
	if err != nil {
		return 0, err
	}
	defer ws.CloseNow()
	buf := make([]byte, clientBuf)
	ctx := context.Background()
	for got := 0; got < consoleBytes; {
		_, r, err := ws.Reader(ctx)
		if err != nil {
			return 0, fmt.Errorf("%s after %d bytes: %w", url, got, err)
		}
		for {
			n, err := r.Read(buf)
			got += n
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return 0, err
			}
		}
	}
	return time.Since(t0), nil
}

func pullTCP(addr string) (time.Duration, error) {
	t0 := time.Now()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	buf := make([]byte, clientBuf)
	for got := 0; got < consoleBytes; {
		n, err := c.Read(buf)
		got += n
		if err != nil {
			return 0, fmt.Errorf("raw TCP after %d bytes: %w", got, err)
		}
	}
	return time.Since(t0), nil
}

// echoWS times rttPerRound round trips of one small binary message.
func echoWS(url string) ([]time.Duration, error) {
	ws, err := dialWS(url)
	if err != nil {
		return nil, err
	}
	defer ws.CloseNow()
	ctx := context.Background()
	msg, buf := make([]byte, rttFrame), make([]byte, rttFrame)
	out := make([]time.Duration, 0, rttPerRound)
	for i := range rttPerRound + 100 {
		t0 := time.Now()
		if err := ws.Write(ctx, websocket.MessageBinary, msg); err != nil {
			return nil, err
		}
		// The echo may come back split over messages.
		for got := 0; got < rttFrame; {
			_, r, err := ws.Reader(ctx)
			if err != nil {
				return nil, err
			}
			n, err := io.ReadFull(r, buf[got:])
			got += n
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
				return nil, err
			}
		}
		if i >= 100 { // warm-up first
			out = append(out, time.Since(t0))
		}
	}
	return out, nil
}

func echoTCP(addr string) ([]time.Duration, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	msg, buf := make([]byte, rttFrame), make([]byte, rttFrame)
	out := make([]time.Duration, 0, rttPerRound)
	for i := range rttPerRound + 100 {
		t0 := time.Now()
		if _, err := c.Write(msg); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			return nil, err
		}
		if i >= 100 {
			out = append(out, time.Since(t0))
		}
	}
	return out, nil
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func rates(v []float64) string {
	out := ""
	for i, x := range v {
		if i > 0 {
			out += " "
		}
		out += strconv.Itoa(int(x))
	}
	return out
}
