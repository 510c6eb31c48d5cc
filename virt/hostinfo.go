package virt

import (
	"context"
	"fmt"

	"libvirt.org/go/libvirt"
)

// Versions reports the host's driver and the versions of libvirt and of the
// hypervisor (QEMU on a KVM host), as major.minor.micro.
func (m *Manager) Versions(ctx context.Context) (driver, libvirtVersion, hypervisorVersion string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", "", err
	}
	c, err := m.acquire()
	if err != nil {
		return "", "", "", err
	}
	defer release(c)
	if driver, err = c.GetType(); err != nil {
		return "", "", "", m.fail("driver type", "", err)
	}
	lv, err := c.GetLibVersion()
	if err != nil {
		return "", "", "", m.fail("libvirt version", "", err)
	}
	hv, err := c.GetVersion()
	if err != nil {
		return "", "", "", m.fail("hypervisor version", "", err)
	}
	return driver, dotted(lv), dotted(uint32(hv)), nil
}

// dotted writes libvirt's version number 1002003 as 1.2.3.
func dotted(v uint32) string { return fmt.Sprintf("%d.%d.%d", v/1000000, v/1000%1000, v%1000) }

// Probe connects to uri once, as the running user, and reports the
// versions of libvirt and of the hypervisor: what `virtportal doctor`
// checks before the server relies on it.
func Probe(ctx context.Context, uri string) (libvirtVersion, hypervisorVersion string, err error) {
	type result struct {
		lv, hv string
		err    error
	}
	done := make(chan result, 1)
	go func() {
		c, err := libvirt.NewConnect(uri)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		lv, err := c.GetLibVersion()
		if err != nil {
			done <- result{err: err}
			return
		}
		hv, err := c.GetVersion()
		done <- result{dotted(lv), dotted(uint32(hv)), err}
	}()
	select {
	case r := <-done:
		return r.lv, r.hv, r.err
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
}
