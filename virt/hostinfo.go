package virt

import (
	"context"
	"fmt"
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
