//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// nsName is a KVM object name of this suite's NIC and snapshot tests.
func nsName(what string) string { return "vpe3-" + what + "-" + randomHex()[:6] }

// nsGuest defines a SeaBIOS serial guest on a new qcow2 volume (pool and
// folder of its own) with one NIC on network, started when run; its
// snapshots, the guest, the pool and the folder go in t.Cleanup.
func nsGuest(t *testing.T, conn *libvirt.Connect, network string, run bool) string {
	t.Helper()
	name := nsName("g")
	dir := filepath.Join("/var/lib/libvirt/images", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pool, _ := voPoolIn(t, conn, name+"-pool", dir)
	clVolume(t, conn, pool, "disk.qcow2", 16)
	dom := tinyDomain(name)
	dom.Features = &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}} // PCI hot-plug needs ACPI
	dom.Devices.Disks = []libvirtxml.DomainDisk{{
		Device: "disk", Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
		Source: &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: pool, Volume: "disk.qcow2"}},
		Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
	}}
	dom.Devices.Interfaces = []libvirtxml.DomainInterface{{
		Source: &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: network}},
		Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
	}}
	doc, err := dom.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := conn.DomainDefineXML(doc)
	if err != nil {
		t.Fatal("define guest:", err)
	}
	t.Cleanup(func() {
		if d, err := conn.LookupDomainByName(name); err == nil {
			_ = d.Destroy()
			_ = d.UndefineFlags(libvirt.DOMAIN_UNDEFINE_SNAPSHOTS_METADATA | libvirt.DOMAIN_UNDEFINE_MANAGED_SAVE)
			_ = d.Free()
		}
	})
	if run {
		if err := d.Create(); err != nil {
			t.Fatal("start guest:", err)
		}
	}
	_ = d.Free()
	return name
}

// nsNetwork starts a transient isolated network, destroyed in t.Cleanup.
func nsNetwork(t *testing.T, conn *libvirt.Connect) string {
	t.Helper()
	name := nsName("net")
	doc, err := (&libvirtxml.Network{Name: name}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	n, err := conn.NetworkCreateXML(doc)
	if err != nil {
		t.Fatal("network:", err)
	}
	t.Cleanup(func() { _ = n.Destroy(); _ = n.Free() })
	return name
}

// liveNIC returns the live definition's interface with mac, if any.
func liveNIC(t *testing.T, conn *libvirt.Connect, guest, mac string, flags libvirt.DomainXMLFlags) *libvirtxml.DomainInterface {
	t.Helper()
	d, err := conn.LookupDomainByName(guest)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	doc, err := d.GetXMLDesc(flags)
	if err != nil {
		t.Fatal(err)
	}
	var x libvirtxml.Domain
	if err := x.Unmarshal(doc); err != nil {
		t.Fatal(err)
	}
	for _, i := range x.Devices.Interfaces {
		if i.MAC != nil && strings.EqualFold(i.MAC.Address, mac) {
			return &i
		}
	}
	return nil
}

// A NIC hot-plugged into a running TCG guest is in the live and the saved
// definitions; its link goes down live; it is removed from both.
func TestGuestNICsOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	net := nsNetwork(t, conn)
	guest := nsGuest(t, conn, net, true)
	admin := startServer(t, uri).login(t)
	base := "/api/v1/vms/" + guest + "/nics"

	var l api.NICList
	if st := admin.call("GET", base, nil, &l); st != 200 || !l.Running || !l.Live || len(l.Items) != 1 {
		t.Fatalf("list: %d %+v", st, l)
	}
	other := l.Items[0].MAC
	admin.refused("POST", base, api.NICRequest{Source: net, MAC: other}, 409, "mac_in_use", guest)

	var ch api.NICChange
	if st := admin.call("POST", base, api.NICRequest{Source: net, Model: "e1000"}, &ch); st != 201 || ch.Applies != api.AppliesNow {
		t.Fatalf("add: %d %+v", st, ch)
	}
	mac := ch.NIC.MAC
	for _, flags := range []libvirt.DomainXMLFlags{0, libvirt.DOMAIN_XML_INACTIVE} {
		if i := liveNIC(t, conn, guest, mac, flags); i == nil || i.Model == nil || i.Model.Type != "e1000" {
			t.Fatalf("the NIC is not in the definition (flags %d): %+v", flags, i)
		}
	}
	if st := admin.call("PUT", base+"/"+mac, api.NICRequest{Link: "down"}, &ch); st != 200 || ch.Applies != api.AppliesNow {
		t.Fatalf("link down: %d %+v", st, ch)
	}
	if i := liveNIC(t, conn, guest, mac, 0); i == nil || i.Link == nil || i.Link.State != "down" {
		t.Fatalf("the live link is not down: %+v", i)
	}
	if i := liveNIC(t, conn, guest, mac, libvirt.DOMAIN_XML_INACTIVE); i == nil || i.Link == nil || i.Link.State != "down" {
		t.Fatalf("the saved link is not down: %+v", i)
	}
	// A new model cannot be plugged live: saved for the next boot.
	if st := admin.call("PUT", base+"/"+mac, api.NICRequest{Model: "rtl8139"}, &ch); st != 200 || ch.Applies != api.AppliesNextBoot {
		t.Fatalf("model: %d %+v", st, ch)
	}
	if i := liveNIC(t, conn, guest, mac, 0); i.Model.Type != "e1000" {
		t.Fatalf("the live model changed: %+v", i.Model)
	}
	if st := admin.call("DELETE", base+"/"+mac, nil, &ch); st != 200 {
		t.Fatalf("remove: %d", st)
	}
	if i := liveNIC(t, conn, guest, mac, libvirt.DOMAIN_XML_INACTIVE); i != nil {
		t.Fatal("the NIC is still in the saved definition")
	}
	// A guest without an OS never acknowledges the unplug: the answer
	// says next_boot then, and a power cycle indeed drops the NIC.
	if i := liveNIC(t, conn, guest, mac, 0); (i == nil) != (ch.Applies == api.AppliesNow) {
		t.Fatalf("live NIC %+v, answer %+v", i, ch)
	}
	if ch.Applies == api.AppliesNextBoot {
		d, err := conn.LookupDomainByName(guest)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Free()
		if err := d.Destroy(); err != nil {
			t.Fatal(err)
		}
		if err := d.Create(); err != nil {
			t.Fatal(err)
		}
		if i := liveNIC(t, conn, guest, mac, 0); i != nil {
			t.Fatal("the NIC came back after a power cycle")
		}
	}
}

// Snapshots on KVM: a running guest's snapshot keeps its memory; revert
// brings the running guest back; delete re-parents; host devices: the
// IOMMU is off here, and PCI passthrough is refused saying so.
func TestGuestSnapshotsOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	net := nsNetwork(t, conn)
	guest := nsGuest(t, conn, net, true)
	admin := startServer(t, uri).login(t)
	base := "/api/v1/vms/" + guest + "/snapshots"

	var l api.SnapshotList
	if st := admin.call("GET", base, nil, &l); st != 200 || !l.Capabilities.Create || !l.Capabilities.MemoryRequired {
		t.Fatalf("list: %d %+v", st, l)
	}
	no := false
	admin.refused("POST", base, api.SnapshotRequest{Name: "s0", Memory: &no}, 409, "snapshot_memory_required")
	for _, n := range []string{"s1", "s2"} {
		var tk api.Task
		if st := admin.call("POST", base, api.SnapshotRequest{Name: n, Description: "taken by " + t.Name()}, &tk); st != 202 {
			t.Fatalf("create: %d", st)
		}
		if tk = admin.task(tk); tk.Status != "done" {
			t.Fatalf("snapshot task: %+v", tk)
		}
	}
	if st := admin.call("GET", base, nil, &l); st != 200 || len(l.Items) != 2 || !l.Items[0].Memory || l.Items[1].Parent != "s1" || l.Current != "s2" {
		t.Fatalf("list: %d %+v", st, l)
	}
	// Power off, then revert to s1: the guest runs again from its memory.
	d, err := conn.LookupDomainByName(guest)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	if err := d.Destroy(); err != nil {
		t.Fatal(err)
	}
	var vm api.VM
	if st := admin.call("POST", base+"/s1/revert", nil, &vm); st != 200 {
		t.Fatalf("revert: %d", st)
	}
	if s, _, err := d.GetState(); err != nil || s != libvirt.DOMAIN_RUNNING {
		t.Fatalf("after revert the guest is %v (%v)", s, err)
	}
	if st := admin.call("DELETE", base+"/s1", nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st := admin.call("GET", base, nil, &l); st != 200 || len(l.Items) != 1 || l.Items[0].Parent != "" {
		t.Fatalf("after delete: %d %+v", st, l)
	}
	if st := admin.call("DELETE", base+"/s2", nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}

	// A raw disk takes no internal snapshot and libvirt here cannot revert
	// an external one: refused up front, and the list says why.
	raw := nsName("raw")
	rawDom := tinyDomain(raw)
	rawDom.Devices.Disks = []libvirtxml.DomainDisk{{
		Device: "disk", Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
		Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: "/var/lib/libvirt/images/" + raw + ".img"}},
		Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
	}}
	rawXML, _ := rawDom.Marshal()
	rd, err := conn.DomainDefineXML(rawXML)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rd.Undefine(); _ = rd.Free() })
	eventually(t, "the portal sees "+raw, 10*time.Second, func() bool {
		return admin.call("GET", "/api/v1/vms/"+raw, nil, nil) == 200
	})
	if st := admin.call("GET", "/api/v1/vms/"+raw+"/snapshots", nil, &l); st != 200 || l.Capabilities.Create || l.Capabilities.Reason != "snapshot_disk_format_unsupported" {
		t.Fatalf("raw guest: %d %+v", st, l.Capabilities)
	}
	admin.refused("POST", "/api/v1/vms/"+raw+"/snapshots", api.SnapshotRequest{Name: "s1"}, 409, "snapshot_disk_format_unsupported", "vda", "raw")

	// Host devices: listed; PCI passthrough refused, naming the IOMMU.
	var hl api.HostDeviceList
	if st := admin.call("GET", "/api/v1/hosts/local/devices", nil, &hl); st != 200 || len(hl.Items) == 0 {
		t.Fatalf("devices: %d %+v", st, hl)
	}
	entries, _ := os.ReadDir("/sys/kernel/iommu_groups")
	if hl.IOMMU != (len(entries) > 0) {
		t.Fatalf("iommu %v but /sys/kernel/iommu_groups has %d entries", hl.IOMMU, len(entries))
	}
	if !hl.IOMMU {
		for _, dev := range hl.Items {
			if dev.Kind == "pci" {
				admin.refused("POST", "/api/v1/vms/"+guest+"/hostdevs", api.HostDevAttach{Device: dev.Name}, 409, "iommu_off", "IOMMU")
				break
			}
		}
	}
}
