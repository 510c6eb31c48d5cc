//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// ovmfHere reports whether this machine has Debian's OVMF firmware.
func ovmfHere() bool {
	ms, _ := filepath.Glob("/usr/share/OVMF/OVMF_CODE*.fd")
	return len(ms) > 0
}

// Templates on KVM: the host's limits (UEFI only where OVMF is installed),
// the OS detected from a real ISO feeding the defaults, a template on a
// pool of its own, and its problems once that pool is gone.
func TestTemplatesOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool := "vpe2e-tp-" + randomHex()
	dir := filepath.Join("/var/lib/libvirt/images", pool)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "debian.iso"), isoImage("LINUX", "Debian 11.5.0 amd64 n", ""), 0o644); err != nil {
		t.Fatal(err)
	}
	poolXML, err := (&libvirtxml.StoragePool{Type: "dir", Name: pool, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := conn.StoragePoolCreateXML(poolXML, 0)
	if err != nil {
		t.Fatal("pool:", err)
	}
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			_ = p.Destroy()
		}
		_ = p.Free()
	})

	srv := startServer(t, uri)
	admin := srv.login(t)
	var vos api.VolumeOS
	if st := admin.call("GET", "/api/v1/hosts/local/pools/"+pool+"/volumes/debian.iso/os", nil, &vos); st != 200 || vos.OS == nil {
		t.Fatalf("detect: %d %+v", st, vos)
	}
	var d api.OSDefaults
	if st := admin.call("GET", "/api/v1/hosts/local/os-defaults?os="+vos.OS.ShortID, nil, &d); st != 200 {
		t.Fatalf("defaults: %d", st)
	}
	if d.DiskBus != "virtio" || d.NICModel != "virtio" || d.Host == nil || d.Host.MaxVCPUs < 1 || d.Host.UEFI != ovmfHere() {
		t.Fatalf("defaults %+v host %+v (OVMF here: %v)", d, d.Host, ovmfHere())
	}
	tp := api.Template{Name: pool, OS: d.OS, VCPUs: 1, MemoryMiB: d.MemoryMiB, Firmware: "uefi", Graphics: "vnc",
		Source: api.TemplateSource{Kind: api.SourceISO, Pool: pool, Volume: "debian.iso"},
		Disks:  []api.TemplateDisk{{Pool: pool, Size: 1 << 30, Bus: d.DiskBus}}}
	var made api.Template
	st := admin.call("POST", "/api/v1/templates", tp, &made)
	if !d.Host.UEFI {
		if st != 400 {
			t.Fatalf("UEFI without OVMF: %d", st)
		}
		tp.Firmware = "bios"
		st = admin.call("POST", "/api/v1/templates", tp, &made)
	}
	if st != 201 || len(made.Problems) != 0 {
		t.Fatalf("create: %d %+v", st, made)
	}
	t.Cleanup(func() { admin.call("DELETE", "/api/v1/templates/"+strconv.FormatInt(made.ID, 10), nil, nil) })

	if err := p.Destroy(); err != nil {
		t.Fatal(err)
	}
	destroyed = true
	var got api.Template
	if st := admin.call("GET", "/api/v1/templates/"+strconv.FormatInt(made.ID, 10), nil, &got); st != 200 {
		t.Fatalf("get: %d", st)
	}
	fields := map[string]string{}
	for _, pr := range got.Problems {
		fields[pr.Field] = pr.Code
	}
	if fields["source.pool"] != "pool_not_found" || fields["disks[0].pool"] != "pool_not_found" {
		t.Fatalf("problems %+v", got.Problems)
	}
}
