//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"

	"github.com/virtportal/virtportal/internal/syncbuf"
)

// upPool makes a transient dir pool in a fresh folder, both removed in
// t.Cleanup; it returns the pool's name and folder.
func upPool(t *testing.T, conn *libvirt.Connect) (string, string) {
	t.Helper()
	name := "vpe2e-up-" + randomHex()
	dir, err := os.MkdirTemp("/var/lib/libvirt/images", name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return voPoolIn(t, conn, name, dir)
}

// upServers starts servers that share one data folder, so that a restart
// keeps the uploads' records.
type upServers struct {
	t        *testing.T
	bin, dir string
	uri      string
	args     []string
	password string
}

func newUpServers(t *testing.T, uri string, args ...string) *upServers {
	t.Helper()
	u := &upServers{t: t, bin: binary(t), dir: t.TempDir(), uri: uri, args: args, password: "e2e-" + randomHex()}
	add := exec.Command(u.bin, "user", "add", "--admin", "--password-stdin", "--data-dir", u.dir, "e2eadmin")
	add.Stdin = strings.NewReader(u.password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	return u
}

// start runs one server; stop ends it (SIGTERM) before the test does.
func (u *upServers) start() *server {
	t := u.t
	t.Helper()
	s := &server{user: "e2eadmin", password: u.password}
	s.cmd = exec.Command(u.bin, append([]string{"serve", "--allow-root", "--listen", "127.0.0.1:0", "--data-dir", u.dir, "--libvirt-uri", u.uri}, u.args...)...)
	var logs syncbuf.Buffer
	s.cmd.Stderr = &logs
	s.url = runServer(t, s.cmd, &logs)
	eventually(t, "server ready", 30*time.Second, func() bool {
		res, err := http.Get(s.url + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == 200
	})
	return s
}

func (u *upServers) stop(s *server) {
	u.t.Helper()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	eventually(u.t, "server stopped", 25*time.Second, func() bool {
		_, err := http.Get(s.url + "/healthz")
		return err != nil
	})
}

// tusReq sends one tus request of the session; body may be nil.
func (c *session) tusReq(method, path string, body io.Reader, length int64, hdr ...string) (*http.Response, []byte, error) {
	req, _ := http.NewRequestWithContext(context.Background(), method, c.base+path, body)
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("X-CSRF-Token", c.csrf)
	if body != nil {
		req.ContentLength = length
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res, raw, nil
}

func (c *session) upCreate(pool, name string, size int64) (*http.Response, []byte) {
	c.t.Helper()
	res, raw, err := c.tusReq("POST", "/api/v1/hosts/local/pools/"+pool+"/uploads", nil, 0,
		"Upload-Length", strconv.FormatInt(size, 10), "Upload-Metadata", "name "+base64.StdEncoding.EncodeToString([]byte(name)))
	if err != nil {
		c.t.Fatal(err)
	}
	return res, raw
}

func (c *session) upOffset(loc string) int64 {
	c.t.Helper()
	res, raw, err := c.tusReq("HEAD", loc, nil, 0)
	if err != nil || res.StatusCode != 200 {
		c.t.Fatalf("HEAD %s: %v %v %s", loc, err, res, raw)
	}
	n, err := strconv.ParseInt(res.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		c.t.Fatalf("Upload-Offset %q", res.Header.Get("Upload-Offset"))
	}
	return n
}

func (c *session) upPatch(loc string, offset int64, data []byte) {
	c.t.Helper()
	res, raw, err := c.tusReq("PATCH", loc, bytes.NewReader(data), int64(len(data)),
		"Content-Type", "application/offset+octet-stream", "Upload-Offset", strconv.FormatInt(offset, 10))
	if err != nil || res.StatusCode != 204 || res.Header.Get("Upload-Offset") != strconv.FormatInt(offset+int64(len(data)), 10) {
		c.t.Fatalf("PATCH at %d: %v %v %s", offset, err, res, raw)
	}
}

// cutAfter yields data[:n] and then fails: the client's connection drops.
type cutAfter struct {
	r *bytes.Reader
	n int
}

func (c *cutAfter) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errors.New("connection cut by the test")
	}
	p = p[:min(len(p), c.n)]
	k, err := c.r.Read(p)
	c.n -= k
	return k, err
}

// upPatchCut sends a PATCH of all of data from offset whose connection
// drops after cut bytes.
func (c *session) upPatchCut(loc string, offset int64, data []byte, cut int) {
	c.t.Helper()
	_, _, err := c.tusReq("PATCH", loc, &cutAfter{r: bytes.NewReader(data), n: cut}, int64(len(data)),
		"Content-Type", "application/offset+octet-stream", "Upload-Offset", strconv.FormatInt(offset, 10))
	if err == nil {
		c.t.Fatal("the cut PATCH succeeded")
	}
}

func (c *session) download(path, rng string) (int, http.Header, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	if rng != "" {
		req.Header.Set("Range", rng)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return res.StatusCode, res.Header, raw
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1, 2, 3})
	_, _ = r.Read(b)
	return b
}

// checkOffsetHonest: the bytes below the offset HEAD gives are the data's.
func checkPrefix(t *testing.T, c *session, content string, data []byte, off int64) {
	t.Helper()
	if off <= 0 || off >= int64(len(data)) {
		t.Fatalf("offset %d after the cut, want inside (0, %d)", off, len(data))
	}
	st, _, got := c.download(content, fmt.Sprintf("bytes=0-%d", off-1))
	if st != 206 || !bytes.Equal(got, data[:off]) {
		t.Fatalf("the %d bytes before the offset: status %d, equal %v", off, st, bytes.Equal(got, data[:off]))
	}
}

func TestUploadResumeOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool, dir := upPool(t, conn)
	data := randomBytes(64 << 20)
	sum := sha256.Sum256(data)
	for _, restart := range []bool{false, true} {
		t.Run(map[bool]string{false: "cut", true: "cut and restart"}[restart], func(t *testing.T) {
			srvs := newUpServers(t, uri)
			srv := srvs.start()
			admin := srv.login(t)
			name := fmt.Sprintf("vpe2e-up-%v.img", restart)
			res, raw := admin.upCreate(pool, name, int64(len(data)))
			loc := res.Header.Get("Location")
			if res.StatusCode != 201 || !strings.HasPrefix(loc, "/api/v1/hosts/local/pools/"+pool+"/uploads/") {
				t.Fatalf("create: %d %q %s", res.StatusCode, loc, raw)
			}
			content := "/api/v1/hosts/local/pools/" + pool + "/volumes/" + name + "/content"
			admin.upPatchCut(loc, 0, data, len(data)/2)
			off := admin.upOffset(loc)
			t.Logf("cut after %d bytes sent: offset %d", len(data)/2, off)
			checkPrefix(t, admin, content, data, off)
			if restart {
				srvs.stop(srv)
				srv = srvs.start()
				admin = srv.login(t)
				if again := admin.upOffset(loc); again != off {
					t.Fatalf("offset %d after the restart, %d before", again, off)
				}
			}
			// A second cut on the resume, then the rest.
			admin.upPatchCut(loc, off, data[off:], len(data[off:])/3)
			off2 := admin.upOffset(loc)
			t.Logf("second cut: offset %d", off2)
			checkPrefix(t, admin, content, data, off2)
			admin.upPatch(loc, off2, data[off2:])

			st, h, whole := admin.download(content, "")
			if st != 200 || h.Get("Accept-Ranges") != "bytes" || sha256.Sum256(whole) != sum ||
				!strings.HasPrefix(h.Get("Content-Disposition"), "attachment") {
				t.Fatalf("download: %d %v, %d bytes, equal %v", st, h, len(whole), sha256.Sum256(whole) == sum)
			}
			if r, _, err := admin.tusReq("HEAD", content, nil, 0); err != nil || r.StatusCode != 200 || r.ContentLength != int64(len(data)) {
				t.Fatalf("HEAD of the content: %v %v", r, err)
			}
			// In two ranges, joined: the same SHA-256.
			half := len(data) / 2
			st1, h1, a := admin.download(content, fmt.Sprintf("bytes=0-%d", half-1))
			st2, h2, b := admin.download(content, fmt.Sprintf("bytes=%d-", half))
			if st1 != 206 || st2 != 206 || sha256.Sum256(append(a, b...)) != sum ||
				h2.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", half, len(data)-1, len(data)) || h1.Get("Content-Length") != strconv.Itoa(half) {
				t.Fatalf("ranges: %d %d %v %v", st1, st2, h1, h2)
			}
			if st, _, _ := admin.download(content, fmt.Sprintf("bytes=%d-", len(data))); st != 416 {
				t.Fatalf("range past the end: %d", st)
			}
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() != int64(len(data)) {
				t.Fatalf("the volume's file: %v %v", fi, err)
			}
			var ul struct{ Items []struct{ ID string } }
			if st := admin.call("GET", "/api/v1/hosts/local/uploads", nil, &ul); st != 200 || len(ul.Items) != 0 {
				t.Fatalf("unfinished uploads after completion: %d %+v", st, ul.Items)
			}
		})
	}
}

func TestUploadExpiresOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool, dir := upPool(t, conn)
	srv := newUpServers(t, uri, "--uploads-expiry", "2s", "--uploads-sweep-interval", "200ms").start()
	admin := srv.login(t)
	res, raw := admin.upCreate(pool, "vpe2e-up-abandoned.img", 1<<20)
	if res.StatusCode != 201 {
		t.Fatalf("create: %d %s", res.StatusCode, raw)
	}
	loc := res.Header.Get("Location")
	admin.upPatch(loc, 0, randomBytes(1000))
	file := filepath.Join(dir, "vpe2e-up-abandoned.img")
	if _, err := os.Stat(file); err != nil {
		t.Fatal("no partial volume:", err)
	}
	eventually(t, "the abandoned volume deleted", 15*time.Second, func() bool {
		_, err := os.Stat(file)
		return errors.Is(err, os.ErrNotExist)
	})
	if r, _, err := admin.tusReq("HEAD", loc, nil, 0); err != nil || r.StatusCode != 404 {
		t.Fatalf("HEAD of an expired upload: %v %v", r, err)
	}
	p, err := conn.LookupStoragePoolByName(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	if _, err := p.LookupStorageVolByName("vpe2e-up-abandoned.img"); err == nil {
		t.Fatal("libvirt still lists the volume")
	}
}

func TestUploadTooLargeOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool, dir := upPool(t, conn)
	srv := newUpServers(t, uri, "--uploads-max-size", strconv.FormatInt(1<<50, 10)).start()
	admin := srv.login(t)
	var p struct{ Available int64 }
	if st := admin.call("GET", "/api/v1/hosts/local/pools/"+pool, nil, &p); st != 200 || p.Available <= 0 {
		t.Fatalf("pool: %d %+v", st, p)
	}
	// Creation with a body (creation-with-upload style): refused before a byte.
	res, raw, err := admin.tusReq("POST", "/api/v1/hosts/local/pools/"+pool+"/uploads", bytes.NewReader(randomBytes(1<<20)), 1<<20,
		"Content-Type", "application/offset+octet-stream",
		"Upload-Length", strconv.FormatInt(p.Available+(1<<30), 10), "Upload-Metadata", "name "+base64.StdEncoding.EncodeToString([]byte("vpe2e-up-big.img")))
	if err != nil || res.StatusCode != 413 || !strings.Contains(string(raw), "upload_insufficient_space") {
		t.Fatalf("too large: %v %v %s", err, res, raw)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Fatalf("files in the pool: %v", entries)
	}
}

// Formats from the name: a real qcow2 image and an ISO arrive whole and
// libvirt reads them as such.
func TestUploadFormatsOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool, dir := upPool(t, conn)
	img := filepath.Join(t.TempDir(), "src.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", img, "1G").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, out)
	}
	qcow, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	iso := isoImage("LINUX", "Debian 11.5.0 amd64 n", "")
	srv := newUpServers(t, uri).start()
	admin := srv.login(t)
	for _, tc := range []struct {
		name, format string
		data         []byte
		capacity     int64
	}{
		{"vpe2e-up-disk.qcow2", "qcow2", qcow, 1 << 30},
		{"vpe2e-up-cd.iso", "iso", iso, int64(len(iso))},
		{"vpe2e-up-raw.img", "raw", randomBytes(3 << 20), 3 << 20},
	} {
		t.Run(tc.format, func(t *testing.T) {
			res, raw := admin.upCreate(pool, tc.name, int64(len(tc.data)))
			if res.StatusCode != 201 || !strings.Contains(string(raw), `"format":"`+tc.format+`"`) {
				t.Fatalf("create: %d %s", res.StatusCode, raw)
			}
			admin.upPatch(res.Header.Get("Location"), 0, tc.data)
			var v struct {
				Format   string
				Capacity int64
			}
			if st := admin.call("GET", "/api/v1/hosts/local/pools/"+pool+"/volumes/"+tc.name, nil, &v); st != 200 || v.Format != tc.format || v.Capacity != tc.capacity {
				t.Fatalf("volume: %d %+v", st, v)
			}
			got, err := os.ReadFile(filepath.Join(dir, tc.name))
			if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("the file differs (%v)", err)
			}
		})
	}
}

// An image that names a file outside itself (a qcow2 whose backing file is
// /etc/shadow) would let a guest using it read that file: the upload is
// refused at its end, declared qcow2 or disguised as raw, and neither the
// volume nor the upload stays.
func TestUploadBackingFileRefusedOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool, dir := upPool(t, conn)
	img := filepath.Join(t.TempDir(), "evil.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", img, "1G").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, out)
	}
	evil, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	srv := newUpServers(t, uri).start()
	admin := srv.login(t)
	for _, name := range []string{"vpe2e-up-evil.qcow2", "vpe2e-up-evil.img"} {
		t.Run(name, func(t *testing.T) {
			res, raw := admin.upCreate(pool, name, int64(len(evil)))
			if res.StatusCode != 201 {
				t.Fatalf("create: %d %s", res.StatusCode, raw)
			}
			loc := res.Header.Get("Location")
			pres, praw, err := admin.tusReq("PATCH", loc, bytes.NewReader(evil), int64(len(evil)),
				"Content-Type", "application/offset+octet-stream", "Upload-Offset", "0")
			if err != nil || pres.StatusCode != 422 || !strings.Contains(string(praw), "image_references_files") {
				t.Fatalf("PATCH of a qcow2 with a backing file: %v %v %s", err, pres, praw)
			}
			if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
				t.Fatalf("the refused image is still in the pool folder (%v)", err)
			}
			if st, b := admin.raw("GET", "/api/v1/hosts/local/pools/"+pool+"/volumes/"+name, nil); st != 404 {
				t.Fatalf("the refused volume: %d %s", st, b)
			}
			var list struct{ Items []struct{ Name string } }
			admin.call("GET", "/api/v1/hosts/local/uploads", nil, &list)
			for _, u := range list.Items {
				if u.Name == name {
					t.Fatalf("the refused upload is still listed")
				}
			}
		})
	}
}
