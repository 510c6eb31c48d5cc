// NIC hot-plug (issue 11): a NIC added to a running guest, live and saved,
// through the API against `virsh attach-interface --live --config` by hand
// on qemu:///system, interleaved; the guest is power-cycled between runs so
// every plug meets the same guest (one without an OS never acks an unplug).

package main

import (
	"fmt"
	"os"
	"os/exec"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// benchNICPlug: POST /api/v1/vms/{name}/nics (201 once libvirt has plugged
// it) against virsh attach-interface; goal: API median <= 1.2x by hand.
func benchNICPlug(bin, uri string, runs int) error {
	conn, err := libvirt.NewConnect(uri)
	if err != nil {
		return fmt.Errorf("%s: %w (start libvirtd as `make e2e` does)", uri, err)
	}
	defer conn.Close()
	name := fmt.Sprintf("vpe3-nicbench-%d", os.Getpid())
	netXML, _ := (&libvirtxml.Network{Name: name}).Marshal()
	nw, err := conn.NetworkCreateXML(netXML)
	if err != nil {
		return fmt.Errorf("network: %w", err)
	}
	defer func() { _ = nw.Destroy(); _ = nw.Free() }()
	domXML, _ := (&libvirtxml.Domain{Type: "qemu", Name: name,
		Memory: &libvirtxml.DomainMemory{Value: 64, Unit: "MiB"}, VCPU: &libvirtxml.DomainVCPU{Value: 1},
		Features: &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}},
		OS:       &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
	}).Marshal()
	dom, err := conn.DomainDefineXML(domXML)
	if err != nil {
		return err
	}
	defer func() { _ = dom.Destroy(); _ = dom.Undefine(); _ = dom.Free() }()
	if domXML, err = dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE); err != nil { // with its UUID
		return err
	}
	// reset power-cycles the guest from its original definition.
	reset := func() error {
		_ = dom.Destroy()
		if _, err := conn.DomainDefineXML(domXML); err != nil {
			return err
		}
		return dom.Create()
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
	viaAPI := func() (time.Duration, error) {
		t0 := time.Now()
		var ch api.NICChange
		st, err := post(hc, csrf, p.base+"/api/v1/vms/"+name+"/nics", api.NICRequest{Source: name, Model: "virtio"}, &ch)
		if err != nil || st != 201 || ch.Applies != api.AppliesNow {
			return 0, fmt.Errorf("add NIC: %d %+v %v", st, ch, err)
		}
		return time.Since(t0), nil
	}
	viaVirsh := func() (time.Duration, error) {
		t0 := time.Now()
		if out, err := exec.Command("virsh", "-c", uri, "attach-interface", name, "network", name, "--model", "virtio", "--live", "--config").CombinedOutput(); err != nil {
			return 0, fmt.Errorf("virsh attach-interface: %v: %s", err, out)
		}
		return time.Since(t0), nil
	}
	var a, v []time.Duration
	for range runs {
		for _, m := range []struct {
			f   func() (time.Duration, error)
			out *[]time.Duration
		}{{viaVirsh, &v}, {viaAPI, &a}} {
			if err := reset(); err != nil {
				return err
			}
			time.Sleep(300 * time.Millisecond) // past SeaBIOS's start
			d, err := m.f()
			if err != nil {
				return err
			}
			*m.out = append(*m.out, d)
		}
	}
	a50, v50 := percentile(a, .5), percentile(v, .5)
	ratio := float64(a50) / float64(v50)
	fmt.Printf("Hot-plug a virtio NIC into a running guest, live and saved, on %s (%d runs each, interleaved)\n", uri, runs)
	fmt.Printf("  virtportal API (POST …/nics → 201)            median %s\n", ms(a50))
	fmt.Printf("  virsh attach-interface --live --config        median %s   (baseline, same run)\n", ms(v50))
	fmt.Printf("  ratio API/by hand                             %.3f   (goal: <= 1.2)\n", ratio)
	if ratio > 1.2 {
		return fmt.Errorf("budget missed: %.3f", ratio)
	}
	return nil
}
