//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/internal/syncbuf"
)

// voName is a KVM object name of this suite's volume operations.
func voName(suffix string) string { return "vpe2e-vo-" + randomHex() + "-" + suffix }

// voPool starts a transient dir pool in a temp folder, destroyed in t.Cleanup.
func voPool(t *testing.T, conn *libvirt.Connect, suffix string) (name, dir string) {
	t.Helper()
	return voPoolIn(t, conn, voName(suffix), t.TempDir())
}

// voPoolIn starts a transient dir pool name in dir, destroyed in t.Cleanup.
func voPoolIn(t *testing.T, conn *libvirt.Connect, name, dir string) (string, string) {
	t.Helper()
	doc, err := (&libvirtxml.StoragePool{Type: "dir", Name: name, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := conn.StoragePoolCreateXML(doc, 0)
	if err != nil {
		t.Fatal("pool:", err)
	}
	t.Cleanup(func() { _ = p.Destroy(); _ = p.Free() })
	return name, dir
}

// voRunningGuest starts a tiny guest on a new qcow2 volume of a pool under
// /var/lib/libvirt/images (qemu's user must reach the disk); all of it is
// removed in t.Cleanup. It returns the guest, its pool and its volume.
func voRunningGuest(t *testing.T, conn *libvirt.Connect) (guest, pool, vol string) {
	t.Helper()
	guest = voName("g")
	dir := filepath.Join("/var/lib/libvirt/images", guest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pool, _ = voPoolIn(t, conn, guest+"-pool", dir)
	p, err := conn.LookupStoragePoolByName(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	vol = "disk.qcow2"
	volXML, _ := (&libvirtxml.StorageVolume{Name: vol, Capacity: &libvirtxml.StorageVolumeSize{Value: 8, Unit: "MiB"},
		Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}}}).Marshal()
	v, err := p.StorageVolCreateXML(volXML, 0)
	if err != nil {
		t.Fatal("volume:", err)
	}
	_ = v.Free()
	dom := tinyDomain(guest)
	dom.Devices.Disks = []libvirtxml.DomainDisk{{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
		Source: &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: pool, Volume: vol}},
		Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
	}}
	domXML, err := dom.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := conn.DomainDefineXML(domXML)
	if err != nil {
		t.Fatal("define:", err)
	}
	t.Cleanup(func() {
		_ = d.Destroy()
		_ = d.Undefine()
		_ = d.Free()
	})
	if err := d.Create(); err != nil {
		t.Fatal("start:", err)
	}
	return guest, pool, vol
}

// writeVolume writes n pseudo-random bytes as a file of the pool and
// refreshes the pool so libvirt sees it.
func writeVolume(t *testing.T, conn *libvirt.Connect, pool, dir, name string, n int64) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	r := rand.NewChaCha8([32]byte{byte(n), 7})
	if _, err := io.CopyN(f, r, n); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := conn.LookupStoragePoolByName(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	if err := p.Refresh(0); err != nil {
		t.Fatal(err)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// volServer is a server this suite may kill: started in dataDir (users
// added once), with extra flags; t.Cleanup stops it if it still runs.
type volServer struct {
	*server
	logs   *syncbuf.Buffer
	exited chan struct{}
}

func startVolServer(t *testing.T, uri, dataDir string, extra ...string) *volServer {
	t.Helper()
	bin := binary(t)
	pw := "e2e-volops-password"
	if _, err := os.Stat(filepath.Join(dataDir, "users-added")); err != nil {
		add := exec.Command(bin, "user", "add", "--admin", "--password-stdin", "--data-dir", dataDir, "e2eadmin")
		add.Stdin = strings.NewReader(pw + "\n")
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("user add: %v\n%s", err, out)
		}
		_ = os.WriteFile(filepath.Join(dataDir, "users-added"), nil, 0o600)
	}
	args := append([]string{"serve", "--allow-root", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--libvirt-uri", uri}, extra...)
	cmd := exec.Command(bin, args...)
	vs := &volServer{server: &server{user: "e2eadmin", password: pw, cmd: cmd}, logs: &syncbuf.Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = vs.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(vs.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-vs.exited:
			return
		default:
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-vs.exited:
		case <-time.After(25 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("server ignored SIGTERM")
		}
	})
	select {
	case vs.url = <-found:
	case <-vs.exited:
		t.Fatalf("server exited before listening; log:\n%s", vs.logs)
	case <-time.After(3 * time.Minute):
		t.Fatalf("server did not start; log:\n%s", vs.logs)
	}
	return vs
}

func (vs *volServer) kill(t *testing.T) {
	t.Helper()
	_ = vs.cmd.Process.Kill()
	select {
	case <-vs.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("server survived SIGKILL")
	}
}

// submit posts a task request and returns the task.
func submit(t *testing.T, c *session, path string, in any) api.Task {
	t.Helper()
	var tk api.Task
	if st := c.call("POST", path, in, &tk); st != 202 {
		t.Fatalf("POST %s: %d", path, st)
	}
	return tk
}

// finished waits for the task to end.
func finished(t *testing.T, c *session, id int64, within time.Duration) api.Task {
	t.Helper()
	var tk api.Task
	eventually(t, fmt.Sprintf("task %d ends", id), within, func() bool {
		tk = api.Task{}
		return c.call("GET", fmt.Sprintf("/api/v1/tasks/%d", id), nil, &tk) == 200 && tk.Finished != nil
	})
	return tk
}

// Clone within a pool and across pools (with a format change), wipe,
// download from a URL (and cancel one), on KVM.
func TestVolumeOpsOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	poolA, dirA := voPool(t, conn, "a")
	poolB, dirB := voPool(t, conn, "b")
	writeVolume(t, conn, poolA, dirA, "data.raw", 8<<20)

	// A file server on loopback, allowed for this server only.
	payload := make([]byte, 3<<20+123)
	_, _ = rand.NewChaCha8([32]byte{3}).Read(payload)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/disk.img", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "disk.img", time.Time{}, bytes.NewReader(payload))
	})
	qdir := t.TempDir()
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", filepath.Join(qdir, "q.qcow2"), "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, out)
	}
	mux.HandleFunc("/q.qcow2", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(qdir, "q.qcow2"))
	})
	// An image whose backing file is a host file: refused once downloaded.
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", "-b", "/etc/shadow", "-F", "raw", filepath.Join(qdir, "evil.qcow2"), "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v %s", err, out)
	}
	mux.HandleFunc("/evil.qcow2", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(qdir, "evil.qcow2"))
	})
	mux.HandleFunc("/slow.img", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(64<<20))
		chunk := make([]byte, 64<<10)
		for range 1024 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
		}
	})
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() { hs.Close() })
	base := "http://" + ln.Addr().String()

	srv := startVolServer(t, uri, t.TempDir(), "--volumes-from-url-allow-networks", "127.0.0.1/32")
	admin := srv.login(t)
	volsA := "/api/v1/hosts/local/pools/" + poolA + "/volumes"

	t.Run("clone within", func(t *testing.T) {
		tk := submit(t, admin, volsA+"/data.raw/clone", api.VolumeClone{Name: "copy.raw"})
		if tk = finished(t, admin, tk.ID, time.Minute); tk.Status != "done" {
			t.Fatalf("task %+v %+v", tk, tk.Error)
		}
		if fileSum(t, filepath.Join(dirA, "copy.raw")) != fileSum(t, filepath.Join(dirA, "data.raw")) {
			t.Fatal("the copy differs")
		}
	})
	t.Run("clone across to qcow2", func(t *testing.T) {
		tk := submit(t, admin, volsA+"/data.raw/clone", api.VolumeClone{Name: "copy.qcow2", Pool: poolB, Format: "qcow2"})
		if tk = finished(t, admin, tk.ID, time.Minute); tk.Status != "done" || tk.Result != "volume:"+poolB+"/copy.qcow2" {
			t.Fatalf("task %+v %+v", tk, tk.Error)
		}
		var v api.Volume
		if st := admin.call("GET", "/api/v1/hosts/local/pools/"+poolB+"/volumes/copy.qcow2", nil, &v); st != 200 || v.Format != "qcow2" || v.Capacity != 8<<20 {
			t.Fatalf("copy %d %+v", st, v)
		}
		head := make([]byte, 4)
		f, err := os.Open(filepath.Join(dirB, "copy.qcow2"))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.ReadFull(f, head)
		f.Close()
		if string(head) != "QFI\xfb" {
			t.Fatalf("not a qcow2 file: %q", head)
		}
		if st := admin.call("POST", volsA+"/data.raw/clone", api.VolumeClone{Name: "copy.qcow2", Pool: poolB}, nil); st != 409 {
			t.Fatalf("a clone onto an existing name: %d", st)
		}
	})
	t.Run("wipe", func(t *testing.T) {
		tk := submit(t, admin, volsA+"/copy.raw/wipe", nil)
		if tk = finished(t, admin, tk.ID, time.Minute); tk.Status != "done" {
			t.Fatalf("task %+v %+v", tk, tk.Error)
		}
		b, err := os.ReadFile(filepath.Join(dirA, "copy.raw"))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != 8<<20 || !bytes.Equal(b, make([]byte, len(b))) {
			t.Fatalf("after the wipe: %d bytes, not all zeros", len(b))
		}
	})
	t.Run("in use by a running guest", func(t *testing.T) {
		guest, gpool, gvol := voRunningGuest(t, conn)
		vols := "/api/v1/hosts/local/pools/" + gpool + "/volumes/" + gvol
		eventually(t, "the index sees the guest", 10*time.Second, func() bool {
			var v api.Volume
			return admin.call("GET", vols, nil, &v) == 200 && len(v.UsedBy) == 1 && v.UsedBy[0] == guest
		})
		for _, op := range []struct {
			path string
			body any
		}{{"/wipe", nil}, {"/clone", api.VolumeClone{Name: "x.qcow2"}}} {
			st, body := admin.raw("POST", vols+op.path, op.body)
			if st != 409 || !strings.Contains(string(body), "volume_in_use") || !strings.Contains(string(body), guest) {
				t.Fatalf("%s of a running guest's volume: %d %s", op.path, st, body)
			}
		}
	})
	t.Run("from URL", func(t *testing.T) {
		tk := submit(t, admin, volsA+"/from-url", api.VolumeFromURL{URL: base + "/disk.img", Name: "dl.img"})
		if tk = finished(t, admin, tk.ID, time.Minute); tk.Status != "done" || tk.Result != "volume:"+poolA+"/dl.img" {
			t.Fatalf("task %+v %+v", tk, tk.Error)
		}
		if fileSum(t, filepath.Join(dirA, "dl.img")) != sha256.Sum256(payload) {
			t.Fatal("the download differs")
		}
		// A qcow2 image keeps its virtual size and format.
		tk = submit(t, admin, volsA+"/from-url", api.VolumeFromURL{URL: base + "/q.qcow2", Name: "q.qcow2", Format: "qcow2"})
		if tk = finished(t, admin, tk.ID, time.Minute); tk.Status != "done" {
			t.Fatalf("task %+v %+v", tk, tk.Error)
		}
		var q api.Volume
		if st := admin.call("GET", volsA+"/q.qcow2", nil, &q); st != 200 || q.Format != "qcow2" || q.Capacity != 64<<20 {
			t.Fatalf("qcow2 from a URL: %d %+v", st, q)
		}
		// A qcow2 naming a backing file fails its task and leaves nothing.
		tk = submit(t, admin, volsA+"/from-url", api.VolumeFromURL{URL: base + "/evil.qcow2", Name: "evil.qcow2", Format: "qcow2"})
		if tk = finished(t, admin, tk.ID, time.Minute); tk.Status != "failed" || tk.Error == nil || tk.Error.Code != "image_references_files" {
			t.Fatalf("a backing-file image from a URL: %+v %+v", tk, tk.Error)
		}
		if _, err := os.Stat(filepath.Join(dirA, "evil.qcow2")); !os.IsNotExist(err) {
			t.Fatalf("the refused image stayed (%v)", err)
		}
		// 127.0.0.2 is loopback too, and not allowed.
		if st := admin.call("POST", volsA+"/from-url", api.VolumeFromURL{URL: "http://127.0.0.2:1/x", Name: "x.img"}, nil); st != 400 {
			t.Fatalf("loopback outside the allowed network: %d", st)
		}
	})
	t.Run("from URL cancelled", func(t *testing.T) {
		tk := submit(t, admin, volsA+"/from-url", api.VolumeFromURL{URL: base + "/slow.img", Name: "slow.img"})
		eventually(t, "progress", 30*time.Second, func() bool {
			var cur api.Task
			admin.call("GET", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, &cur)
			return cur.Progress > 0
		})
		if st := admin.call("DELETE", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, nil); st/100 != 2 {
			t.Fatalf("cancel: %d", st)
		}
		if tk = finished(t, admin, tk.ID, time.Minute); tk.Status != "cancelled" {
			t.Fatalf("task %+v", tk)
		}
		if _, err := os.Stat(filepath.Join(dirA, "slow.img")); !os.IsNotExist(err) {
			t.Fatalf("the cancelled download left its volume: %v", err)
		}
	})
}

// SIGKILL of the server while libvirt clones: after the restart the task
// is failed (interrupted) and no partial volume is left.
func TestVolumeCloneKilledOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool, dir := voPool(t, conn, "kill")
	writeVolume(t, conn, pool, dir, "big.raw", 2<<30) // long enough a copy to be caught under way on a quiet machine
	data := t.TempDir()
	srv := startVolServer(t, uri, data)
	admin := srv.login(t)
	tk := submit(t, admin, "/api/v1/hosts/local/pools/"+pool+"/volumes/big.raw/clone", api.VolumeClone{Name: "big-copy.raw"})
	// Byte progress: the copy's allocation, read while libvirt copies.
	var cur api.Task
	eventually(t, "the copy is under way", 30*time.Second, func() bool {
		cur = api.Task{}
		admin.call("GET", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, &cur)
		return cur.Status == "running" && cur.Progress > 0
	})
	if cur.Progress >= 100 || !strings.Contains(cur.Message, "MiB of 2048.0 MiB") {
		t.Fatalf("progress while copying: %d %q", cur.Progress, cur.Message)
	}
	t.Logf("killed at %d%%: %s", cur.Progress, cur.Message)
	srv.kill(t)

	again := startVolServer(t, uri, data)
	admin = again.login(t)
	var got api.Task
	if st := admin.call("GET", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, &got); st != 200 {
		t.Fatalf("task after restart: %d", st)
	}
	if got.Status != "failed" || got.Error == nil || got.Error.Code != "interrupted" {
		t.Fatalf("task after restart %+v %+v", got, got.Error)
	}
	if _, err := os.Stat(filepath.Join(dir, "big-copy.raw")); !os.IsNotExist(err) {
		t.Fatalf("the partial copy is left: %v; log:\n%s", err, again.logs)
	}
	p, err := conn.LookupStoragePoolByName(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	_ = p.Refresh(0)
	if v, err := p.LookupStorageVolByName("big-copy.raw"); err == nil {
		v.Free()
		t.Fatal("libvirt still lists the partial copy")
	}
}

// A clone cancelled while libvirt copies ends cancelled once the copy is
// made, and the copy is deleted.
func TestVolumeCloneCancelledOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool, dir := voPool(t, conn, "cancel")
	writeVolume(t, conn, pool, dir, "big.raw", 512<<20)
	srv := startVolServer(t, uri, t.TempDir())
	admin := srv.login(t)
	tk := submit(t, admin, "/api/v1/hosts/local/pools/"+pool+"/volumes/big.raw/clone", api.VolumeClone{Name: "big-copy.raw"})
	eventually(t, "the copy is under way", 30*time.Second, func() bool {
		var cur api.Task
		admin.call("GET", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, &cur)
		return cur.Status == "running" && cur.Progress > 0
	})
	if st := admin.call("DELETE", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, nil); st/100 != 2 {
		t.Fatalf("cancel: %d", st)
	}
	if got := finished(t, admin, tk.ID, 2*time.Minute); got.Status != "cancelled" {
		t.Fatalf("task %+v %+v", got, got.Error)
	}
	if _, err := os.Stat(filepath.Join(dir, "big-copy.raw")); !os.IsNotExist(err) {
		t.Fatalf("the cancelled clone left its copy: %v", err)
	}
}
