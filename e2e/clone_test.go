//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// clName is a KVM object name of this suite's guest clones.
func clName(suffix string) string { return "vpe2e-cl-" + randomHex()[:8] + "-" + suffix }

// clPool starts a transient dir pool name in a fresh folder under
// /var/lib/libvirt/images (qemu's user must reach the disks), on a tmpfs
// of smallMiB when it is not 0; all of it goes in t.Cleanup.
func clPool(t *testing.T, conn *libvirt.Connect, name string, smallMiB int) string {
	t.Helper()
	dir := filepath.Join("/var/lib/libvirt/images", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if smallMiB > 0 {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm,mode=0755", smallMiB), name, dir).CombinedOutput(); err != nil {
			t.Fatalf("mount a small tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	}
	voPoolIn(t, conn, name, dir)
	return dir
}

// clNetwork starts a transient isolated network without addresses,
// destroyed in t.Cleanup.
func clNetwork(t *testing.T, conn *libvirt.Connect) string {
	t.Helper()
	name := clName("net")
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

// clGuest defines a shut-off SeaBIOS serial guest with a NIC on network
// and one disk per volume ("pool/volume", vda, vdb…); it and any clone
// of it (named name-*) are removed in t.Cleanup.
func clGuest(t *testing.T, conn *libvirt.Connect, network string, vols ...string) string {
	t.Helper()
	name := clName("g")
	dom := tinyDomain(name)
	for i, v := range vols {
		pool, vol, _ := strings.Cut(v, "/")
		format := "qcow2"
		if strings.HasSuffix(vol, ".raw") {
			format = "raw"
		}
		dom.Devices.Disks = append(dom.Devices.Disks, libvirtxml.DomainDisk{
			Device: "disk", Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: format},
			Source: &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: pool, Volume: vol}},
			Target: &libvirtxml.DomainDiskTarget{Dev: "vd" + string(rune('a'+i)), Bus: "virtio"},
		})
	}
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
	_ = d.Free()
	t.Cleanup(func() {
		doms, _ := conn.ListAllDomains(0)
		for _, d := range doms {
			if n, _ := d.GetName(); n == name || strings.HasPrefix(n, name+"-") {
				_ = d.Destroy()
				_ = d.Undefine()
			}
			_ = d.Free()
		}
	})
	return name
}

// clVolume makes a qcow2 volume of capMiB in pool.
func clVolume(t *testing.T, conn *libvirt.Connect, pool, name string, capMiB uint64) {
	t.Helper()
	p, err := conn.LookupStoragePoolByName(pool)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	doc, _ := (&libvirtxml.StorageVolume{Name: name, Capacity: &libvirtxml.StorageVolumeSize{Value: capMiB, Unit: "MiB"},
		Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}}}).Marshal()
	v, err := p.StorageVolCreateXML(doc, 0)
	if err != nil {
		t.Fatal("volume:", err)
	}
	_ = v.Free()
}

func dirNames(t *testing.T, dirs ...string) []string {
	t.Helper()
	var out []string
	for _, d := range dirs {
		es, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			out = append(out, filepath.Join(d, e.Name()))
		}
	}
	slices.Sort(out)
	return out
}

// A two-disk shut-off guest whose second disk's pool is too small for its
// copy: the dry run names the default pool as its fallback, the clone
// copies both disks there, and both guests start with different disks
// and MACs. Then a pool too small for everything: 409, nothing made.
func TestGuestCloneOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	big, small := clName("big"), clName("small")
	bigDir := clPool(t, conn, big, 0)
	smallDir := clPool(t, conn, small, 8)
	clVolume(t, conn, big, "sys.qcow2", 16)
	writeVolume(t, conn, small, smallDir, "data.raw", 6<<20) // 6 MiB used of 8: its copy cannot fit there
	guest := clGuest(t, conn, clNetwork(t, conn), big+"/sys.qcow2", small+"/data.raw")

	srv := startVolServer(t, uri, t.TempDir(), "--clone-default-pool", big)
	admin := srv.login(t)
	url := "/api/v1/vms/" + guest + "/clone"

	var plan api.ClonePlan
	if st := admin.call("POST", url, api.VMClone{DryRun: true}, &plan); st != 200 {
		t.Fatalf("dry run: %d", st)
	}
	if !plan.Fits || len(plan.Disks) != 2 || plan.Name != guest+"-clone" || plan.NICs != 1 {
		t.Fatalf("plan %+v", plan)
	}
	vda, vdb := plan.Disks[0], plan.Disks[1]
	if vda.DestPool != big || vda.Fallback || vda.Action != api.CloneCopy {
		t.Fatalf("vda %+v", vda)
	}
	if vdb.SourcePool != small || vdb.DestPool != big || !vdb.Fallback || !strings.Contains(vdb.Reason, small) || !strings.Contains(vdb.Reason, "free") {
		t.Fatalf("vdb %+v", vdb)
	}
	t.Logf("fallback: %s", vdb.Reason)

	tk := submit(t, admin, url, api.VMClone{})
	if tk = finished(t, admin, tk.ID, 2*time.Minute); tk.Status != "done" {
		t.Fatalf("clone task %+v %+v\n%s", tk, tk.Error, srv.logs)
	}
	var src, cl api.VMDetail
	admin.call("GET", "/api/v1/vms/"+guest, nil, &src)
	if st := admin.call("GET", "/api/v1/vms/"+plan.Name, nil, &cl); st != 200 {
		t.Fatalf("clone: %d", st)
	}
	if cl.UUID == src.UUID || len(cl.Devices.Disks) != 2 || len(cl.Devices.NICs) != 1 {
		t.Fatalf("clone %+v", cl)
	}
	for i, d := range cl.Devices.Disks {
		if d.Source == src.Devices.Disks[i].Source || !strings.HasPrefix(d.Source, bigDir+"/") {
			t.Errorf("disk %s of the clone: %s (source's %s)", d.Target, d.Source, src.Devices.Disks[i].Source)
		}
	}
	if cl.Devices.NICs[0].MAC == src.Devices.NICs[0].MAC || cl.Devices.NICs[0].MAC == "" {
		t.Errorf("MACs %s and %s", cl.Devices.NICs[0].MAC, src.Devices.NICs[0].MAC)
	}
	if _, err := os.Stat(filepath.Join(bigDir, vdb.DestVolume)); err != nil {
		t.Fatalf("vdb's copy: %v", err)
	}
	for _, g := range []string{guest, plan.Name} {
		if st := admin.call("POST", "/api/v1/vms/"+g+"/start", nil, nil); st != 200 {
			t.Fatalf("start %s: %d\n%s", g, st, srv.logs)
		}
	}
	for _, g := range []string{guest, plan.Name} {
		waitRunning(t, admin, g)
	}
	for _, g := range []string{guest, plan.Name} {
		admin.call("POST", "/api/v1/vms/"+g+"/poweroff", nil, nil)
	}

	// A linked clone: qcow2 overlays backed by the source's volumes, in
	// their own pools (an overlay is small); it starts.
	tk = submit(t, admin, url, api.VMClone{Name: guest + "-linked", Linked: true})
	if tk = finished(t, admin, tk.ID, time.Minute); tk.Status != "done" {
		t.Fatalf("linked clone task %+v %+v\n%s", tk, tk.Error, srv.logs)
	}
	for _, ov := range []string{filepath.Join(bigDir, guest+"-linked-vda.qcow2"), filepath.Join(smallDir, guest+"-linked-vdb.raw")} {
		out, err := exec.Command("qemu-img", "info", "-U", ov).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "file format: qcow2") || !strings.Contains(string(out), "backing file:") {
			t.Fatalf("overlay %s: %v\n%s", ov, err, out)
		}
	}
	if st := admin.call("POST", "/api/v1/vms/"+guest+"-linked/start", nil, nil); st != 200 {
		t.Fatalf("start the linked clone: %d", st)
	}
	waitRunning(t, admin, guest+"-linked")
	admin.call("POST", "/api/v1/vms/"+guest+"-linked/poweroff", nil, nil)

	// Everything into the small pool: no place for either disk; 409 and
	// nothing made.
	before := dirNames(t, bigDir, smallDir)
	var names []string
	for _, v := range mustList(t, admin) {
		if strings.HasPrefix(v.Name, guest) { // other suites share the daemon
			names = append(names, v.Name)
		}
	}
	admin.refused("POST", url, api.VMClone{Pool: small}, 409, "clone_no_space")
	if got := dirNames(t, bigDir, smallDir); !slices.Equal(got, before) {
		t.Fatalf("a refused clone changed the pools: %v → %v", before, got)
	}
	var after []string
	for _, v := range mustList(t, admin) {
		if strings.HasPrefix(v.Name, guest) {
			after = append(after, v.Name)
		}
	}
	if !slices.Equal(after, names) {
		t.Fatalf("a refused clone changed the guests: %v → %v", names, after)
	}
}

func mustList(t *testing.T, c *session) []api.VM {
	t.Helper()
	var l api.VMList
	if st := c.call("GET", "/api/v1/vms", nil, &l); st != 200 {
		t.Fatalf("list: %d", st)
	}
	return l.Items
}

// SIGKILL of the server while libvirt copies a guest's disk: after the
// restart the task is failed (interrupted), no copy is left and no guest
// was defined.
func TestGuestCloneKilledOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	pool := clName("kill")
	dir := clPool(t, conn, pool, 0)
	// Large enough that the copy (from the page cache, on a quiet machine
	// well over 1 GB/s) lasts several of the task's 250 ms progress ticks:
	// with 768 MiB a fresh run saw the copy end before a tick.
	writeVolume(t, conn, pool, dir, "big.raw", 2<<30)
	guest := clGuest(t, conn, clNetwork(t, conn), pool+"/big.raw")
	data := t.TempDir()
	srv := startVolServer(t, uri, data)
	admin := srv.login(t)
	before := dirNames(t, dir)
	tk := submit(t, admin, "/api/v1/vms/"+guest+"/clone", api.VMClone{})
	var cur api.Task
	eventually(t, "the copy is under way", 30*time.Second, func() bool {
		cur = api.Task{}
		admin.call("GET", fmt.Sprintf("/api/v1/tasks/%d", tk.ID), nil, &cur)
		return cur.Status == "running" && cur.Progress > 0
	})
	if cur.Progress >= 99 || !strings.Contains(cur.Message, "MiB of 2048.0 MiB") {
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
	if after := dirNames(t, dir); !slices.Equal(after, before) {
		t.Fatalf("left behind: %v (before %v); log:\n%s", after, before, again.logs)
	}
	if d, err := conn.LookupDomainByName(guest + "-clone"); err == nil {
		_ = d.Free()
		t.Fatal("the clone was defined")
	}
}
