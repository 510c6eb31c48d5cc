// vCPU change: raise a running guest's vCPUs by one through the API
// (PUT /api/v1/vms/{name}, live and saved together) against
// `virsh setvcpus --live --config` by hand on qemu:///system.

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// benchVCPUs: each run raises the vCPUs by one, by hand and through the
// API in turn, on one diskless guest with room for every step (a guest
// without an OS cannot give a vCPU back, so each step goes up); goal: API
// median <= 1.2x the by-hand one.
func benchVCPUs(bin, uri string, runs int) error {
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return fmt.Errorf("%s: %w (start libvirtd as `make e2e` does)", uri, err)
	}
	defer conn.Close()
	name := fmt.Sprintf("vpe1-bench-vcpu-%d", os.Getpid())
	dom := &libvirtxml.Domain{Type: "qemu", Name: name,
		Memory:  &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"},
		VCPU:    &libvirtxml.DomainVCPU{Placement: "static", Value: uint(2*runs + 1), Current: 1},
		OS:      &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		Devices: &libvirtxml.DomainDeviceList{},
	}
	if _, err := os.Stat("/dev/kvm"); err == nil {
		dom.Type = "kvm"
	}
	doc, _ := dom.Marshal()
	d, err := conn.DomainDefineXML(doc)
	if err != nil {
		return err
	}
	defer func() { _ = d.Destroy(); _ = d.Undefine(); _ = d.Free() }()
	if err := d.Create(); err != nil {
		return err
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
	// The index must know the guest runs before the first request.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		res, err := hc.Get(p.base + "/api/v1/vms/" + name)
		if err == nil {
			var vm api.VM
			_ = json.NewDecoder(res.Body).Decode(&vm)
			res.Body.Close()
			if vm.State == api.StateRunning {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("guest %s never indexed as running", name)
		}
	}
	viaAPI := func(n int) (time.Duration, error) {
		b, _ := json.Marshal(api.VMUpdate{VCPUs: &n})
		req, _ := http.NewRequest("PUT", p.base+"/api/v1/vms/"+name, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-CSRF-Token", csrf)
		t0 := time.Now()
		res, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		var out api.VMUpdateResult
		err = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		el := time.Since(t0)
		if err != nil || res.StatusCode != 200 || out.Settings.VCPUs != n {
			return 0, fmt.Errorf("PUT vcpus %d: %d %v", n, res.StatusCode, err)
		}
		return el, nil
	}
	viaVirsh := func(n int) (time.Duration, error) {
		t0 := time.Now()
		if out, err := exec.Command("virsh", "-c", uri, "setvcpus", name, strconv.Itoa(n), "--live", "--config").CombinedOutput(); err != nil {
			return 0, fmt.Errorf("virsh setvcpus: %v: %s", err, out)
		}
		return time.Since(t0), nil
	}
	var a, v []time.Duration
	n := 1
	for range runs {
		n++
		dv, err := viaVirsh(n)
		if err != nil {
			return err
		}
		n++
		da, err := viaAPI(n)
		if err != nil {
			return err
		}
		v, a = append(v, dv), append(a, da)
	}
	a50, v50 := percentile(a, .5), percentile(v, .5)
	ratio := float64(a50) / float64(v50)
	fmt.Printf("Raise a running guest's vCPUs by one, live and saved, on %s (%d runs each, interleaved)\n", uri, runs)
	fmt.Printf("  virtportal API (PUT /api/v1/vms/{name})   median %s\n", ms(a50))
	fmt.Printf("  virsh setvcpus --live --config            median %s   (baseline, same run)\n", ms(v50))
	fmt.Printf("  ratio API/by hand                         %.3f   (goal: <= 1.2)\n", ratio)
	if ratio > 1.2 {
		return fmt.Errorf("budget missed: %.3f", ratio)
	}
	return nil
}
