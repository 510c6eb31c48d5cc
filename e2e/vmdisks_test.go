//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// vdName is a fresh name with this suite's prefix.
func vdName(what string) string { return "vpe2-" + what + "-" + randomHex()[:8] }

// vdGuest defines a tiny PC guest (i440fx: IDE exists) with a virtio disk
// on a qcow2 volume of a fresh transient dir pool, empty SATA and SCSI
// CD-ROM drives, and two small ISOs and a spare volume in the pool; everything is
// removed in t.Cleanup.
func vdGuest(t *testing.T, conn *libvirt.Connect) (name, pool string) {
	t.Helper()
	name, pool = vdName("disks"), vdName("pool")
	dir := filepath.Join("/var/lib/libvirt/images", pool)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	for i, iso := range []string{"cd1.iso", "cd2.iso"} {
		if err := os.WriteFile(filepath.Join(dir, iso), isoImage("LINUX", "VPE2_CD"+string(rune('1'+i)), "vpe2"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	poolXML, _ := (&libvirtxml.StoragePool{Type: "dir", Name: pool, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	p, err := conn.StoragePoolCreateXML(poolXML, 0)
	if err != nil {
		t.Fatal("pool:", err)
	}
	t.Cleanup(func() { _ = p.Destroy(); _ = p.Free() })
	for _, v := range []string{"disk.qcow2", "extra.qcow2"} {
		volXML, _ := (&libvirtxml.StorageVolume{Name: v,
			Capacity: &libvirtxml.StorageVolumeSize{Value: 8, Unit: "MiB"},
			Target:   &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}},
		}).Marshal()
		vol, err := p.StorageVolCreateXML(volXML, 0)
		if err != nil {
			t.Fatal("volume:", err)
		}
		_ = vol.Free()
	}
	dom := tinyDomain(name)
	// PCI hot-plug on a PC machine needs ACPI.
	dom.Features = &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}}
	dom.Devices.Disks = []libvirtxml.DomainDisk{{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
		Source: &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: pool, Volume: "disk.qcow2"}},
		Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
	}, {
		Device:   "cdrom",
		Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
		Target:   &libvirtxml.DomainDiskTarget{Dev: "sda", Bus: "sata"},
		ReadOnly: &libvirtxml.DomainDiskReadOnly{},
	}, {
		Device:   "cdrom",
		Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
		Target:   &libvirtxml.DomainDiskTarget{Dev: "sdb", Bus: "scsi"},
		ReadOnly: &libvirtxml.DomainDiskReadOnly{},
	}}
	domXML, err := dom.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := conn.DomainDefineXML(domXML)
	if err != nil {
		t.Fatal("define:", err)
	}
	_ = d.Free()
	t.Cleanup(func() {
		if d, err := conn.LookupDomainByName(name); err == nil {
			_ = d.Destroy()
			_ = d.Undefine()
			_ = d.Free()
		}
	})
	return name, pool
}

// domDisk is the disk of target in the guest's live (or saved) XML, or nil.
func domDisk(t *testing.T, conn *libvirt.Connect, name, target string, saved bool) *libvirtxml.DomainDisk {
	t.Helper()
	d, err := conn.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	flags := libvirt.DomainXMLFlags(0)
	if saved {
		flags = libvirt.DOMAIN_XML_INACTIVE
	}
	doc, err := d.GetXMLDesc(flags)
	if err != nil {
		t.Fatal(err)
	}
	var x libvirtxml.Domain
	if err := x.Unmarshal(doc); err != nil {
		t.Fatal(err)
	}
	for i := range x.Devices.Disks {
		if x.Devices.Disks[i].Target != nil && x.Devices.Disks[i].Target.Dev == target {
			return &x.Devices.Disks[i]
		}
	}
	return nil
}

func srcFile(d *libvirtxml.DomainDisk) string {
	if d == nil || d.Source == nil || d.Source.File == nil {
		return ""
	}
	return d.Source.File.File
}

// TestVMDisksKVM: disk hot-plug, CD-ROM media, the IDE and host path
// refusals on a real guest through the real server.
func TestVMDisksKVM(t *testing.T) {
	conn, uri := kvm(t)
	name, pool := vdGuest(t, conn)
	roots := filepath.Join("/var/lib/libvirt/images", vdName("roots"))
	if err := os.MkdirAll(roots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(roots) })
	inRoot := filepath.Join(roots, "host.img")
	if err := os.WriteFile(inRoot, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VIRTPORTAL_STORAGE_HOST_PATH_ROOTS", roots)
	srv := startServer(t, uri)
	admin := srv.login(t)
	base := "/api/v1/vms/" + name + "/disks"
	if st := admin.call("POST", "/api/v1/vms/"+name+"/start", nil, nil); st != 200 {
		t.Fatalf("start: %d", st)
	}
	waitRunning(t, admin, name)

	t.Run("hot-plug a virtio disk: in the live XML and the saved one", func(t *testing.T) {
		var ch api.DiskChange
		if st := admin.call("POST", base, api.DiskAttach{Pool: pool, Volume: "extra.qcow2"}, &ch); st != 200 {
			t.Fatalf("attach: %d", st)
		}
		if ch.Applies != api.AppliesNow || ch.Disk.Target != "vdb" || ch.Disk.Bus != "virtio" || !ch.Disk.Live {
			t.Fatalf("change %+v", ch)
		}
		live, saved := domDisk(t, conn, name, "vdb", false), domDisk(t, conn, name, "vdb", true)
		if !strings.HasSuffix(srcFile(live), "/extra.qcow2") || !strings.HasSuffix(srcFile(saved), "/extra.qcow2") {
			t.Fatalf("live %+v saved %+v", live, saved)
		}
		var l api.GuestDiskList
		admin.call("GET", base, nil, &l)
		found := false
		for _, d := range l.Items {
			found = found || (d.Target == "vdb" && d.Volume == "extra.qcow2" && d.Pool == pool && d.Live && d.Capacity == 8<<20)
		}
		if !l.Running || !l.LiveChanges || len(l.Items) != 4 || !found {
			t.Fatalf("list %+v", l)
		}
	})
	t.Run("insert, eject and insert a CD-ROM live (SATA, SCSI)", func(t *testing.T) {
		for _, step := range []struct{ target, iso, want string }{
			{"sda", "cd1.iso", "/cd1.iso"}, {"sda", "", ""}, {"sda", "cd2.iso", "/cd2.iso"},
			{"sdb", "cd1.iso", "/cd1.iso"}, {"sdb", "", ""}, {"sdb", "cd2.iso", "/cd2.iso"},
		} {
			var ch api.DiskChange
			var st int
			if step.iso == "" {
				st = admin.call("DELETE", base+"/"+step.target+"/media", nil, &ch)
			} else {
				st = admin.call("PUT", base+"/"+step.target+"/media", api.DiskMedia{Pool: pool, Volume: step.iso}, &ch)
			}
			if st != 200 || ch.Applies != api.AppliesNow {
				t.Fatalf("%s %q: %d %+v", step.target, step.iso, st, ch)
			}
			live, saved := srcFile(domDisk(t, conn, name, step.target, false)), srcFile(domDisk(t, conn, name, step.target, true))
			if !strings.HasSuffix(live, step.want) || !strings.HasSuffix(saved, step.want) || (step.want == "") != (live == "") {
				t.Fatalf("%q: live %q saved %q", step.iso, live, saved)
			}
		}
	})
	t.Run("a SCSI CD-ROM drive hot-plugged with an ISO in it", func(t *testing.T) {
		// An empty drive cannot be hot-plugged (libvirt): said before anything changes.
		admin.refused("POST", base, api.DiskAttach{Device: "cdrom", Bus: "scsi"}, 409, "cdrom_empty_hotplug")
		var ch api.DiskChange
		if st := admin.call("POST", base, api.DiskAttach{Device: "cdrom", Bus: "scsi", Pool: pool, Volume: "cd1.iso"}, &ch); st != 200 || ch.Applies != api.AppliesNow || ch.Disk.Target != "sdc" {
			t.Fatalf("add: %d %+v", st, ch)
		}
		if live := srcFile(domDisk(t, conn, name, "sdc", false)); !strings.HasSuffix(live, "/cd1.iso") {
			t.Fatalf("live source %q", live)
		}
	})
	t.Run("IDE is refused on the running guest", func(t *testing.T) {
		admin.refused("POST", base, api.DiskAttach{Device: "cdrom", Bus: "ide"}, 409, "disk_bus_not_hotpluggable")
		admin.refused("POST", base, api.DiskAttach{Pool: pool, Volume: "cd1.iso", Bus: "sata", ReadOnly: true}, 409, "disk_bus_not_hotpluggable")
		if domDisk(t, conn, name, "hda", true) != nil || domDisk(t, conn, name, "sdd", true) != nil {
			t.Fatal("a refused drive was saved")
		}
	})
	t.Run("host paths: refused to a manager, and to an admin outside the roots", func(t *testing.T) {
		setRole(t, admin, name, api.RoleManager)
		mgr := srv.loginAs(t, plainUser)
		mgr.refused("POST", base, api.DiskAttach{Path: inRoot}, 403, "host_path_forbidden")
		admin.refused("POST", base, api.DiskAttach{Path: "/etc/passwd"}, 422, "host_path_outside_roots")
		admin.refused("POST", base, api.DiskAttach{Path: roots + "/../../../../etc/passwd"}, 422, "host_path_invalid")
		var audit api.AuditList
		admin.call("GET", "/api/v1/audit?action=vm.disk.attach&target=vm:"+name, nil, &audit)
		n := 0
		for _, ev := range audit.Items {
			if strings.HasPrefix(ev.Result, "error:host_path_") {
				n++
			}
		}
		if n != 3 {
			t.Fatalf("audited host path refusals: %d of %+v", n, audit.Items)
		}
	})
	t.Run("detach the hot-plugged disk live: gone from the saved XML, pending in the OS-less guest", func(t *testing.T) {
		// Deleting the volume too: the disk leaves the saved configuration,
		// the guest still holds it, so the volume is kept and the answer says why.
		admin.refused("DELETE", base+"/vdb?delete_volume=true", nil, 409, "disk_detach_pending", "extra.qcow2")
		if domDisk(t, conn, name, "vdb", true) != nil {
			t.Fatal("vdb still saved")
		}
		// Asked again without deleting: the live request is repeated.
		var ch api.DiskChange
		if st := admin.call("DELETE", base+"/vdb", nil, &ch); st != 200 || ch.Applies != api.AppliesNow {
			t.Fatalf("detach: %d %+v", st, ch)
		}
		if domDisk(t, conn, name, "vdb", true) != nil {
			t.Fatal("vdb still saved")
		}
		// SeaBIOS alone never answers the ACPI unplug request.
		if live := domDisk(t, conn, name, "vdb", false); (live != nil) != ch.Pending {
			t.Fatalf("pending %v, live %+v", ch.Pending, live)
		}
	})
	t.Run("shut off: four IDE devices, not a fifth; detach and delete", func(t *testing.T) {
		if st := admin.call("POST", "/api/v1/vms/"+name+"/poweroff", nil, nil); st != 200 {
			t.Fatalf("poweroff: %d", st)
		}
		for _, want := range []string{"hda", "hdb", "hdc", "hdd"} {
			var ch api.DiskChange
			if st := admin.call("POST", base, api.DiskAttach{Device: "cdrom", Bus: "ide"}, &ch); st != 200 || ch.Disk.Target != want {
				t.Fatalf("IDE %s: %d %+v", want, st, ch)
			}
		}
		admin.refused("POST", base, api.DiskAttach{Device: "cdrom", Bus: "ide"}, 409, "disk_ide_full")
		var ch api.DiskChange
		if st := admin.call("POST", base, api.DiskAttach{Pool: pool, Volume: "extra.qcow2"}, &ch); st != 200 || ch.Disk.Target != "vdb" {
			t.Fatalf("attach: %d %+v", st, ch)
		}
		if st := admin.call("DELETE", base+"/vdb?delete_volume=true", nil, &ch); st != 200 || !ch.VolumeDeleted {
			t.Fatalf("detach: %d %+v", st, ch)
		}
		if domDisk(t, conn, name, "vdb", true) != nil {
			t.Fatal("vdb still saved")
		}
		p, err := conn.LookupStoragePoolByName(pool)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Free()
		if v, err := p.LookupStorageVolByName("extra.qcow2"); err == nil {
			v.Free()
			t.Fatal("extra.qcow2 still exists")
		}
	})
}
