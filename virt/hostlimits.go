package virt

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// ovmfGlobs are where Debian's ovmf package puts the UEFI firmware; used
// when libvirt cannot list its firmware (older daemons, the test driver).
var ovmfGlobs = []string{"/usr/share/OVMF/OVMF_CODE*.fd", "/usr/share/qemu/OVMF*.fd"}

// MaxGuestMemoryMiB is the most memory a template may give a guest (16 TiB).
const MaxGuestMemoryMiB = 16 << 20

// HostLimits reads what templates are checked against: the hypervisor's
// largest guest (domain capabilities, else the host's CPUs), the threads per
// core, and whether OVMF is installed. The test
// driver accepts any loader, so a demo host offers UEFI and secure boot.
func (m *Manager) HostLimits(ctx context.Context) (api.HostLimits, error) {
	if err := ctx.Err(); err != nil {
		return api.HostLimits{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.HostLimits{}, err
	}
	defer release(c)
	ni, err := c.GetNodeInfo()
	if err != nil {
		return api.HostLimits{}, m.fail("node info", "", err)
	}
	// Memory is overcommitted as a matter of course: the bound is a
	// guest's, not the host's RAM.
	l := api.HostLimits{MaxMemoryMiB: MaxGuestMemoryMiB, ThreadsPerCore: max(1, int(ni.Threads)), MaxVCPUs: max(1, int(ni.Cpus))}
	if n, err := c.GetMaxVcpus(""); err == nil && n > 0 {
		l.MaxVCPUs = max(l.MaxVCPUs, n)
	}
	if strings.HasPrefix(m.cfg.URI, "test:") {
		l.UEFI, l.SecureBoot = true, true
		return l, nil
	}
	var paths []string
	if s, err := c.GetDomainCapabilities("", "x86_64", "", "", 0); err == nil {
		var dc libvirtxml.DomainCaps
		if dc.Unmarshal(s) == nil {
			if dc.VCPU != nil && dc.VCPU.Max > 0 {
				l.MaxVCPUs = int(dc.VCPU.Max)
			}
			if dc.OS != nil {
				for _, e := range dc.OS.Enums {
					if e.Name == "firmware" && slices.Contains(e.Values, "efi") {
						l.UEFI = true
					}
				}
				if ld := dc.OS.Loader; ld != nil && ld.Supported == "yes" {
					paths = ld.Values
					for _, e := range ld.Enums {
						if e.Name == "secure" && slices.Contains(e.Values, "yes") {
							l.SecureBoot = true
						}
					}
				}
			}
		}
	}
	if m.local() {
		// A listed path counts only where the file is there.
		l.UEFI = l.UEFI || slices.ContainsFunc(paths, func(p string) bool { _, err := os.Stat(p); return err == nil })
		for _, g := range ovmfGlobs {
			if ms, _ := filepath.Glob(g); len(ms) > 0 {
				l.UEFI = true
			}
		}
	} else {
		l.UEFI = l.UEFI || len(paths) > 0
	}
	l.SecureBoot = l.SecureBoot && l.UEFI
	return l, nil
}
