//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// isoImage is a 64 KiB synthetic ISO 9660 image: a primary volume
// descriptor with the given ids at 32 KiB and the set terminator after it.
func isoImage(system, volume, publisher string) []byte {
	b := make([]byte, 64<<10)
	pvd := b[32768:]
	pvd[0] = 1
	copy(pvd[1:6], "CD001")
	pvd[6] = 1
	pad := func(off, n int, s string) {
		for i := off; i < off+n; i++ {
			pvd[i] = ' '
		}
		copy(pvd[off:off+n], s)
	}
	pad(8, 32, system)
	pad(40, 32, volume)
	pad(318, 128, publisher)
	pad(574, 128, "")
	blocks := uint32(len(b) / 2048)
	pvd[80], pvd[87] = byte(blocks), byte(blocks)
	pvd[129], pvd[130] = 8, 8 // 2048, both-endian
	term := b[34816:]
	term[0] = 255
	copy(term[1:6], "CD001")
	term[6] = 1
	return b
}

// The ISO library on KVM: synthetic images in a dir pool are read through
// libvirt's volume download and recognised by the system's osinfo
// database; truncated, corrupt and unknown ones are "unknown" with their
// reason; a rewritten image is read again (the cache is keyed by size and
// modification time).
func TestISOLibraryOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool := guestName() + "-isos"
	dir := filepath.Join("/var/lib/libvirt/images", pool)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	write := func(name string, b []byte) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("debian.iso", isoImage("LINUX", "Debian 11.5.0 amd64 n", ""))
	write("win.iso", isoImage("", "CCCOMA_X64FRE_EN-US_DV9", "MICROSOFT CORPORATION"))
	write("plain.iso", isoImage("LINUX", "MY_BACKUP_2024", ""))
	write("short.iso", make([]byte, 10<<10))
	corrupt := make([]byte, 64<<10)
	for i := range corrupt {
		corrupt[i] = byte(i*7 + 3)
	}
	write("corrupt.iso", corrupt)
	poolXML, err := (&libvirtxml.StoragePool{Type: "dir", Name: pool, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := conn.StoragePoolCreateXML(poolXML, 0)
	if err != nil {
		t.Fatal("pool:", err)
	}
	t.Cleanup(func() { _ = p.Destroy(); _ = p.Free() })

	srv := startServer(t, uri)
	admin := srv.login(t)
	vols := "/api/v1/hosts/local/pools/" + pool + "/volumes/"
	cases := []struct{ vol, status, shortID, reason string }{
		{"debian.iso", api.OSDetected, "debian11", ""},
		{"win.iso", api.OSDetected, "win10", ""},
		{"plain.iso", api.OSUnknown, "", api.OSReasonUnrecognised},
		{"short.iso", api.OSUnknown, "", api.OSReasonNotISO},
		{"corrupt.iso", api.OSUnknown, "", api.OSReasonNotISO},
	}
	for _, c := range cases {
		t.Run(c.vol, func(t *testing.T) {
			var got api.VolumeOS
			if st := admin.call("GET", vols+c.vol+"/os", nil, &got); st != 200 {
				t.Fatalf("status %d", st)
			}
			if got.Status != c.status || got.Reason != c.reason || (got.OS == nil) != (c.shortID == "") ||
				(got.OS != nil && got.OS.ShortID != c.shortID) {
				t.Fatalf("got %+v (os %+v)", got, got.OS)
			}
		})
	}

	var lib api.ISOList
	if st := admin.call("GET", "/api/v1/hosts/local/isos", nil, &lib); st != 200 {
		t.Fatalf("library: %d", st)
	}
	if lib.Unavailable != "" {
		t.Fatalf("detection unavailable on KVM: %q", lib.Unavailable)
	}
	mine := map[string]api.ISO{}
	for _, it := range lib.Items {
		if it.Pool == pool {
			mine[it.Name] = it
		}
	}
	if len(mine) != len(cases) {
		t.Fatalf("library holds %d of the pool's ISOs: %+v", len(mine), mine)
	}
	for _, c := range cases {
		it := mine[c.vol]
		if it.Status != c.status || it.Reason != c.reason || (it.OS != nil && it.OS.ShortID != c.shortID) {
			t.Errorf("library entry %+v", it)
		}
	}

	// Rewritten in place (same size, a new modification time): read again.
	write("debian.iso", isoImage("", "Ubuntu-Server 22.04.1 LTS amd64", ""))
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "debian.iso"), later, later); err != nil {
		t.Fatal(err)
	}
	if st := admin.call("POST", "/api/v1/hosts/local/pools/"+pool+"/refresh", nil, nil); st != 200 {
		t.Fatalf("refresh: %d", st)
	}
	var again api.VolumeOS
	if st := admin.call("GET", vols+"debian.iso/os", nil, &again); st != 200 || again.OS == nil || again.OS.ShortID != "ubuntu22.04" {
		t.Fatalf("after the rewrite: %d %+v (os %+v)", st, again, again.OS)
	}
}
