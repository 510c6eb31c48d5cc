//go:build e2e

package e2e

import (
	"testing"
	"time"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// Import of a tiny qcow2 through the API: the guest starts on the volume
// in place and SeaBIOS says it finds nothing to boot.
func TestImportOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool := "vpe2e-vx-" + randomHex()[:8] + "-imp"
	clPool(t, conn, pool, 0)
	p, err := conn.LookupStoragePoolByName(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	doc, _ := (&libvirtxml.StorageVolume{Name: "tiny.qcow2", Capacity: &libvirtxml.StorageVolumeSize{Value: 8, Unit: "MiB"},
		Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}}}).Marshal()
	if v, err := p.StorageVolCreateXML(doc, 0); err != nil {
		t.Fatal("volume:", err)
	} else {
		_ = v.Free()
	}
	srv := startVolServer(t, uri, t.TempDir())
	admin := srv.login(t)
	name := "vpe2e-vx-" + randomHex()[:8]
	t.Cleanup(func() {
		if d, err := conn.LookupDomainByName(name); err == nil {
			_ = d.Destroy()
			_ = d.Undefine()
			_ = d.Free()
		}
	})
	tk := submit(t, admin, "/api/v1/vms/import", api.VMImport{Pool: pool, Volume: "tiny.qcow2", Name: name, MemoryMiB: 64, Start: true})
	if got := finished(t, admin, tk.ID, 2*time.Minute); got.Status != "done" || got.Result != "vm:"+name {
		t.Fatalf("task %+v %+v", got, got.Error)
	}
	serialUntil(t, conn, name, "No bootable device", 60*time.Second)
	var vm api.VMDetail
	if st := admin.call("GET", "/api/v1/vms/"+name, nil, &vm); st != 200 || len(vm.Devices.Disks) != 1 || vm.Devices.Disks[0].Volume != "tiny.qcow2" {
		t.Fatalf("guest %d %+v", st, vm.Devices.Disks)
	}
	// The volume is now in use: a second import is refused, naming the guest.
	if st := admin.call("POST", "/api/v1/vms/import", api.VMImport{Pool: pool, Volume: "tiny.qcow2"}, nil); st != 409 {
		t.Fatalf("second import: %d", st)
	}
}
