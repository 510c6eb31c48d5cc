// Disk hot-plug (issue 11): a virtio disk attached to a running guest
// through the API (POST /api/v1/vms/{name}/disks with a pool volume, live
// and saved) against `virsh attach-disk --live --config` of the same kind
// of volume by hand, interleaved in the same run; goal: median <= 1.2x.

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

func benchDiskHotplug(bin, uri string, runs int) error {
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return fmt.Errorf("%s: %w (start libvirtd as `make e2e` does)", uri, err)
	}
	defer conn.Close()
	name := fmt.Sprintf("vpe2-dk-bench-%d", os.Getpid())
	// Under /var/lib/libvirt/images so that qemu's user reaches the disks.
	dir := filepath.Join("/var/lib/libvirt/images", name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	doc, _ := (&libvirtxml.StoragePool{Type: "dir", Name: name, Target: &libvirtxml.StoragePoolTarget{Path: dir}}).Marshal()
	sp, err := conn.StoragePoolCreateXML(doc, 0)
	if err != nil {
		return fmt.Errorf("pool: %w", err)
	}
	defer func() { _ = sp.Destroy(); _ = sp.Free() }()
	vols := []string{"boot.qcow2"}
	for i := range runs + 1 {
		vols = append(vols, fmt.Sprintf("api-%d.qcow2", i), fmt.Sprintf("virsh-%d.qcow2", i))
	}
	for _, v := range vols {
		x, _ := (&libvirtxml.StorageVolume{Name: v, Capacity: &libvirtxml.StorageVolumeSize{Value: 8, Unit: "MiB"},
			Target: &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}}}).Marshal()
		vol, err := sp.StorageVolCreateXML(x, 0)
		if err != nil {
			return fmt.Errorf("volume %s: %w", v, err)
		}
		_ = vol.Free()
	}
	typ := "qemu"
	if _, err := os.Stat("/dev/kvm"); err == nil {
		typ = "kvm"
	}
	dom := &libvirtxml.Domain{Type: typ, Name: name,
		Memory: &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"}, VCPU: &libvirtxml.DomainVCPU{Value: 1},
		OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		// PCI hot-plug on a PC machine needs ACPI.
		Features: &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}},
		Devices: &libvirtxml.DomainDeviceList{Disks: []libvirtxml.DomainDisk{{Device: "disk",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: filepath.Join(dir, "boot.qcow2")}},
			Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"}}}}}
	x, _ := dom.Marshal()
	d, err := conn.DomainDefineXML(x)
	if err != nil {
		return fmt.Errorf("define: %w", err)
	}
	defer func() { _ = d.Destroy(); _ = d.Undefine(); _ = d.Free() }()
	if err := d.Create(); err != nil {
		return fmt.Errorf("start: %w", err)
	}

	p, err := startPortalOn(bin, uri)
	if err != nil {
		return err
	}
	defer p.stop()
	hc, csrf, err := p.loginCSRF("bench")
	if err != nil {
		return err
	}
	used := map[string]bool{"vda": true}
	viaAPI := func(i int) (time.Duration, error) {
		var ch api.DiskChange
		t0 := time.Now()
		st, err := post(hc, csrf, p.base+"/api/v1/vms/"+name+"/disks", api.DiskAttach{Pool: name, Volume: fmt.Sprintf("api-%d.qcow2", i)}, &ch)
		el := time.Since(t0)
		if err != nil || st != 200 || ch.Applies != api.AppliesNow {
			return 0, fmt.Errorf("attach: %d %v %+v", st, err, ch)
		}
		used[ch.Disk.Target] = true
		return el, nil
	}
	byHand := func(i int) (time.Duration, error) {
		target := ""
		for l := 'b'; l <= 'z'; l++ {
			if t := "vd" + string(l); !used[t] {
				target = t
				break
			}
		}
		used[target] = true
		t0 := time.Now()
		out, err := exec.Command("virsh", "-c", uri, "attach-disk", name, filepath.Join(dir, fmt.Sprintf("virsh-%d.qcow2", i)), target,
			"--driver", "qemu", "--subdriver", "qcow2", "--targetbus", "virtio", "--live", "--config").CombinedOutput()
		el := time.Since(t0)
		if err != nil {
			return 0, fmt.Errorf("virsh attach-disk: %v: %s", err, out)
		}
		return el, nil
	}
	var ours, theirs []time.Duration
	for i := range runs + 1 { // the first round warms both up and is not counted
		ways := []struct {
			f   func(int) (time.Duration, error)
			out *[]time.Duration
		}{{viaAPI, &ours}, {byHand, &theirs}}
		if i%2 == 1 { // alternate who goes first: the host's load drifts
			ways[0], ways[1] = ways[1], ways[0]
		}
		for _, w := range ways {
			el, err := w.f(i)
			if err != nil {
				return err
			}
			if i > 0 {
				*w.out = append(*w.out, el)
			}
		}
	}
	slices.Sort(ours)
	slices.Sort(theirs)
	o, v := ours[len(ours)/2], theirs[len(theirs)/2]
	ratio := float64(o) / float64(v)
	fmt.Printf("virtio disk hot-plug into a running guest (%s, %d runs)\n", typ, runs)
	fmt.Printf("  POST /api/v1/vms/{name}/disks         median %s\n", ms(o))
	fmt.Printf("  virsh attach-disk --live --config     median %s\n", ms(v))
	fmt.Printf("  ratio API/virsh                       %.3f   (goal: <= 1.2)\n", ratio)
	if ratio > 1.2 {
		return fmt.Errorf("budget missed: %.3f", ratio)
	}
	return nil
}
