//go:build e2e

package e2e

import (
	"crypto/sha256"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/virtportal/virtportal/internal/syncbuf"
)

// serviceUser adds a system user in group libvirt, as the package's
// service user is, removed in t.Cleanup.
func serviceUser(t *testing.T) *user.User {
	t.Helper()
	name := "vpe2e-svc" + randomHex()[:6]
	pamRun(t, "", "useradd", "-r", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", "-G", "libvirt", name)
	t.Cleanup(func() { _ = exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// startAsUser runs `virtportal serve` on uri as u (not root, no
// --allow-root; its groups are its own and libvirt), with a local admin.
func startAsUser(t *testing.T, u *user.User, uri string, args ...string) *server {
	t.Helper()
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	lg, err := user.LookupGroup("libvirt")
	if err != nil {
		t.Fatal(err)
	}
	libvirtGID, _ := strconv.Atoi(lg.Gid)
	// Not t.TempDir: its parent folder is closed to other users.
	base, err := os.MkdirTemp("", "vpe2e-svc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(base, "virtportal")
	pamCopy(t, binary(t), bin, 0o755)
	data := filepath.Join(base, "data")
	s := &server{user: "e2eadmin", password: "e2e-" + randomHex()}
	add := exec.Command(bin, "user", "add", "--admin", "--password-stdin", "--data-dir", data, s.user)
	add.Stdin = strings.NewReader(s.password + "\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	if out, err := exec.Command("chown", "-R", u.Uid+":"+u.Gid, data).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	s.cmd = exec.Command(bin, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", data, "--libvirt-uri", uri}, args...)...)
	s.cmd.Env = []string{"HOME=" + data, "PATH=/usr/bin:/bin"}
	s.cmd.Dir = data
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{uint32(libvirtGID)}}}
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

// TestUploadPathsOnKVM: the portal as a system user in group libvirt (not
// root) writes an upload into a local dir pool's volume itself, a file
// libvirt made the portal's own; with uploads.via_stream, and for a file
// that is not its own, the same bytes go through libvirt's stream. Either
// way, a cut and a resume give the same SHA-256.
func TestUploadPathsOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool, dir := upPool(t, conn)
	// As libvirt's own pool folders: others may pass, not list.
	if err := os.Chmod(dir, 0o711); err != nil {
		t.Fatal(err)
	}
	svc := serviceUser(t)
	svcUID, _ := strconv.Atoi(svc.Uid)
	data := randomBytes(16 << 20)
	sum := sha256.Sum256(data)
	for _, tc := range []struct {
		name      string
		args      []string
		takeAway  bool // the file is chowned to root before the bytes come
		wantOwner int
		direct    bool
	}{
		{"direct into its own file", nil, false, svcUID, true},
		{"through the stream when configured", []string{"--uploads-via-stream"}, false, 0, false},
		{"through the stream for a file not its own", nil, true, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := startAsUser(t, svc, uri, tc.args...)
			admin := srv.login(t)
			name := "vpe2e-up-path-" + randomHex() + ".img"
			file := filepath.Join(dir, name)
			res, raw := admin.upCreate(pool, name, int64(len(data)))
			loc := res.Header.Get("Location")
			if res.StatusCode != 201 {
				t.Fatalf("create: %d %s", res.StatusCode, raw)
			}
			if tc.takeAway {
				if err := os.Chown(file, 0, 0); err != nil {
					t.Fatal(err)
				}
			}
			before := storageWrites(t, srv.cmd.Process.Pid)
			admin.upPatchCut(loc, 0, data, len(data)/2)
			off := admin.upOffset(loc)
			admin.upPatch(loc, off, data[off:])
			// Who wrote the file: the server's own storage writes (the
			// kernel's count of pages it dirtied) hold the upload only when
			// it wrote the file itself, not when libvirtd did.
			if wrote := storageWrites(t, srv.cmd.Process.Pid) - before; (wrote >= int64(len(data))) != tc.direct {
				t.Fatalf("the server dirtied %d bytes for a %d-byte upload; direct write expected: %v", wrote, len(data), tc.direct)
			}
			content := "/api/v1/hosts/local/pools/" + pool + "/volumes/" + name + "/content"
			if st, _, whole := admin.download(content, ""); st != 200 || sha256.Sum256(whole) != sum {
				t.Fatalf("download: %d, %d bytes, equal %v", st, len(whole), sha256.Sum256(whole) == sum)
			}
			fi, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if int(st.Uid) != tc.wantOwner || fi.Mode().Perm() != 0o600 || fi.Size() != int64(len(data)) {
				t.Fatalf("the volume's file: owner %d (want %d), mode %v, size %d", st.Uid, tc.wantOwner, fi.Mode(), fi.Size())
			}
			if code := admin.call("DELETE", "/api/v1/hosts/local/pools/"+pool+"/volumes/"+name, nil, nil); code != 204 {
				t.Fatalf("delete: %d", code)
			}
		})
	}
}

// storageWrites is write_bytes of /proc/PID/io: what the process sent
// towards storage (pages it dirtied), not what went to sockets.
func storageWrites(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/io")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "write_bytes: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no write_bytes in /proc/%d/io", pid)
	return 0
}
