package virt

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
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

// forget drops name's finished screenshot, if any.
func (sc *shotCache) forget(name string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if e, ok := sc.m[name]; ok {
		select {
		case <-e.done:
			delete(sc.m, name)
		default: // a capture under way answers its waiters first
		}
	}
}

// CachedScreenshot returns the guest's screenshot if one was taken less than
// maxAge before now, else takes one; concurrent callers share one capture.
func (m *Manager) CachedScreenshot(name string, now time.Time, maxAge time.Duration) ([]byte, time.Time, error) {
	// A guest the index knows stopped has no screen, whatever was taken
	// before it stopped (a portal action updates the index at once; virsh
	// through the event).
	if vm, _, ok := m.vm(name); ok && !isActiveState(vm.State) {
		m.shots.forget(name)
		return nil, time.Time{}, CodeGuestNotRunning.New("guest %q is not running; it has no screen to show", name)
	}
	return m.shots.get(name, now, maxAge, func() ([]byte, error) {
		// Detached from any one request: others may be waiting on this capture.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return m.Screenshot(ctx, name)
	})
}

// maxScreenshot bounds what a screenshot stream may deliver: a 4K screen as
// PPM is about 25 MB.
const maxScreenshot = 64 << 20

// Screenshot returns the guest's first screen as PNG. QEMU answers PNG
// where it can and PPM otherwise (the MIME type says which); PPM is
// converted here.
func (m *Manager) Screenshot(ctx context.Context, name string) ([]byte, error) {
	c, dom, err := m.liveDomain(ctx, name, "it has no screen to show")
	if err != nil {
		return nil, err
	}
	defer release(c)
	defer dom.Free()
	st, err := c.NewStream(0)
	if err != nil {
		return nil, m.fail("screenshot", name, err)
	}
	defer func() { _ = st.Free() }()
	mime, err := dom.Screenshot(st, 0, 0)
	if err != nil {
		switch libvirtCode(err) {
		case libvirt.ERR_NO_SUPPORT:
			return nil, notSupported("this libvirt driver takes no screenshots")
		case libvirt.ERR_OPERATION_INVALID, libvirt.ERR_OPERATION_FAILED:
			// No display, or the guest stopped meanwhile.
			return nil, CodeNoScreen.New("guest %q has no screen to show", name)
		}
		return nil, m.fail("screenshot", name, err)
	}
	var buf bytes.Buffer
	chunk := make([]byte, 256<<10)
	for {
		if err := ctx.Err(); err != nil {
			_ = st.Abort()
			return nil, m.fail("screenshot", name, err)
		}
		n, rerr := st.Recv(chunk)
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			_ = st.Abort()
			return nil, m.fail("screenshot", name, rerr)
		}
		if n > 0 {
			buf.Write(chunk[:n])
		}
		if buf.Len() > maxScreenshot {
			_ = st.Abort()
			return nil, m.fail("screenshot", name, fmt.Errorf("screenshot larger than %d bytes", maxScreenshot))
		}
	}
	if err := st.Finish(); err != nil {
		return nil, m.fail("screenshot", name, err)
	}
	switch mime {
	case "image/png":
		return buf.Bytes(), nil
	case "image/x-portable-pixmap":
		out, err := ppmToPNG(buf.Bytes())
		if err != nil {
			return nil, m.fail("screenshot", name, err)
		}
		return out, nil
	}
	return nil, m.fail("screenshot", name, fmt.Errorf("screenshot in unexpected format %q", mime))
}

// ppmToPNG converts a binary PPM (P6) image to PNG.
func ppmToPNG(b []byte) ([]byte, error) {
	r := bufio.NewReader(bytes.NewReader(b))
	magic, err := ppmField(r)
	if err != nil || magic != "P6" {
		return nil, fmt.Errorf("ppm: not a binary PPM (magic %q)", magic)
	}
	var v [3]int
	for i := range v {
		f, err := ppmField(r)
		if err != nil {
			return nil, fmt.Errorf("ppm: header: %w", err)
		}
		if v[i], err = strconv.Atoi(f); err != nil || v[i] <= 0 {
			return nil, fmt.Errorf("ppm: bad header field %q", f)
		}
	}
	w, h, maxval := v[0], v[1], v[2]
	if maxval > 65535 || w > 16384 || h > 16384 {
		return nil, fmt.Errorf("ppm: %dx%d max %d out of range", w, h, maxval)
	}
	bpp := 3
	if maxval > 255 {
		bpp = 6
	}
	pix := make([]byte, w*h*bpp)
	if _, err := io.ReadFull(r, pix); err != nil {
		return nil, fmt.Errorf("ppm: pixels: %w", err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	scale := func(x int) uint8 { return uint8(x * 255 / maxval) }
	for i := range w * h {
		var c color.NRGBA
		if bpp == 3 {
			p := pix[i*3:]
			c = color.NRGBA{scale(int(p[0])), scale(int(p[1])), scale(int(p[2])), 255}
		} else {
			p := pix[i*6:]
			c = color.NRGBA{scale(int(p[0])<<8 | int(p[1])), scale(int(p[2])<<8 | int(p[3])), scale(int(p[4])<<8 | int(p[5])), 255}
		}
		img.Pix[i*4], img.Pix[i*4+1], img.Pix[i*4+2], img.Pix[i*4+3] = c.R, c.G, c.B, c.A
	}
	var out bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&out, img); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// ppmField reads one whitespace-separated header field, skipping comments;
// the single whitespace byte after the last field is consumed with it.
func ppmField(r *bufio.Reader) (string, error) {
	var f []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", err
		}
		switch {
		case c == '#' && len(f) == 0:
			if _, err := r.ReadString('\n'); err != nil {
				return "", err
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(f) > 0 {
				return string(f), nil
			}
		default:
			if len(f) >= 16 {
				return "", errors.New("header field too long")
			}
			f = append(f, c)
		}
	}
}
