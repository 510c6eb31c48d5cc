package vmcreate

import (
	"context"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/tasks/taskstest"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// fakeTemplates is an in-memory template source for the tests; the real
// one is the templates service.
type fakeTemplates map[int64]api.Template

func (f fakeTemplates) Template(_ context.Context, id int64) (api.Template, error) {
	t, ok := f[id]
	if !ok {
		return api.Template{}, fault.CodeNotFound.New("template %d not found", id)
	}
	return t, nil
}

type env struct {
	*taskstest.Env
	s    *Service
	tmpl fakeTemplates
	base string // a volume of the default pool, standing for a cloud image
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{Env: taskstest.New(t), tmpl: fakeTemplates{}}
	e.s = New(e.R, "local", e.M, e.tmpl)
	vols, err := e.M.ListVolumes(context.Background(), virt.FixturePoolDefault)
	if err != nil || len(vols) == 0 {
		t.Fatal(vols, err)
	}
	e.base = vols[0].Name
	e.tmpl[1] = api.Template{ID: 1, Name: "Debian 12", Host: "local",
		OS:    api.TemplateOS{Family: "linux", Distro: "debian", Version: "12"},
		VCPUs: 1, MaxVCPUs: 2, MemoryMiB: 512, MaxMemoryMiB: 1024, Firmware: "bios", Graphics: "vnc",
		Source: api.TemplateSource{Kind: api.SourceNone},
		Disks:  []api.TemplateDisk{{Pool: virt.FixturePoolDefault, Size: 1 << 30, Bus: "virtio"}, {Pool: virt.FixturePoolDefault, Size: 1 << 20, Format: "raw"}},
		NICs:   []api.TemplateNIC{{Network: virt.FixtureNetDefault, Model: "virtio"}}}
	cloud := e.tmpl[1]
	cloud.ID, cloud.Name = 2, "cloud"
	cloud.Source = api.TemplateSource{Kind: api.SourceCloudImage, Pool: virt.FixturePoolDefault, Volume: e.base, Linked: true}
	cloud.Disks = cloud.Disks[:1]
	cloud.CloudInit = &api.CloudInit{User: "ana", SSHKeys: []string{"ssh-ed25519 AAAA ana"}}
	e.tmpl[2] = cloud
	broken := e.tmpl[1]
	broken.ID, broken.Problems = 3, []api.TemplateProblem{{Field: "disks[0].pool", Code: "pool_not_found", Message: `pool "gone" does not exist`}}
	e.tmpl[3] = broken
	win := e.tmpl[1]
	win.ID, win.Name, win.Topology, win.MaxVCPUs = 4, "win", &api.Topology{Sockets: 1, Cores: 2, Threads: 1}, 2
	e.tmpl[4] = win
	return e
}

func (e *env) volExists(pool, name string) bool {
	e.T.Helper()
	_, err := e.M.Volume(context.Background(), pool, name)
	if err != nil && !fault.Is(err, virt.CodeVolumeNotFound) {
		e.T.Fatal(err)
	}
	return err == nil
}

func (e *env) guestExists(name string) bool {
	e.T.Helper()
	ok, err := e.M.GuestExists(context.Background(), name)
	if err != nil {
		e.T.Fatal(err)
	}
	return ok
}

func TestCreateFromTemplate(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	creator := &api.Grant{Kind: "user", Realm: "pam", Name: "bob", Role: api.RoleManager}
	in, name, err := e.s.Submit(ctx, "pam:bob", creator, api.VMCreate{Template: 1, Start: true, Overrides: &api.VMOverrides{VCPUs: 2, MemoryMiB: 768}})
	if err != nil {
		t.Fatal(err)
	}
	if name != "Debian-12-1" {
		t.Fatalf("default name %q", name)
	}
	got := e.Wait(in.ID)
	if got.Status != store.TaskDone || got.Result != "vm:"+name || got.Target != "vm:"+name {
		t.Fatalf("task %+v", got)
	}
	d, err := e.M.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	if d.State != "running" || d.VCPUs != 2 || d.MemoryMiB != 768 {
		t.Fatalf("guest %+v", d.VM)
	}
	if g, _ := e.M.GrantsOf(e.M.Ref(name)); len(g) != 1 || g[0] != *creator {
		t.Fatalf("grants %+v", g)
	}
	if !e.volExists(virt.FixturePoolDefault, name+".qcow2") || !e.volExists(virt.FixturePoolDefault, name+"-disk1.img") {
		t.Fatal("volumes missing")
	}
	// The next default name skips the one taken.
	in2, name2, err := e.s.Submit(ctx, "local:admin", nil, api.VMCreate{Template: 1})
	if err != nil || name2 != "Debian-12-2" {
		t.Fatalf("second name %q %v", name2, err)
	}
	if st := e.Wait(in2.ID).Status; st != store.TaskDone {
		t.Fatalf("second task %s", st)
	}
	if g, _ := e.M.GrantsOf(e.M.Ref(name2)); len(g) != 0 {
		t.Fatalf("an admin's guest got grants %+v", g)
	}
}

func TestCreateCloudImage(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in, name, err := e.s.Submit(ctx, "local:admin", nil, api.VMCreate{Template: 2, Name: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	got := e.Wait(in.ID)
	if got.Status != store.TaskDone {
		t.Fatalf("task %+v", got)
	}
	// The test driver cannot write volume contents: the task says so.
	if !strings.Contains(got.Message, "seed volume is empty") {
		t.Fatalf("message %q does not mention the empty seed", got.Message)
	}
	d, err := e.M.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	var cdroms int
	for _, disk := range d.Devices.Disks {
		if disk.Device == "cdrom" {
			cdroms++
		}
	}
	if cdroms != 1 || !e.volExists(virt.FixturePoolDefault, "c1-cidata.iso") {
		t.Fatalf("disks %+v", d.Devices.Disks)
	}
}

func TestCreateRefusedAtOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	big := e.tmpl[1]
	big.ID, big.Disks = 9, []api.TemplateDisk{{Pool: virt.FixturePoolDefault, Size: 1 << 50}}
	e.tmpl[9] = big
	existing, err := e.M.List(ctx)
	if err != nil || len(existing) == 0 {
		t.Fatal(existing, err)
	}
	for _, c := range []struct {
		name string
		req  api.VMCreate
		code fault.Code
	}{
		{"unusable template", api.VMCreate{Template: 3}, CodeTemplateUnusable},
		{"no template", api.VMCreate{Template: 42}, fault.CodeNotFound},
		{"name taken", api.VMCreate{Template: 1, Name: existing[0].Name}, virt.CodeGuestExists},
		{"bad name", api.VMCreate{Template: 1, Name: "../x"}, virt.CodeInvalidName},
		{"wildcard name", api.VMCreate{Template: 1, Name: "a*"}, virt.CodeInvalidName},
		{"other host", api.VMCreate{Template: 1, Host: "elsewhere"}, CodeWrongHost},
		{"pool too small", api.VMCreate{Template: 9}, CodePoolTooSmall},
		{"vCPUs beyond the topology", api.VMCreate{Template: 4, Overrides: &api.VMOverrides{VCPUs: 3}}, CodeBadOverride},
		{"hostile user-data", api.VMCreate{Template: 2, Overrides: &api.VMOverrides{CloudInit: &api.CloudInit{UserData: "- not a map"}}}, fault.Code{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := e.s.Submit(ctx, "local:admin", nil, c.req)
			if c.code == (fault.Code{}) {
				if err == nil || fault.As(err) == nil || fault.As(err).Code.Kind != fault.Invalid {
					t.Fatalf("err = %v, want an invalid request", err)
				}
				return
			}
			if !fault.Is(err, c.code) {
				t.Fatalf("err = %v, want %s", err, c.code.Name)
			}
		})
	}
	if e.guestExists("Debian-12-1") || e.volExists(virt.FixturePoolDefault, "Debian-12-1.qcow2") {
		t.Fatal("a refused request made something")
	}
}

func TestFailedCreationLeavesNothing(t *testing.T) {
	for _, after := range []string{"volume", "define"} {
		t.Run(after, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			a, err := e.s.Plan(ctx, nil, api.VMCreate{Template: 2, Name: "doomed"})
			if err != nil {
				t.Fatal(err)
			}
			a.failAfter = after
			in, err := e.s.kind.Submit(ctx, tasks.Spec{Owner: "local:admin", Host: "local", Target: "vm:doomed"}, a)
			if err != nil {
				t.Fatal(err)
			}
			if st := e.Wait(in.ID).Status; st != store.TaskFailed {
				t.Fatalf("status %s", st)
			}
			if e.guestExists("doomed") || e.volExists(virt.FixturePoolDefault, "doomed.qcow2") || e.volExists(virt.FixturePoolDefault, "doomed-cidata.iso") {
				t.Fatal("a failed creation left something behind")
			}
			if recs, err := e.St.TaskResources(ctx, in.ID); err != nil || len(recs) != 0 {
				t.Fatalf("records %+v %v", recs, err)
			}
		})
	}
}

func TestCrashSweepRemovesGuestAndVolumes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// A process that made a guest halfway, then died.
	in, name, err := e.s.Submit(ctx, "local:admin", nil, api.VMCreate{Template: 1, Name: "orphan", Start: true})
	if err != nil || e.Wait(in.ID).Status != store.TaskDone {
		t.Fatal(name, err)
	}
	tk, err := e.St.CreateTask(ctx, store.Task{Kind: KindCreate, Owner: "local:admin", Host: "local", Status: store.TaskRunning})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []store.TaskResource{
		{TaskID: tk.ID, Kind: ResourceVolume, Host: "local", Ident: "default/orphan.qcow2"},
		{TaskID: tk.ID, Kind: ResourceGuest, Host: "local", Ident: "orphan"},
	} {
		if _, err := e.St.AddTaskResource(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	r2 := tasks.New(e.St, e.St, tasks.Options{})
	New(r2, "local", e.M, e.tmpl)
	if err := r2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r2.Close(context.Background()) })
	if e.guestExists("orphan") || e.volExists(virt.FixturePoolDefault, "orphan.qcow2") {
		t.Fatal("the sweep left the half-made guest")
	}
	got, err := e.St.GetTask(ctx, tk.ID)
	if err != nil || got.Status != store.TaskFailed || got.ErrorCode != tasks.CodeInterrupted.Name {
		t.Fatalf("task after the sweep: %+v %v", got, err)
	}
}

// Many requests for the default name at once: each gets its own name,
// and every creation succeeds.
func TestCreateDefaultNamesConcurrently(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	type res struct {
		id   int64
		name string
		err  error
	}
	out := make(chan res, 8)
	for range 8 {
		go func() {
			in, name, err := e.s.Submit(ctx, "local:admin", nil, api.VMCreate{Template: 1})
			out <- res{in.ID, name, err}
		}()
	}
	names := map[string]bool{}
	for range 8 {
		r := <-out
		if r.err != nil {
			if fault.Is(r.err, CodeGuestNameBusy) {
				continue // lost the race for a name between plan and claim: refused at once
			}
			t.Fatal(r.err)
		}
		if names[r.name] {
			t.Fatalf("name %q given twice", r.name)
		}
		names[r.name] = true
		if st := e.Wait(r.id).Status; st != store.TaskDone {
			t.Fatalf("%s: %s", r.name, st)
		}
	}
	if len(names) == 0 {
		t.Fatal("no creation got through")
	}
	if len(e.s.busy) != 0 {
		t.Fatalf("names still held after every task ended: %v", e.s.busy)
	}
}

// A Windows-like template (UEFI with secure boot, SATA, e1000e) and an old
// Linux one (IDE, rtl8139: the pc machine) make guests on the demo driver,
// their defaults kept for later disks and NICs.
func TestCreateOtherFamilies(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	win := e.tmpl[1]
	win.ID, win.Name, win.Firmware, win.SecureBoot = 20, "win11", "uefi", true
	win.OS = api.TemplateOS{Family: "winnt", Distro: "win", Version: "11"}
	win.Disks = []api.TemplateDisk{{Pool: virt.FixturePoolDefault, Size: 1 << 30, Bus: "sata"}}
	win.NICs = []api.TemplateNIC{{Network: virt.FixtureNetDefault, Model: "e1000e"}}
	win.Source = api.TemplateSource{Kind: api.SourceISO, Pool: virt.FixturePoolDefault, Volume: e.base}
	e.tmpl[20] = win
	old := e.tmpl[1]
	old.ID, old.Name = 21, "centos5"
	old.Disks = []api.TemplateDisk{{Pool: virt.FixturePoolDefault, Size: 1 << 30, Bus: "ide"}}
	old.NICs = []api.TemplateNIC{{Network: virt.FixtureNetDefault, Model: "rtl8139"}}
	e.tmpl[21] = old
	for id, want := range map[int64]struct{ bus, machine, nic, cdrom string }{20: {"sata", "q35", "e1000e", "sata"}, 21: {"ide", "pc", "rtl8139", "ide"}} {
		in, name, err := e.s.Submit(ctx, "local:admin", nil, api.VMCreate{Template: id})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Wait(in.ID); got.Status != store.TaskDone {
			t.Fatalf("%s: %+v", name, got)
		}
		d, err := e.M.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if d.Devices.Disks[0].Bus != want.bus || !strings.HasPrefix(d.Machine, want.machine) {
			t.Fatalf("%s: disk %+v machine %q", name, d.Devices.Disks[0], d.Machine)
		}
		md, err := e.M.GuestDefaults(ctx, name)
		if err != nil || md.DiskBus != want.bus || md.NICModel != want.nic || md.CDROMBus != want.cdrom {
			t.Fatalf("%s: metadata defaults %+v %v", name, md, err)
		}
	}
}
