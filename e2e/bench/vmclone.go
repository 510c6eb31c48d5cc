// Guest clone: a shut-off guest with a 1 GiB qcow2 holding 200 MiB,
// cloned through the API (pre-check, copy, define) against
// `virsh vol-clone` + `virsh define` by hand on qemu:///system.

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// benchGuestClone: POST /api/v1/vms/{name}/clone to the task's end
// (polled every 10 ms) against virsh vol-clone + virsh define of a
// prepared XML, interleaved; goal: API median <= 1.1x the by-hand one.
func benchGuestClone(bin, uri string, runs int) error {
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return fmt.Errorf("%s: %w (start libvirtd as `make e2e` does)", uri, err)
	}
	defer conn.Close()
	name := fmt.Sprintf("vpe2e-cl-bench-%d", os.Getpid())
	sp, dir, done, err := clonePool(conn, name, 10)
	if err != nil {
		return err
	}
	defer done()
	guest := func(n, disk string) *libvirtxml.Domain {
		return &libvirtxml.Domain{Type: "qemu", Name: n,
			Memory: &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"}, VCPU: &libvirtxml.DomainVCPU{Value: 1},
			OS: &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
			Devices: &libvirtxml.DomainDeviceList{Disks: []libvirtxml.DomainDisk{{Device: "disk",
				Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
				Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: filepath.Join(dir, disk)}},
				Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"}}}}}
	}
	srcXML, _ := guest(name, "src.qcow2").Marshal()
	src, err := conn.DomainDefineXML(srcXML)
	if err != nil {
		return err
	}
	defer func() { _ = src.Undefine(); _ = src.Free() }()

	p, err := startPortalOn(bin, uri)
	if err != nil {
		return err
	}
	defer p.stop()
	hc, csrf, err := p.loginCSRF("bench")
	if err != nil {
		return err
	}
	drop := func(n, vol string) {
		if d, err := conn.LookupDomainByName(n); err == nil {
			_ = d.Undefine()
			_ = d.Free()
		}
		if v, err := sp.LookupStorageVolByName(vol); err == nil {
			_ = v.Delete(0)
			_ = v.Free()
		}
	}
	viaAPI := func(n string) (time.Duration, error) {
		t0 := time.Now()
		var tk api.Task
		st, err := post(hc, csrf, p.base+"/api/v1/vms/"+name+"/clone", api.VMClone{Name: n}, &tk)
		if err != nil || st != 202 {
			return 0, fmt.Errorf("clone: %d %v", st, err)
		}
		for {
			res, err := hc.Get(fmt.Sprintf("%s/api/v1/tasks/%d", p.base, tk.ID))
			if err != nil {
				return 0, err
			}
			tk = api.Task{}
			err = json.NewDecoder(res.Body).Decode(&tk)
			res.Body.Close()
			if err != nil {
				return 0, err
			}
			if tk.Finished != nil {
				if tk.Status != "done" {
					return 0, fmt.Errorf("clone task %s: %+v", tk.Status, tk.Error)
				}
				return time.Since(t0), nil
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	viaVirsh := func(n string) (time.Duration, error) {
		// The XML is written by hand beforehand: only the two commands count.
		x, _ := guest(n, n+"-vda.qcow2").Marshal()
		xf := filepath.Join(dir, n+".xml")
		if err := os.WriteFile(xf, []byte(x), 0o600); err != nil {
			return 0, err
		}
		defer os.Remove(xf)
		t0 := time.Now()
		if out, err := exec.Command("virsh", "-c", uri, "vol-clone", "--pool", name, "src.qcow2", n+"-vda.qcow2").CombinedOutput(); err != nil {
			return 0, fmt.Errorf("virsh vol-clone: %v: %s", err, out)
		}
		if out, err := exec.Command("virsh", "-c", uri, "define", xf).CombinedOutput(); err != nil {
			return 0, fmt.Errorf("virsh define: %v: %s", err, out)
		}
		return time.Since(t0), nil
	}
	var a, v []time.Duration
	for i := range runs {
		vn, an := fmt.Sprintf("%s-v%d", name, i), fmt.Sprintf("%s-a%d", name, i)
		exec.Command("sync").Run()
		d, err := viaVirsh(vn)
		drop(vn, vn+"-vda.qcow2")
		if err != nil {
			return err
		}
		v = append(v, d)
		exec.Command("sync").Run()
		d, err = viaAPI(an)
		drop(an, an+"-vda.qcow2")
		if err != nil {
			return err
		}
		a = append(a, d)
	}
	a50, v50 := percentile(a, .5), percentile(v, .5)
	ratio := float64(a50) / float64(v50)
	fmt.Printf("Clone a shut-off guest with a 1 GiB qcow2 holding 200 MiB on %s (%d runs each, interleaved)\n", uri, runs)
	fmt.Printf("  virtportal API (POST → task done)     median %s\n", ms(a50))
	fmt.Printf("  virsh vol-clone + virsh define        median %s   (baseline, same run)\n", ms(v50))
	fmt.Printf("  ratio API/by hand                     %.3f   (goal: <= 1.1)\n", ratio)
	if ratio > 1.1 {
		return fmt.Errorf("budget missed: %.3f", ratio)
	}
	return nil
}
