// Guest creation: from a template to running, with a linked clone of a
// 1 GiB base image, through the creation service (plan, task, overlay
// volume, define with metadata, start) on qemu:///system, against
// `virsh vol-create-as --backing-vol` + `virsh define` + `virsh start` of
// the same domain by hand; goal: median <= 1.2x the hand-made one and
// under 1 s. The service runs in this process (the server binary gets its
// templates from the templates service, which this section does not need).

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/services/vmcreate"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

type oneTemplate api.Template

func (o oneTemplate) Template(_ context.Context, id int64) (api.Template, error) {
	if id != o.ID {
		return api.Template{}, fault.CodeNotFound.New("template %d not found", id)
	}
	return api.Template(o), nil
}

func benchCreate(uri string, runs int) error {
	ctx := context.Background()
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return fmt.Errorf("%s: %w (start libvirtd as `make e2e` does)", uri, err)
	}
	defer conn.Close()
	pool := fmt.Sprintf("vpe2e-vc-bench-%d", os.Getpid())
	// Under /var/lib/libvirt/images so that qemu's user reaches the disks.
	dir := filepath.Join("/var/lib/libvirt/images", pool)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	doc, _ := (&libvirtxml.StoragePool{Type: "dir", Name: pool, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	p, err := conn.StoragePoolCreateXML(doc, 0)
	if err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	defer func() { _ = p.Destroy(); _ = p.Free() }()
	if out, err := exec.Command("virsh", "-c", uri, "vol-create-as", pool, "base.qcow2", "1G", "--format", "qcow2").CombinedOutput(); err != nil {
		return fmt.Errorf("base image: %v: %s", err, out)
	}

	tmp, err := os.MkdirTemp("", "virtportal-bench-vc-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	st, err := store.Open(ctx, filepath.Join(tmp, "v.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	m := virt.New(virt.Config{URI: uri, Host: "local"})
	if err := m.Start(ctx); err != nil {
		return err
	}
	defer m.Close()
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := m.WaitReady(wctx); err != nil {
		return err
	}
	var mu sync.Mutex
	ended := map[int64]chan store.Task{}
	waitFor := func(id int64) chan store.Task {
		mu.Lock()
		defer mu.Unlock()
		if ended[id] == nil {
			ended[id] = make(chan store.Task, 1)
		}
		return ended[id]
	}
	r := tasks.New(st, st, tasks.Options{})
	r.OnChange(func(in tasks.Info) {
		if in.Ended() {
			waitFor(in.ID) <- in.Task
		}
	})
	tm := oneTemplate{ID: 1, Name: "bench", Host: "local", VCPUs: 1, MaxVCPUs: 1, MemoryMiB: 64, MaxMemoryMiB: 64,
		Firmware: "bios", Graphics: "none", BootOrder: []string{"hd"},
		Source: api.TemplateSource{Kind: api.SourceCloudImage, Pool: pool, Volume: "base.qcow2", Linked: true},
		Disks:  []api.TemplateDisk{{Pool: pool, Size: 1 << 30, Bus: "virtio"}}}
	svc := vmcreate.New(r, "local", m, tm)
	if err := r.Start(ctx); err != nil {
		return err
	}
	defer r.Close(context.Background())
	typ, err := m.DomainType(ctx)
	if err != nil {
		return err
	}

	remove := func(name string) {
		_ = m.RemoveGuest(ctx, name)
		_ = m.DeleteVolume(ctx, pool+"/"+name+".qcow2")
	}
	viaService := func(name string) (time.Duration, error) {
		t0 := time.Now()
		in, _, err := svc.Submit(ctx, "local:bench", nil, api.VMCreate{Template: 1, Name: name, Start: true})
		if err != nil {
			return 0, err
		}
		var tk store.Task
		select {
		case tk = <-waitFor(in.ID):
		case <-time.After(time.Minute):
			return 0, fmt.Errorf("task %d never ended", in.ID)
		}
		d := time.Since(t0)
		if tk.Status != store.TaskDone {
			return 0, fmt.Errorf("task %s: %s %s", tk.Status, tk.ErrorCode, tk.Message)
		}
		return d, nil
	}
	byHand := func(name string) (time.Duration, error) {
		dom, err := virt.BuildDomain(virt.GuestSpec{Name: name, Type: typ, VCPUs: 1, MemoryMiB: 64, Graphics: "none", SerialBIOS: true,
			BootOrder: []string{"hd"}, Disks: []virt.SpecDisk{{Pool: pool, Volume: name + ".qcow2"}}})
		if err != nil {
			return 0, err
		}
		x, err := dom.Marshal()
		if err != nil {
			return 0, err
		}
		file := filepath.Join(tmp, name+".xml")
		if err := os.WriteFile(file, []byte(x), 0o644); err != nil {
			return 0, err
		}
		t0 := time.Now()
		for _, args := range [][]string{
			{"vol-create-as", pool, name + ".qcow2", "1G", "--format", "qcow2", "--backing-vol", "base.qcow2", "--backing-vol-format", "qcow2"},
			{"define", file},
			{"start", name},
		} {
			if out, err := exec.Command("virsh", append([]string{"-c", uri}, args...)...).CombinedOutput(); err != nil {
				return 0, fmt.Errorf("virsh %s: %v: %s", args[0], err, out)
			}
		}
		return time.Since(t0), nil
	}

	var ours, theirs []time.Duration
	for i := range runs + 1 { // the first round warms both up and is not counted
		ways := []struct {
			f   func(string) (time.Duration, error)
			out *[]time.Duration
			tag string
		}{{viaService, &ours, "svc"}, {byHand, &theirs, "virsh"}}
		if i%2 == 1 { // alternate who goes first: the host's load drifts
			ways[0], ways[1] = ways[1], ways[0]
		}
		for _, way := range ways {
			name := fmt.Sprintf("vpe2e-vc-bench-%s-%d", way.tag, i)
			d, err := way.f(name)
			remove(name)
			if err != nil {
				return err
			}
			if i > 0 {
				*way.out = append(*way.out, d)
			}
		}
	}
	slices.Sort(ours)
	slices.Sort(theirs)
	o, v := ours[len(ours)/2], theirs[len(theirs)/2]
	ratio := float64(o) / float64(v)
	fmt.Printf("create from a template to running (linked clone of a 1 GiB base, %s, %d runs)\n", typ, runs)
	fmt.Printf("  vm.create task                     median %s\n", ms(o))
	fmt.Printf("  virsh vol-create-as+define+start   median %s\n", ms(v))
	fmt.Printf("  ratio task/virsh                   %.3f   (goal: <= 1.2 and < 1 s)\n", ratio)
	// The 1 s budget is DESIGN's for KVM; under TCG (no /dev/kvm) QEMU
	// alone takes about that long to start, so only the ratio binds.
	if typ != "kvm" {
		fmt.Printf("  (no KVM here: the 1 s budget is not checked under %s)\n", typ)
	}
	if ratio > 1.2 || (typ == "kvm" && o >= time.Second) {
		return fmt.Errorf("budget missed: %.3f, %s", ratio, ms(o))
	}
	return nil
}
