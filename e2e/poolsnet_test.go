//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// pnName is a fresh name with this suite's prefix (pools and networks).
func pnName(what string) string { return "vpe2e-pn-" + what + "-" + randomHex()[:6] }

const pnPools = "/api/v1/hosts/local/pools"
const pnNets = "/api/v1/hosts/local/networks"

// raw sends a JSON request and returns the status and the body.
func (c *session) raw(method, path string, in any) (int, []byte) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(context.Background(), method, c.base+path, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-CSRF-Token", c.csrf)
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// refused expects status and code, and that the message names every one of names.
func (c *session) refused(method, path string, in any, status int, code string, names ...string) {
	c.t.Helper()
	st, b := c.raw(method, path, in)
	var e struct {
		Error struct{ Code, Message string }
	}
	_ = json.Unmarshal(b, &e)
	if st != status || e.Error.Code != code {
		c.t.Fatalf("%s %s: %d %s, want %d %s", method, path, st, b, status, code)
	}
	for _, n := range names {
		if !strings.Contains(e.Error.Message, n) {
			c.t.Fatalf("%s %s: the refusal does not name %s: %s", method, path, n, b)
		}
	}
}

// task waits for a task to end and returns it.
func (c *session) task(tk api.Task) api.Task {
	c.t.Helper()
	eventually(c.t, "task "+tk.Kind+" ends", 60*time.Second, func() bool {
		c.call("GET", "/api/v1/tasks/"+strconv.FormatInt(tk.ID, 10), nil, &tk)
		return tk.Finished != nil
	})
	return tk
}

// dropPool removes a pool by name through libvirt, whatever state it is in.
func dropPool(conn *libvirt.Connect, name string) {
	if p, err := conn.LookupStoragePoolByName(name); err == nil {
		_ = p.Destroy()
		_ = p.Undefine()
		_ = p.Free()
	}
}

// guestOn defines a shut-off guest whose disk is path (or, with network,
// whose NIC is on it), removed in t.Cleanup.
func guestOn(t *testing.T, conn *libvirt.Connect, diskPath, network string) string {
	t.Helper()
	name := pnName("g")
	dom := tinyDomain(name)
	if diskPath != "" {
		dom.Devices.Disks = []libvirtxml.DomainDisk{{
			Device: "disk", Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: diskPath}},
			Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
		}}
	}
	if network != "" {
		dom.Devices.Interfaces = []libvirtxml.DomainInterface{{
			Source: &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: network}},
			Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
		}}
	}
	doc, err := dom.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	d, err := conn.DomainDefineXML(doc)
	if err != nil {
		t.Fatal("define guest:", err)
	}
	_ = d.Free()
	t.Cleanup(func() { undefineGuest(conn, name) })
	return name
}

func undefineGuest(conn *libvirt.Connect, name string) {
	if d, err := conn.LookupDomainByName(name); err == nil {
		_ = d.Destroy()
		_ = d.Undefine()
		_ = d.Free()
	}
}

// A dir pool in a fresh folder, through the API: defined (its folder
// made), volumes created, resized and deleted, refreshed, stopped,
// deleted; deleting it while a guest's disk is in it is refused naming
// the guest; a definition whose start fails leaves no pool and no folder.
func TestDirPoolOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	c := startServer(t, uri).login(t)
	name := pnName("dir")
	dir := filepath.Join("/var/lib/libvirt/images", name)
	t.Cleanup(func() { dropPool(conn, name); os.RemoveAll(dir) })

	var p api.Pool
	if st := c.call("POST", pnPools, api.PoolRequest{Name: name, Type: "dir", Path: dir}, &p); st != 201 {
		t.Fatalf("define: %d", st)
	}
	if p.State != api.PoolRunning || p.Type != "dir" || p.Path != dir || p.Capacity == 0 {
		t.Fatalf("pool %+v", p)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("the build made no folder: %v", err)
	}
	vols := pnPools + "/" + name + "/volumes"
	var tk api.Task
	if st := c.call("POST", vols, api.VolumeRequest{Name: "a.qcow2", Capacity: 16 << 20}, &tk); st != 202 {
		t.Fatalf("create volume: %d", st)
	}
	if tk = c.task(tk); tk.Status != "done" {
		t.Fatalf("create task %+v", tk)
	}
	var v api.Volume
	if st := c.call("POST", vols+"/a.qcow2/resize", api.VolumeResize{Capacity: 32 << 20}, &v); st != 200 || v.Capacity != 32<<20 {
		t.Fatalf("resize: %d %+v", st, v)
	}
	out, err := exec.Command("qemu-img", "info", "--output=json", filepath.Join(dir, "a.qcow2")).Output()
	if err != nil || !strings.Contains(string(out), `"virtual-size": 33554432`) {
		t.Fatalf("qemu-img sees %s (%v)", out, err)
	}
	// A file copied in behind libvirt's back shows after a refresh.
	if err := os.WriteFile(filepath.Join(dir, "b.raw"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if st := c.call("POST", pnPools+"/"+name+"/refresh", nil, &p); st != 200 || p.Volumes != 2 {
		t.Fatalf("refresh: %d %+v", st, p)
	}

	// A guest's disk in the pool: deleting the pool is refused naming it.
	guest := guestOn(t, conn, filepath.Join(dir, "a.qcow2"), "")
	if st := c.call("POST", pnPools+"/"+name+"/stop", nil, &p); st != 200 || p.State != api.PoolInactive {
		t.Fatalf("stop: %d %+v", st, p)
	}
	eventually(t, "the guest is indexed", eventBudget, func() bool {
		st, _ := c.raw("GET", "/api/v1/vms/"+guest, nil)
		return st == 200
	})
	c.refused("DELETE", pnPools+"/"+name, nil, 409, "pool_in_use", guest)
	undefineGuest(conn, guest)
	if st := c.call("POST", pnPools+"/"+name+"/start", nil, &p); st != 200 || p.State != api.PoolRunning {
		t.Fatalf("start: %d %+v", st, p)
	}
	for _, vol := range []string{"a.qcow2", "b.raw"} {
		if st := c.call("DELETE", vols+"/"+vol, nil, nil); st != 204 {
			t.Fatalf("delete %s: %d", vol, st)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.qcow2")); !os.IsNotExist(err) {
		t.Fatalf("the volume's file is still there: %v", err)
	}
	c.refused("DELETE", pnPools+"/"+name, nil, 409, "pool_active")
	if st := c.call("POST", pnPools+"/"+name+"/stop", nil, nil); st != 200 {
		t.Fatalf("stop: %d", st)
	}
	if st := c.call("DELETE", pnPools+"/"+name, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if _, err := conn.LookupStoragePoolByName(name); err == nil {
		t.Fatal("the pool is still defined")
	}

	// A netfs pool whose mount fails: 409 with libvirt's reason, and
	// neither the pool nor the folder its build made is left.
	bad := pnName("nfs")
	badDir := filepath.Join("/var/lib/libvirt/images", bad)
	t.Cleanup(func() { dropPool(conn, bad); os.RemoveAll(badDir) })
	c.refused("POST", pnPools, api.PoolRequest{Name: bad, Type: "netfs", Path: badDir,
		Source: &api.PoolSource{Host: "127.0.0.1", Dir: "/" + bad}}, 409, "pool_setup_failed", bad)
	if _, err := conn.LookupStoragePoolByName(bad); err == nil {
		t.Fatal("a failed definition left its pool")
	}
	if _, err := os.Stat(badDir); !os.IsNotExist(err) {
		t.Fatalf("a failed definition left the folder its build made: %v", err)
	}
	// A folder that was there before stays.
	if err := os.MkdirAll(badDir, 0o755); err != nil {
		t.Fatal(err)
	}
	c.refused("POST", pnPools, api.PoolRequest{Name: bad, Type: "netfs", Path: badDir,
		Source: &api.PoolSource{Host: "127.0.0.1", Dir: "/" + bad}}, 409, "pool_setup_failed")
	if _, err := os.Stat(badDir); err != nil {
		t.Fatalf("a folder that existed before was removed: %v", err)
	}
}

// deviceMapper reports whether the kernel has device-mapper (LVM needs it
// for logical volumes; a volume group alone does without).
func deviceMapper() bool {
	b, err := os.ReadFile("/proc/misc")
	return err == nil && strings.Contains(string(b), "device-mapper")
}

// A logical pool built on a loop device through the API: the physical
// volume and volume group are made, the pool runs, volumes are created,
// resized and deleted (where the kernel has device-mapper; without it the
// creation fails cleanly and leaves no volume), refreshed, stopped,
// deleted; a second build on the same device is refused (it holds data).
func TestLogicalPoolOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	for _, tool := range []string{"losetup", "vgcreate", "pvremove"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s: %v (scripts/deps.sh libvirt installs lvm2)", tool, err)
		}
	}
	c := startServer(t, uri).login(t)
	name := pnName("lvm")
	img := filepath.Join(t.TempDir(), name+".img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 128<<20); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	loop := strings.TrimSpace(string(out))
	t.Logf("loop device %s", loop)
	t.Cleanup(func() {
		dropPool(conn, name)
		_ = exec.Command("vgremove", "-f", name).Run()
		_ = exec.Command("pvremove", "-ff", "-y", loop).Run()
		if err := exec.Command("losetup", "-d", loop).Run(); err != nil {
			t.Errorf("losetup -d %s: %v", loop, err)
		}
	})

	var p api.Pool
	if st := c.call("POST", pnPools, api.PoolRequest{Name: name, Type: "logical", Build: true,
		Source: &api.PoolSource{Devices: []string{loop}}}, &p); st != 201 {
		t.Fatalf("define: %d", st)
	}
	if p.State != api.PoolRunning || p.Type != "logical" || p.Path != "/dev/"+name || p.Capacity == 0 {
		t.Fatalf("pool %+v", p)
	}
	if out, err := exec.Command("vgs", "--noheadings", "-o", "vg_name,pv_count", name).CombinedOutput(); err != nil || !strings.Contains(string(out), name) {
		t.Fatalf("vgs: %s %v", out, err)
	}
	vols := pnPools + "/" + name + "/volumes"
	var tk api.Task
	if st := c.call("POST", vols, api.VolumeRequest{Name: "lv1", Capacity: 8 << 20, Format: "raw"}, &tk); st != 202 {
		t.Fatalf("create volume: %d", st)
	}
	tk = c.task(tk)
	if deviceMapper() {
		if tk.Status != "done" {
			t.Fatalf("create task %+v", tk)
		}
		var v api.Volume
		if st := c.call("POST", vols+"/lv1/resize", api.VolumeResize{Capacity: 16 << 20}, &v); st != 200 || v.Capacity < 16<<20 {
			t.Fatalf("resize: %d %+v", st, v)
		}
		if st := c.call("DELETE", vols+"/lv1", nil, nil); st != 204 {
			t.Fatalf("delete volume: %d", st)
		}
	} else {
		t.Logf("this kernel has no device-mapper: a logical volume cannot be made; the task ended %s (%s)", tk.Status, tk.Error)
		if tk.Status != "failed" {
			t.Fatalf("create task without device-mapper %+v", tk)
		}
	}
	var vl api.VolumeList
	if st := c.call("GET", vols, nil, &vl); st != 200 || len(vl.Items) != 0 {
		t.Fatalf("volumes left: %d %+v", st, vl.Items)
	}
	if st := c.call("POST", pnPools+"/"+name+"/refresh", nil, &p); st != 200 {
		t.Fatalf("refresh: %d", st)
	}
	if st := c.call("POST", pnPools+"/"+name+"/stop", nil, &p); st != 200 || p.State != api.PoolInactive {
		t.Fatalf("stop: %d %+v", st, p)
	}
	if st := c.call("DELETE", pnPools+"/"+name, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	// The device holds a volume group now: building on it again is
	// refused, and nothing is defined.
	again := pnName("lvm")
	t.Cleanup(func() { dropPool(conn, again) })
	c.refused("POST", pnPools, api.PoolRequest{Name: again, Type: "logical", Build: true,
		Source: &api.PoolSource{Devices: []string{loop}}}, 409, "pool_setup_failed")
	if _, err := conn.LookupStoragePoolByName(again); err == nil {
		t.Fatal("a refused build left its pool")
	}
	if out, err := exec.Command("vgs", "--noheadings", "-o", "vg_name", name).CombinedOutput(); err != nil || !strings.Contains(string(out), name) {
		t.Fatalf("the refused build touched the first volume group: %s %v", out, err)
	}
}

// dnsmasqOf returns the pid of the dnsmasq libvirt runs for network, or 0.
func dnsmasqOf(network string) int {
	for _, dir := range []string{"/run/libvirt/network", "/var/run/libvirt/network"} {
		b, err := os.ReadFile(filepath.Join(dir, network+".pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err == nil && strings.Contains(string(cmd), "dnsmasq") && strings.Contains(string(cmd), network+".conf") {
			return pid
		}
	}
	return 0
}

// A NAT network through the API: defined and started with a free subnet
// (dnsmasq runs for its bridge), DHCP leases answer, stopping it while a
// guest runs on it and deleting it while a guest is defined on it are
// refused naming the guest, then stopped (dnsmasq gone) and deleted.
func TestNATNetworkOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	c := startServer(t, uri).login(t)
	name := pnName("nat")
	t.Cleanup(func() {
		if n, err := conn.LookupNetworkByName(name); err == nil {
			_ = n.Destroy()
			_ = n.Undefine()
			_ = n.Free()
		}
		// libvirt leaves dnsmasq's pid file and the ports folder behind.
		for _, dir := range []string{"/run/libvirt/network", "/var/run/libvirt/network"} {
			_ = os.Remove(filepath.Join(dir, name+".pid"))
			_ = os.RemoveAll(filepath.Join(dir, name))
		}
	})
	var n api.Network
	if st := c.call("POST", pnNets, api.NetworkRequest{Name: name, Kind: api.NetNAT, DHCP: true}, &n); st != 201 {
		t.Fatalf("create: %d", st)
	}
	if n.State != api.NetActive || n.Kind != api.NetNAT || n.Subnet == "" || n.Bridge == "" || n.DHCPStart == "" {
		t.Fatalf("network %+v", n)
	}
	pid := dnsmasqOf(name)
	if pid == 0 {
		t.Fatalf("no dnsmasq runs for %s", name)
	}
	conf, err := os.ReadFile("/var/lib/libvirt/dnsmasq/" + name + ".conf")
	if err != nil || !strings.Contains(string(conf), "interface="+n.Bridge) {
		t.Fatalf("dnsmasq's configuration does not serve %s: %s %v", n.Bridge, conf, err)
	}
	var leases api.LeaseList
	if st := c.call("GET", pnNets+"/"+name+"/leases", nil, &leases); st != 200 || leases.Items == nil {
		t.Fatalf("leases: %d %+v", st, leases)
	}

	guest := guestOn(t, conn, "", name)
	d, err := conn.LookupDomainByName(guest)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	if err := d.Create(); err != nil {
		t.Fatal("start guest:", err)
	}
	eventually(t, "the running guest is indexed", 5*time.Second, func() bool {
		var vm api.VM
		return c.call("GET", "/api/v1/vms/"+guest, nil, &vm) == 200 && vm.State == api.StateRunning
	})
	c.refused("POST", pnNets+"/"+name+"/stop", nil, 409, "network_in_use", guest)
	c.refused("DELETE", pnNets+"/"+name, nil, 409, "network_in_use", guest)
	if err := d.Destroy(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stopped guest is indexed", 5*time.Second, func() bool {
		var vm api.VM
		return c.call("GET", "/api/v1/vms/"+guest, nil, &vm) == 200 && vm.State == api.StateShutoff
	})
	c.refused("DELETE", pnNets+"/"+name, nil, 409, "network_in_use", guest)
	if st := c.call("POST", pnNets+"/"+name+"/stop", nil, &n); st != 200 || n.State != api.NetInactive {
		t.Fatalf("stop: %d %+v", st, n)
	}
	eventually(t, "dnsmasq ends", 5*time.Second, func() bool { return syscall.Kill(pid, 0) != nil })
	undefineGuest(conn, guest)
	eventually(t, "the guest leaves the index", 5*time.Second, func() bool {
		st, _ := c.raw("GET", "/api/v1/vms/"+guest, nil)
		return st == 404
	})
	if st := c.call("DELETE", pnNets+"/"+name, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if _, err := conn.LookupNetworkByName(name); err == nil {
		t.Fatal("the network is still defined")
	}
}

// A pool and a network changed with libvirt behind the portal's back (a
// second connection, as virsh) reach the admin's event stream.
func TestPoolNetworkEventsOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	c := startServer(t, uri).login(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	hc := &http.Client{Jar: c.hc.Jar}
	res, err := hc.Do(req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("events: %v %v", res, err)
	}
	defer res.Body.Close()
	got := make(chan [2]string, 64)
	go func() {
		sc := bufio.NewScanner(res.Body)
		var ev string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				got <- [2]string{ev, strings.TrimPrefix(line, "data: ")}
			}
		}
		close(got)
	}()
	await := func(kind, name, typ string) {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case e, ok := <-got:
				if !ok {
					t.Fatal("the stream ended")
				}
				var r api.ResourceEvent
				if e[0] == kind && json.Unmarshal([]byte(e[1]), &r) == nil && r.Name == name && r.Type == typ {
					return
				}
			case <-deadline:
				t.Fatalf("no %s event %s for %s", kind, typ, name)
			}
		}
	}
	pool := pnName("evp")
	dir := filepath.Join("/var/lib/libvirt/images", pool)
	t.Cleanup(func() { dropPool(conn, pool); os.RemoveAll(dir) })
	doc, _ := (&libvirtxml.StoragePool{Type: "dir", Name: pool, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	p, err := conn.StoragePoolDefineXML(doc, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	await("pool", pool, "defined")
	if err := p.Build(0); err != nil {
		t.Fatal(err)
	}
	if err := p.Create(0); err != nil {
		t.Fatal(err)
	}
	await("pool", pool, "started")
	_ = p.Destroy()
	await("pool", pool, "stopped")
	_ = p.Undefine()
	await("pool", pool, "undefined")

	net := pnName("evn")
	t.Cleanup(func() {
		if n, err := conn.LookupNetworkByName(net); err == nil {
			_ = n.Destroy()
			_ = n.Undefine()
			_ = n.Free()
		}
	})
	ndoc, _ := (&libvirtxml.Network{Name: net}).Marshal()
	n, err := conn.NetworkDefineXML(ndoc)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Free()
	await("network", net, "defined")
	if err := n.Create(); err != nil {
		t.Fatal(err)
	}
	await("network", net, "started")
	_ = n.Destroy()
	await("network", net, "stopped")
	_ = n.Undefine()
	await("network", net, "undefined")
}

// loopDevice attaches a sparse file of size bytes to a free loop device,
// detached (and the file removed) in t.Cleanup after the cleanups
// registered later.
func loopDevice(t *testing.T, size int64) string {
	t.Helper()
	img := filepath.Join(t.TempDir(), "vpe2e-pn-"+randomHex()[:6]+".img")
	if err := os.WriteFile(img, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Fatalf("losetup: %v", err)
	}
	loop := strings.TrimSpace(string(out))
	t.Cleanup(func() {
		if err := exec.Command("losetup", "-d", loop).Run(); err != nil {
			t.Errorf("losetup -d %s: %v", loop, err)
		}
	})
	return loop
}

// An fs pool built on a loop device: "build" makes the ext4 file system
// and the mount point, start mounts it, a volume is created in it, stop
// unmounts it; building again on the formatted device is refused and its
// data stays; a definition that fails leaves no pool and no mount point.
func TestFSPoolOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	if _, err := exec.LookPath("mkfs.ext4"); err != nil {
		t.Fatalf("mkfs.ext4: %v", err)
	}
	c := startServer(t, uri).login(t)
	loop := loopDevice(t, 64<<20)
	name := pnName("fs")
	dir := filepath.Join("/var/lib/libvirt/images", name)
	t.Cleanup(func() {
		dropPool(conn, name)
		_ = exec.Command("umount", dir).Run()
		os.RemoveAll(dir)
	})
	var p api.Pool
	if st := c.call("POST", pnPools, api.PoolRequest{Name: name, Type: "fs", Path: dir, Build: true,
		Source: &api.PoolSource{Devices: []string{loop}, Format: "ext4"}}, &p); st != 201 {
		t.Fatalf("define: %d", st)
	}
	if p.State != api.PoolRunning || p.Type != "fs" || p.Capacity == 0 {
		t.Fatalf("pool %+v", p)
	}
	mounts, _ := os.ReadFile("/proc/mounts")
	if !strings.Contains(string(mounts), loop+" "+dir+" ext4") {
		t.Fatalf("%s is not mounted on %s:\n%s", loop, dir, mounts)
	}
	var tk api.Task
	if st := c.call("POST", pnPools+"/"+name+"/volumes", api.VolumeRequest{Name: "keep.qcow2", Capacity: 8 << 20}, &tk); st != 202 {
		t.Fatalf("create volume: %d", st)
	}
	if tk = c.task(tk); tk.Status != "done" {
		t.Fatalf("create task %+v", tk)
	}
	if st := c.call("POST", pnPools+"/"+name+"/stop", nil, &p); st != 200 || p.State != api.PoolInactive {
		t.Fatalf("stop: %d %+v", st, p)
	}
	if mounts, _ := os.ReadFile("/proc/mounts"); strings.Contains(string(mounts), " "+dir+" ") {
		t.Fatal("stopping did not unmount the pool")
	}
	if st := c.call("DELETE", pnPools+"/"+name, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}

	// Building again on the formatted device is refused; the volume stays.
	again := pnName("fs")
	againDir := filepath.Join("/var/lib/libvirt/images", again)
	t.Cleanup(func() {
		dropPool(conn, again)
		_ = exec.Command("umount", againDir).Run()
		os.RemoveAll(againDir)
	})
	c.refused("POST", pnPools, api.PoolRequest{Name: again, Type: "fs", Path: againDir, Build: true,
		Source: &api.PoolSource{Devices: []string{loop}, Format: "ext4"}}, 409, "pool_setup_failed")
	if _, err := conn.LookupStoragePoolByName(again); err == nil {
		t.Fatal("a refused build left its pool")
	}
	if _, err := os.Stat(againDir); !os.IsNotExist(err) {
		t.Fatalf("a refused build left its mount point: %v", err)
	}
	// Without build, the existing file system is used as it is.
	if st := c.call("POST", pnPools, api.PoolRequest{Name: again, Type: "fs", Path: againDir,
		Source: &api.PoolSource{Devices: []string{loop}, Format: "ext4"}}, &p); st != 201 {
		t.Fatalf("define over the existing file system: %d", st)
	}
	var vl api.VolumeList
	if st := c.call("GET", pnPools+"/"+again+"/volumes", nil, &vl); st != 200 || len(vl.Items) == 0 ||
		!slices.ContainsFunc(vl.Items, func(v api.Volume) bool { return v.Name == "keep.qcow2" }) {
		t.Fatalf("the volume made before is gone: %d %+v", st, vl.Items)
	}
	if st := c.call("POST", pnPools+"/"+again+"/stop", nil, nil); st != 200 {
		t.Fatalf("stop: %d", st)
	}
	if st := c.call("DELETE", pnPools+"/"+again, nil, nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
}
