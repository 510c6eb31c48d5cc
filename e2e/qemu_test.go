//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// guestName is a fresh name with the prefix libvirtd.sh's stop destroys.
func guestName() string { return "vpe2e-" + randomHex() }

// tinyDomain is the smallest KVM guest the suites boot: 64 MiB, one vCPU,
// SeaBIOS printing to a pty serial port, VNC on 127.0.0.1 (autoport).
// Callers add disks or change the display.
func tinyDomain(name string) *libvirtxml.Domain {
	return &libvirtxml.Domain{
		Type: domainType(), Name: name,
		Memory: &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"},
		VCPU:   &libvirtxml.DomainVCPU{Value: 1},
		OS: &libvirtxml.DomainOS{
			Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"},
			BIOS: &libvirtxml.DomainBIOS{UseSerial: "yes"},
		},
		Devices: &libvirtxml.DomainDeviceList{
			Serials:  []libvirtxml.DomainSerial{{Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}}}},
			Graphics: []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{AutoPort: "yes", Listen: "127.0.0.1"}}},
		},
	}
}

// domainType is "kvm" where the machine has KVM, else "qemu" (TCG): the
// same QEMU and libvirt without acceleration, which SeaBIOS guests boot
// under too (scripts/libvirtd.sh warns when it starts libvirtd so).
func domainType() string {
	if _, err := os.Stat("/dev/kvm"); err != nil {
		return "qemu"
	}
	return "kvm"
}

// kvmURI is the libvirt the suite drives; without it the suite fails, never skips.
func kvmURI(t *testing.T) string {
	t.Helper()
	uri := os.Getenv("VIRTPORTAL_E2E_URI")
	if uri == "" {
		t.Fatal("VIRTPORTAL_E2E_URI is not set: run the end-to-end suite with `make e2e`, which starts libvirtd")
	}
	return uri
}

// kvm connects to the suite's libvirt, closed in t.Cleanup.
func kvm(t *testing.T) (*libvirt.Connect, string) {
	t.Helper()
	uri := kvmURI(t)
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		t.Fatalf("connect %s: %v", uri, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn, uri
}

// tinyGuest defines a 64 MiB KVM guest with no OS on a fresh qcow2 volume in a
// transient dir pool; everything it made is removed in t.Cleanup.
func tinyGuest(t *testing.T, conn *libvirt.Connect) (name, pool, volPath string) {
	t.Helper()
	name = guestName()
	pool = name + "-pool"
	// Under /var/lib/libvirt/images so that qemu's user may traverse to the disk.
	dir := filepath.Join("/var/lib/libvirt/images", pool)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	poolXML, err := (&libvirtxml.StoragePool{Type: "dir", Name: pool, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	p, err := conn.StoragePoolCreateXML(poolXML, 0)
	if err != nil {
		t.Fatal("pool:", err)
	}
	t.Cleanup(func() { _ = p.Destroy(); _ = p.Free() })
	volXML, err := (&libvirtxml.StorageVolume{Name: "disk.qcow2",
		Capacity: &libvirtxml.StorageVolumeSize{Value: 8, Unit: "MiB"},
		Target:   &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}},
	}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	v, err := p.StorageVolCreateXML(volXML, 0)
	if err != nil {
		t.Fatal("volume:", err)
	}
	volPath, _ = v.GetPath()
	_ = v.Free()

	dom := tinyDomain(name)
	dom.Devices.Disks = []libvirtxml.DomainDisk{{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
		Source: &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: pool, Volume: "disk.qcow2"}},
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
	_ = d.Free()
	t.Cleanup(func() {
		if d, err := conn.LookupDomainByName(name); err == nil {
			_ = d.Destroy()
			_ = d.Undefine()
			_ = d.Free()
		}
	})
	return name, pool, volPath
}

func libvirtState(t *testing.T, conn *libvirt.Connect, name string) libvirt.DomainState {
	t.Helper()
	d, err := conn.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	st, _, err := d.GetState()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// eventBudget is how soon a change made behind the portal's back must show.
const eventBudget = time.Second

// eventually polls cond until within has passed.
func eventually(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); ; time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
	}
}

func TestGuestLifecycleOnKVM(t *testing.T) {
	conn, uri := kvm(t)
	srv := startServer(t, uri)
	c := srv.login(t)
	name, pool, volPath := tinyGuest(t, conn)

	find := func() (api.VM, bool) {
		var l api.VMList
		if st := c.call("GET", "/api/v1/vms?q="+name, nil, &l); st != 200 {
			t.Fatalf("list: %d", st)
		}
		i := slices.IndexFunc(l.Items, func(v api.VM) bool { return v.Name == name })
		if i < 0 {
			return api.VM{}, false
		}
		return l.Items[i], true
	}
	eventually(t, "a guest defined with libvirt appears in the list", eventBudget, func() bool { _, ok := find(); return ok })
	vm, _ := find()
	if vm.State != api.StateShutoff || vm.VCPUs != 1 || vm.MemoryMiB != 64 || vm.Graphics != "vnc" {
		t.Fatalf("listed as %+v", vm)
	}

	var d api.VMDetail
	if st := c.call("GET", "/api/v1/vms/"+name, nil, &d); st != 200 {
		t.Fatalf("detail: %d", st)
	}
	if len(d.Devices.Disks) != 1 || d.Devices.Disks[0].Pool != pool || d.Devices.Disks[0].Volume != "disk.qcow2" {
		t.Fatalf("disks %+v", d.Devices.Disks)
	}

	if st := c.call("POST", "/api/v1/vms/"+name+"/start", nil, &vm); st != 200 || vm.State != api.StateRunning {
		t.Fatalf("start: %d %+v", st, vm)
	}
	if s := libvirtState(t, conn, name); s != libvirt.DOMAIN_RUNNING {
		t.Fatalf("libvirt says %v after start", s)
	}
	if st := c.call("POST", "/api/v1/vms/"+name+"/start", nil, nil); st != 409 {
		t.Fatalf("second start: %d, want 409", st)
	}
	if st := c.call("DELETE", "/api/v1/vms/"+name, nil, nil); st != 409 {
		t.Fatalf("delete while running: %d, want 409", st)
	}
	// Statistics come from bulk sampling on the real driver.
	eventually(t, "statistics (sampled every 2 s)", 5*time.Second, func() bool { v, _ := find(); return v.UsageReported && (v.MemPercent > 0 || v.CPUPercent > 0) })

	if st := c.call("POST", "/api/v1/vms/"+name+"/poweroff", nil, &vm); st != 200 || vm.State != api.StateShutoff {
		t.Fatalf("poweroff: %d %+v", st, vm)
	}
	if s := libvirtState(t, conn, name); s != libvirt.DOMAIN_SHUTOFF {
		t.Fatalf("libvirt says %v after poweroff", s)
	}

	// A change made behind the portal's back shows within a second (events).
	d2, err := conn.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Create(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a start made with libvirt shows", eventBudget, func() bool { v, _ := find(); return v.State == api.StateRunning })
	if err := d2.Destroy(); err != nil {
		t.Fatal(err)
	}
	_ = d2.Free()
	eventually(t, "a stop made with libvirt shows", eventBudget, func() bool { v, _ := find(); return v.State == api.StateShutoff })

	// With volumes a delete is a task (202); it is done when it says so.
	var task api.Task
	if st := c.call("DELETE", "/api/v1/vms/"+name+"?volumes=true", nil, &task); st != 202 {
		t.Fatalf("delete: %d", st)
	}
	eventually(t, "the delete task ends", 30*time.Second, func() bool {
		c.call("GET", "/api/v1/tasks/"+strconv.FormatInt(task.ID, 10), nil, &task)
		return task.Finished != nil
	})
	if task.Status != "done" {
		t.Fatalf("delete task %+v", task)
	}
	if _, err := conn.LookupDomainByName(name); err == nil {
		t.Fatal("guest still defined after delete")
	}
	if _, err := os.Stat(volPath); !os.IsNotExist(err) {
		t.Fatalf("volume %s still there after delete with volumes (%v)", volPath, err)
	}
	if _, ok := find(); ok {
		t.Fatal("deleted guest still listed")
	}
	var audit api.AuditList
	if st := c.call("GET", "/api/v1/audit?target=vm:"+name, nil, &audit); st != 200 {
		t.Fatalf("audit: %d", st)
	}
	var actions []string
	for _, e := range audit.Items {
		actions = append(actions, e.Action+"="+e.Result)
	}
	for _, w := range []string{"vm.start=ok", "vm.poweroff=ok", "vm.delete=ok", "vm.start=error:guest_running"} {
		if !slices.Contains(actions, w) {
			t.Errorf("audit lacks %s: %v", w, actions)
		}
	}
}

// TestGrantsInDomainXML: grants live in the domain's metadata, where virsh
// sees and edits them, and an edit made with virsh is enforced within a second.
func TestGrantsInDomainXML(t *testing.T) {
	conn, uri := kvm(t)
	srv := startServer(t, uri)
	admin := srv.login(t)
	user := srv.loginAs(t, plainUser)
	name, _, _ := tinyGuest(t, conn)
	eventually(t, "the guest is indexed", eventBudget, func() bool { return admin.call("GET", "/api/v1/vms/"+name, nil, nil) == 200 })

	virsh := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("virsh %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	const ns = "https://virtportal.org/xmlns/guest/1"

	// Through the API, visible to virsh.
	if st := admin.call("PUT", "/api/v1/vms/"+name+"/access", api.Access{Items: []api.Grant{{Kind: "user", Realm: "local", Name: plainUser, Role: "viewer"}}}, nil); st != 200 {
		t.Fatalf("PUT access: %d", st)
	}
	if x := virsh("dumpxml", name); !strings.Contains(x, ns) || !strings.Contains(x, `name="`+plainUser+`"`) {
		t.Fatalf("dumpxml does not show the grant:\n%s", x)
	}
	if st := user.call("GET", "/api/v1/vms/"+name, nil, nil); st != 200 {
		t.Fatalf("granted viewer gets %d", st)
	}
	if st := user.call("POST", "/api/v1/vms/"+name+"/start", nil, nil); st != 403 {
		t.Fatalf("viewer may start: %d", st)
	}

	// Edited with virsh behind the portal's back: operator, then nothing.
	set := func(role string) {
		doc := `<guest><access>`
		if role != "" {
			doc += `<user realm="local" name="` + plainUser + `" role="` + role + `"/>`
		}
		doc += `</access></guest>`
		args := []string{"metadata", name, "--uri", ns, "--key", "virtportal", "--set", doc, "--config"}
		// A running guest has a live definition too, which is what counts.
		if libvirtState(t, conn, name) == libvirt.DOMAIN_RUNNING {
			args = append(args, "--live")
		}
		virsh(args...)
	}
	set("operator")
	eventually(t, "a grant raised with virsh", eventBudget, func() bool {
		var a api.Access
		return admin.call("GET", "/api/v1/vms/"+name+"/access", nil, &a) == 200 && len(a.Items) == 1 && a.Items[0].Role == "operator"
	})
	if st := user.call("POST", "/api/v1/vms/"+name+"/start", nil, nil); st != 200 {
		t.Fatalf("operator may not start: %d", st)
	}
	set("")
	eventually(t, "a grant revoked with virsh", eventBudget, func() bool { return user.call("GET", "/api/v1/vms/"+name, nil, nil) == 404 })
	var l api.VMList
	if user.call("GET", "/api/v1/vms", nil, &l); l.Total != 0 {
		t.Fatalf("after the revoke the user still lists %d guests", l.Total)
	}
}
