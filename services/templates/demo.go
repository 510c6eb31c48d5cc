package templates

import (
	"context"

	"github.com/virtportal/virtportal/api"
)

// DemoNames are the volumes the demo templates use (virt's demo fixture
// has them): the cloud image's pool and name, and two installer ISOs.
type DemoNames struct {
	Pool, ISOPool, Network        string
	CloudImage, DebianISO, WinISO string
}

// Demo is the demo host's three templates: a Debian 12 cloud image with
// cloud-init, the Debian 12 installer, and Windows 11 (UEFI, secure boot,
// SATA, e1000e).
func Demo(n DemoNames) []api.Template {
	const gib = 1 << 30
	return []api.Template{
		{Name: "Debian 12 cloud", Description: "Debian 12 generic cloud image, a linked clone with cloud-init",
			OS:    api.TemplateOS{ID: "http://debian.org/debian/12", ShortID: "debian12", Name: "Debian 12", Family: "linux", Distro: "debian", Version: "12"},
			VCPUs: 2, MaxVCPUs: 4, Topology: &api.Topology{Sockets: 1, Cores: 4, Threads: 1}, MemoryMiB: 2048, MaxMemoryMiB: 4096,
			Firmware: "bios", Machine: "q35", Source: api.TemplateSource{Kind: api.SourceCloudImage, Pool: n.Pool, Volume: n.CloudImage, Linked: true},
			Disks: []api.TemplateDisk{{Pool: n.Pool, Size: 20 * gib, Format: "qcow2", Bus: "virtio"}},
			NICs:  []api.TemplateNIC{{Network: n.Network, Model: "virtio"}}, Graphics: "vnc", BootOrder: []string{"hd"},
			CloudInit: &api.CloudInit{User: "debian", HostnamePattern: "{name}"}},
		{Name: "Debian 12 installer", Description: "Debian 12 netinst ISO on an empty disk",
			OS:    api.TemplateOS{ID: "http://debian.org/debian/12", ShortID: "debian12", Name: "Debian 12", Family: "linux", Distro: "debian", Version: "12"},
			VCPUs: 2, MaxVCPUs: 2, MemoryMiB: 2048, MaxMemoryMiB: 2048, Firmware: "bios", Machine: "q35",
			Source: api.TemplateSource{Kind: api.SourceISO, Pool: n.ISOPool, Volume: n.DebianISO},
			Disks:  []api.TemplateDisk{{Pool: n.Pool, Size: 20 * gib, Format: "qcow2", Bus: "virtio"}},
			NICs:   []api.TemplateNIC{{Network: n.Network, Model: "virtio"}}, Graphics: "vnc", BootOrder: []string{"hd", "cdrom"}},
		{Name: "Windows 11", Description: "Windows 11 installer: UEFI with secure boot, SATA disk, e1000e network",
			OS:    api.TemplateOS{ID: "http://microsoft.com/win/11", ShortID: "win11", Name: "Microsoft Windows 11", Family: "winnt", Distro: "win", Version: "11"},
			VCPUs: 2, MaxVCPUs: 2, Topology: &api.Topology{Sockets: 1, Cores: 2, Threads: 1}, MemoryMiB: 4096, MaxMemoryMiB: 8192,
			Firmware: "uefi", SecureBoot: true, Machine: "q35", Source: api.TemplateSource{Kind: api.SourceISO, Pool: n.ISOPool, Volume: n.WinISO},
			Disks: []api.TemplateDisk{{Pool: n.Pool, Size: 64 * gib, Format: "qcow2", Bus: "sata"}},
			NICs:  []api.TemplateNIC{{Network: n.Network, Model: "e1000e"}}, Graphics: "spice", BootOrder: []string{"hd", "cdrom"}},
	}
}

// SeedDemo creates the demo templates on a host that has none; it does
// nothing (and reports false) when the host has any.
func (s *Service) SeedDemo(ctx context.Context, n DemoNames) (bool, error) {
	have, err := s.st.ListTemplates(ctx, s.host.HostName())
	if err != nil || len(have) > 0 {
		return false, err
	}
	for _, t := range Demo(n) {
		if _, err := s.Create(ctx, t, true); err != nil {
			return false, err
		}
	}
	return true, nil
}
