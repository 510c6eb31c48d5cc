package virt

import (
	"context"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// savedDisk is the disk of target in the guest's saved definition,
// marshalled: what the golden files hold.
func savedDisk(t *testing.T, m *Manager, name, target string) string {
	t.Helper()
	c := conn(t, m)
	dom, err := c.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		t.Fatal(err)
	}
	disk := findDisk(&d, target)
	if disk == nil {
		return ""
	}
	disk.Address, disk.Alias = nil, nil
	out, err := disk.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return out + "\n"
}

func TestDiskEditsGolden(t *testing.T) {
	// A fixed images folder (the test driver never touches it) keeps the
	// golden paths stable.
	m := startFixture(t, FixtureOptions{ImagesDir: "/srv/vp-images"})
	ctx := context.Background()
	const off = "web06" // shut off, virtio defaults, sata CD-ROMs

	t.Run("attach an existing volume with the guest's default bus", func(t *testing.T) {
		ch, err := m.AttachDisk(ctx, off, DiskSpec{Pool: FixturePoolDefault, Volume: "spare-data.qcow2"})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Disk.Target != "vdb" || ch.Disk.Bus != "virtio" || ch.Applies != api.AppliesNow || ch.Disk.Volume != "spare-data.qcow2" || ch.Disk.Pool != FixturePoolDefault {
			t.Fatalf("change %+v", ch)
		}
		golden(t, "disk-attach-volume.xml", savedDisk(t, m, off, "vdb"))
		if users := m.diskUsers()[ch.Disk.Path]; len(users) != 1 || users[0] != off {
			t.Fatalf("index users %v", users)
		}
	})
	t.Run("a writable volume of another guest is refused, naming it", func(t *testing.T) {
		_, err := m.AttachDisk(ctx, "backup", DiskSpec{Pool: FixturePoolDefault, Volume: "spare-data.qcow2"})
		f := wantCode(t, err, CodeVolumeInUse)
		if !strings.Contains(f.Message, off) {
			t.Fatalf("message %q does not name %s", f.Message, off)
		}
	})
	t.Run("an empty CD-ROM drive on the default bus, then media in and out", func(t *testing.T) {
		ch, err := m.AttachDisk(ctx, off, DiskSpec{Device: api.DeviceCDROM})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Disk.Target != "sda" || ch.Disk.Bus != "sata" || !ch.Disk.Empty {
			t.Fatalf("change %+v", ch)
		}
		golden(t, "disk-attach-cdrom.xml", savedDisk(t, m, off, "sda"))
		ch, err = m.ChangeMedia(ctx, off, "sda", FixturePoolISOs, DemoDebianISO)
		if err != nil {
			t.Fatal(err)
		}
		if ch.Disk.Volume != DemoDebianISO || ch.Disk.Empty {
			t.Fatalf("insert %+v", ch)
		}
		golden(t, "disk-media-insert.xml", savedDisk(t, m, off, "sda"))
		if _, err := m.ChangeMedia(ctx, off, "sda", "", ""); err != nil {
			t.Fatal(err)
		}
		golden(t, "disk-media-eject.xml", savedDisk(t, m, off, "sda"))
		wantCode(t, m.changeMediaErr(ctx, off, "vda"), CodeDiskNotCDROM)
		wantCode(t, m.changeMediaErr(ctx, off, "sdz"), CodeDiskNotFound)
	})
	t.Run("IDE: four at most", func(t *testing.T) {
		for i, want := range []string{"hda", "hdb", "hdc", "hdd"} {
			ch, err := m.AttachDisk(ctx, off, DiskSpec{Device: api.DeviceCDROM, Bus: "ide"})
			if err != nil {
				t.Fatal(i, err)
			}
			if ch.Disk.Target != want {
				t.Fatalf("target %s, want %s", ch.Disk.Target, want)
			}
		}
		golden(t, "disk-attach-ide.xml", savedDisk(t, m, off, "hdd"))
		_, err := m.AttachDisk(ctx, off, DiskSpec{Device: api.DeviceCDROM, Bus: "ide"})
		wantCode(t, err, CodeDiskIDEFull)
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			guest string
			spec  DiskSpec
			code  fault.Code
		}{
			{"web01", DiskSpec{Bus: "ide", Pool: FixturePoolDefault, Volume: "scratch.img"}, CodeDiskBusNotHotplug},
			{"web01", DiskSpec{Device: api.DeviceCDROM, Bus: "sata"}, CodeDiskBusNotHotplug},
			{"web01", DiskSpec{Device: api.DeviceCDROM, Bus: "scsi"}, CodeCDROMEmptyHotplug},
			{off, DiskSpec{Bus: "floppy"}, CodeInvalidDiskBus},
			{off, DiskSpec{Device: api.DeviceCDROM, Bus: "virtio"}, CodeInvalidDiskBus},
			{off, DiskSpec{Device: "lun"}, CodeInvalidDiskDevice},
			{off, DiskSpec{Target: "vda", Pool: FixturePoolDefault, Volume: "scratch.img"}, CodeDiskTargetInUse},
			{off, DiskSpec{Target: "sdb", Bus: "virtio"}, CodeInvalidDiskTarget},
			{off, DiskSpec{Target: "../x", Bus: "virtio"}, CodeInvalidDiskTarget},
			{off, DiskSpec{Pool: FixturePoolDefault, Volume: "nope.qcow2"}, CodeVolumeNotFound},
			{off, DiskSpec{Pool: FixturePoolDefault, Volume: off + ".qcow2"}, CodeDiskAlreadyAttached},
		} {
			before := savedDefinition(t, m, tc.guest)
			_, err := m.AttachDisk(ctx, tc.guest, tc.spec)
			wantCode(t, err, tc.code)
			if after := savedDefinition(t, m, tc.guest); after != before {
				t.Fatalf("%+v changed the guest", tc.spec)
			}
		}
	})
	t.Run("a running guest on the test driver: saved for the next boot", func(t *testing.T) {
		ch, err := m.AttachDisk(ctx, "web01", DiskSpec{Pool: FixturePoolDefault, Volume: "scratch.img"})
		if err != nil {
			t.Fatal(err)
		}
		if ch.Applies != api.AppliesNextBoot || ch.Disk.Live {
			t.Fatalf("change %+v", ch)
		}
		l, err := m.GuestDisks(ctx, "web01")
		if err != nil {
			t.Fatal(err)
		}
		if !l.Running || l.LiveChanges || len(l.Items) != 2 || l.Items[1].Live || l.Items[1].Target != "vdb" || l.Items[1].Format != "raw" {
			t.Fatalf("list %+v", l)
		}
	})
	t.Run("detach, deleting the volume", func(t *testing.T) {
		if _, err := m.DetachDisk(ctx, off, "vdb", false); err != nil {
			t.Fatal(err)
		}
		if got := savedDisk(t, m, off, "vdb"); got != "" {
			t.Fatalf("still there: %s", got)
		}
		wantCode(t, detachErr(m.DetachDisk(ctx, off, "vdb", false)), CodeDiskNotFound)
		ch, err := m.DetachDisk(ctx, off, "hdd", true) // an empty drive: nothing to delete
		if err != nil || ch.VolumeDeleted {
			t.Fatal(ch, err)
		}
		// scratch.img is also a disk of win10-legacy: read-only on backup,
		// and deleting it with backup's detach is refused.
		if _, err := m.DetachDisk(ctx, "web01", "vdb", false); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AttachDisk(ctx, "win10-legacy", DiskSpec{Pool: FixturePoolDefault, Volume: "scratch.img"}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.AttachDisk(ctx, "backup", DiskSpec{Pool: FixturePoolDefault, Volume: "scratch.img", ReadOnly: true}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, detachErr(m.DetachDisk(ctx, "backup", "vdb", true)), CodeVolumeInUse)
		if _, err := m.DetachDisk(ctx, "win10-legacy", "vdb", false); err != nil {
			t.Fatal(err)
		}
		ch, err = m.DetachDisk(ctx, "backup", "vdb", true)
		if err != nil || !ch.VolumeDeleted {
			t.Fatal(ch, err)
		}
		wantCode(t, func() error { _, err := m.Volume(ctx, FixturePoolDefault, "scratch.img"); return err }(), CodeVolumeNotFound)
	})
}

func (m *Manager) changeMediaErr(ctx context.Context, name, target string) error {
	_, err := m.ChangeMedia(ctx, name, target, "", "")
	return err
}

func detachErr(_ api.DiskChange, err error) error { return err }

func savedDefinition(t *testing.T, m *Manager, name string) string {
	t.Helper()
	c := conn(t, m)
	dom, err := c.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}
