//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/vmcreate"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
	"github.com/virtportal/virtportal/virt/cidata"
)

// vcTemplates is an in-memory template source (the templates service's
// stand-in: this suite drives the creation service on KVM directly).
type vcTemplates struct {
	mu sync.Mutex
	m  map[int64]api.Template
}

func (v *vcTemplates) Template(_ context.Context, id int64) (api.Template, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	t, ok := v.m[id]
	if !ok {
		return api.Template{}, fault.CodeNotFound.New("template %d not found", id)
	}
	return t, nil
}

// vcEnv is the creation service over qemu:///system with a store and a
// runner of its own, and a pool holding a tiny qcow2 base image.
type vcEnv struct {
	conn  *libvirt.Connect
	m     *virt.Manager
	st    *store.Store
	r     *tasks.Runner
	s     *vmcreate.Service
	tmpl  *vcTemplates
	pool  string
	ended sync.Map // task id → chan struct{}
}

func newVCEnv(t *testing.T) *vcEnv {
	t.Helper()
	conn, uri := kvm(t)
	ctx := context.Background()
	e := &vcEnv{conn: conn, tmpl: &vcTemplates{m: map[int64]api.Template{}}}
	e.pool = "vpe2e-vc-" + randomHex()
	// Under /var/lib/libvirt/images so that qemu's user may reach the disks.
	dir := filepath.Join("/var/lib/libvirt/images", e.pool)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	voPoolIn(t, conn, e.pool, dir)
	p, err := conn.LookupStoragePoolByName(e.pool)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Free()
	doc, _ := (&libvirtxml.StorageVolume{Name: "base.qcow2", Capacity: &libvirtxml.StorageVolumeSize{Value: 8, Unit: "MiB"},
		Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}}}).Marshal()
	if v, err := p.StorageVolCreateXML(doc, 0); err != nil {
		t.Fatal("base volume:", err)
	} else {
		_ = v.Free()
	}
	if e.st, err = store.Open(ctx, filepath.Join(t.TempDir(), "v.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	e.m = virt.New(virt.Config{URI: uri, Host: "local"})
	if err := e.m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.m.Close() })
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := e.m.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	e.r = tasks.New(e.st, e.st, tasks.Options{})
	e.r.OnChange(func(in tasks.Info) {
		if in.Ended() {
			ch, _ := e.ended.LoadOrStore(in.ID, make(chan struct{}))
			close(ch.(chan struct{}))
		}
	})
	e.s = vmcreate.New(e.r, "local", e.m, e.tmpl)
	if err := e.r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.r.Close(context.Background()) })
	return e
}

// template is a 64 MiB BIOS guest whose disk links to the base image.
func (e *vcEnv) template(id int64, kind string) api.Template {
	tm := api.Template{ID: id, Name: "vpe2e-vc-t", Host: "local", VCPUs: 1, MaxVCPUs: 1, MemoryMiB: 64, MaxMemoryMiB: 64,
		Firmware: "bios", Graphics: "none", BootOrder: []string{"hd"},
		Source: api.TemplateSource{Kind: kind, Pool: e.pool, Volume: "base.qcow2", Linked: true},
		Disks:  []api.TemplateDisk{{Pool: e.pool, Size: 16 << 20, Bus: "virtio"}}}
	e.tmpl.mu.Lock()
	e.tmpl.m[id] = tm
	e.tmpl.mu.Unlock()
	return tm
}

func (e *vcEnv) create(t *testing.T, req api.VMCreate) (api.Task, string) {
	t.Helper()
	in, name, err := e.s.Submit(context.Background(), "local:admin", nil, req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.m.RemoveGuest(context.Background(), name) })
	ch, _ := e.ended.LoadOrStore(in.ID, make(chan struct{}))
	select {
	case <-ch.(chan struct{}):
	case <-time.After(2 * time.Minute):
		t.Fatal("the creation never ended")
	}
	tk, err := e.st.GetTask(context.Background(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	return api.Task{ID: tk.ID, Status: tk.Status, Message: tk.Message, Result: tk.Result}, name
}

func (e *vcEnv) volExists(t *testing.T, name string) bool {
	t.Helper()
	ok, err := e.m.VolumeExists(context.Background(), e.pool+"/"+name)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// serialUntil reads the guest's serial console until want shows.
func serialUntil(t *testing.T, conn *libvirt.Connect, name, want string, d time.Duration) {
	t.Helper()
	dom, err := conn.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	st, err := conn.NewStream(0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Free()
	if err := dom.OpenConsole("", st, libvirt.DOMAIN_CONSOLE_FORCE); err != nil {
		t.Fatal("console:", err)
	}
	done := make(chan []byte, 1)
	go func() {
		var seen []byte
		buf := make([]byte, 4096)
		for !bytes.Contains(seen, []byte(want)) {
			n, err := st.Recv(buf)
			if err != nil || n == 0 {
				break
			}
			seen = append(seen, buf[:n]...)
		}
		done <- seen
	}()
	select {
	case seen := <-done:
		if !bytes.Contains(seen, []byte(want)) {
			t.Fatalf("the console ended without %q:\n%s", want, seen)
		}
	case <-time.After(d):
		_ = st.Abort()
		t.Fatalf("the console never showed %q within %v", want, d)
	}
	_ = st.Abort()
}

func TestCreateFromTemplateOnKVM(t *testing.T) {
	e := newVCEnv(t)
	e.template(1, api.SourceDisk)
	name := "vpe2e-vc-" + randomHex()
	tk, got := e.create(t, api.VMCreate{Template: 1, Name: name, Start: true})
	if tk.Status != store.TaskDone || got != name {
		t.Fatalf("task %+v", tk)
	}
	// The guest runs its linked clone; SeaBIOS finds nothing to boot.
	serialUntil(t, e.conn, name, "No bootable device", 60*time.Second)
	vol, err := e.m.Volume(context.Background(), e.pool, name+".qcow2")
	if err != nil || vol.Capacity != 16<<20 || vol.Format != "qcow2" {
		t.Fatalf("disk %+v %v", vol, err)
	}
	// Power off, then delete with its volumes (DELETE /api/v1/vms/{name}?volumes=true):
	// nothing of it is left, and the base image stays.
	if _, err := e.m.Action(context.Background(), name, "poweroff"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Delete(context.Background(), name, true); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.m.GuestExists(context.Background(), name); err != nil || ok {
		t.Fatalf("the guest survived its deletion (%v)", err)
	}
	if e.volExists(t, name+".qcow2") || !e.volExists(t, "base.qcow2") {
		t.Fatal("the guest's disk survived, or the base image did not")
	}
}

func TestCreateCloudImageSeedOnKVM(t *testing.T) {
	e := newVCEnv(t)
	tm := e.template(2, api.SourceCloudImage)
	ci := api.CloudInit{User: "ana", SSHKeys: []string{"ssh-ed25519 AAAAC3Nza vpe2e@test"}, UserData: "#cloud-config\npackages: [htop]\n"}
	tm.CloudInit = &ci
	e.tmpl.m[2] = tm
	name := "vpe2e-vc-" + randomHex()
	tk, _ := e.create(t, api.VMCreate{Template: 2, Name: name})
	if tk.Status != store.TaskDone || strings.Contains(tk.Message, "empty") {
		t.Fatalf("task %+v", tk)
	}
	t.Cleanup(func() { _ = e.m.DeleteVolume(context.Background(), e.pool+"/"+name+".qcow2") })
	t.Cleanup(func() { _ = e.m.DeleteVolume(context.Background(), e.pool+"/"+name+"-cidata.iso") })
	r, err := e.m.OpenVolume(context.Background(), e.pool, name+"-cidata.iso", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	img, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		t.Fatal(err)
	}
	iso, err := cidata.ReadISO(img)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cidata.UserData(ci, name)
	if err != nil {
		t.Fatal(err)
	}
	if iso.VolumeID != "cidata" || !bytes.Equal(iso.Files["user-data"], want) || len(iso.Files["meta-data"]) == 0 {
		t.Fatalf("seed: volume id %q, files %q", iso.VolumeID, iso.Files)
	}
	// Attached as a CD-ROM of the guest.
	d, err := e.m.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, disk := range d.Devices.Disks {
		if disk.Device == "cdrom" && disk.Volume == name+"-cidata.iso" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no seed CD-ROM among %+v", d.Devices.Disks)
	}
}

func TestFailedCreationLeavesNothingOnKVM(t *testing.T) {
	e := newVCEnv(t)
	tm := e.template(3, api.SourceDisk)
	// A network that does not exist: libvirt refuses the start, after
	// the disk was made and the guest defined.
	tm.NICs = []api.TemplateNIC{{Network: "vpe2e-vc-nonet-" + randomHex(), Model: "virtio"}}
	e.tmpl.m[3] = tm
	name := "vpe2e-vc-" + randomHex()
	tk, _ := e.create(t, api.VMCreate{Template: 3, Name: name, Start: true})
	if tk.Status != store.TaskFailed {
		t.Fatalf("task %+v", tk)
	}
	if ok, err := e.m.GuestExists(context.Background(), name); err != nil || ok {
		t.Fatalf("the guest survived its failed creation (%v)", err)
	}
	if e.volExists(t, name+".qcow2") {
		t.Fatal("the disk survived the failed creation")
	}
}
