package virt

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the builder's output")

// goldenSpecs are one guest per OS family, as templates make them.
func goldenSpecs() map[string]GuestSpec {
	nic := func(model string) []SpecNIC {
		return []SpecNIC{{Network: "default", Model: model, MAC: "52:54:00:12:34:56"}}
	}
	return map[string]GuestSpec{
		"linux-virtio": {
			Name: "deb12-1", UUID: "6b1f5b8e-7a40-4c63-9d43-0d7f8b1c0a01",
			OS:    api.TemplateOS{ID: "http://debian.org/debian/12", Family: "linux", Distro: "debian", Version: "12"},
			VCPUs: 2, MaxVCPUs: 4, Topology: &api.Topology{Sockets: 1, Cores: 2, Threads: 2},
			MemoryMiB: 2048, MaxMemMiB: 4096, DiskBus: "virtio", NICModel: "virtio",
			Disks: []SpecDisk{{Pool: "default", Volume: "deb12-1.qcow2"}, {Device: "cdrom", Pool: "default", Volume: "deb12-1-cidata.iso"}},
			NICs:  nic(""), Graphics: "vnc", BootOrder: []string{"hd"},
		},
		"windows-11": {
			Name: "win11-1", UUID: "6b1f5b8e-7a40-4c63-9d43-0d7f8b1c0a02", Description: "from template Windows 11",
			OS:    api.TemplateOS{ID: "http://microsoft.com/win/11", Family: "winnt", Distro: "win", Version: "11"},
			VCPUs: 4, MemoryMiB: 4096, Firmware: "uefi", SecureBoot: true, DiskBus: "sata", NICModel: "e1000e",
			Disks: []SpecDisk{{Pool: "default", Volume: "win11-1.qcow2"}, {Device: "cdrom", Pool: "isos", Volume: "Win11.iso"}},
			NICs:  nic(""), Graphics: "spice", BootOrder: []string{"hd", "cdrom"},
		},
		"linux-old": {
			Name: "centos5-1", UUID: "6b1f5b8e-7a40-4c63-9d43-0d7f8b1c0a03",
			OS:    api.TemplateOS{ID: "http://centos.org/centos/5.11", Family: "linux", Distro: "centos", Version: "5.11"},
			VCPUs: 1, MemoryMiB: 512, DiskBus: "ide", NICModel: "rtl8139",
			Disks:    []SpecDisk{{Pool: "default", Volume: "centos5-1.qcow2"}, {Pool: "default", Volume: "centos5-1-data.raw", Format: "raw"}, {Device: "cdrom"}},
			NICs:     []SpecNIC{{Network: "default", MAC: "52:54:00:12:34:56"}, {Network: "lab", Model: "e1000", MAC: "52:54:00:12:34:57"}},
			Graphics: "vnc", BootOrder: []string{"cdrom", "hd"},
		},
		"unknown-os": {
			Name: "generic-1", UUID: "6b1f5b8e-7a40-4c63-9d43-0d7f8b1c0a04", Type: "qemu",
			VCPUs: 1, MemoryMiB: 64, DiskBus: "sata", NICModel: "e1000e", SerialBIOS: true,
			Disks: []SpecDisk{{Pool: "default", Volume: "generic-1.qcow2"}},
			NICs:  nic(""), Graphics: "none",
			Grants: []api.Grant{{Kind: "user", Realm: "pam", Name: "alice", Role: api.RoleManager}},
		},
	}
}

func TestBuildDomainGolden(t *testing.T) {
	for name, spec := range goldenSpecs() {
		t.Run(name, func(t *testing.T) {
			dom, err := BuildDomain(spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := dom.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			got += "\n"
			path := filepath.Join("testdata", "golden", name+".xml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the builder's output:\n%s", path, got)
			}
		})
	}
}

func TestValidateSpec(t *testing.T) {
	base := func() GuestSpec {
		return GuestSpec{Name: "g1", VCPUs: 2, MemoryMiB: 1024, Disks: []SpecDisk{{Pool: "p", Volume: "v"}},
			NICs: []SpecNIC{{Network: "default", MAC: "52:54:00:00:00:01"}}}
	}
	tests := []struct {
		name   string
		change func(*GuestSpec)
		field  string // "" : valid
	}{
		{"valid", func(*GuestSpec) {}, ""},
		{"topology equal to the maximum", func(s *GuestSpec) { s.MaxVCPUs = 8; s.Topology = &api.Topology{Sockets: 2, Cores: 2, Threads: 2} }, ""},
		{"topology short of the maximum", func(s *GuestSpec) { s.MaxVCPUs = 8; s.Topology = &api.Topology{Sockets: 1, Cores: 2, Threads: 2} }, "topology"},
		{"topology with zero threads", func(s *GuestSpec) { s.Topology = &api.Topology{Sockets: 2, Cores: 1} }, "topology"},
		{"more vCPUs than the maximum", func(s *GuestSpec) { s.MaxVCPUs = 1 }, "vcpus"},
		{"no vCPUs", func(s *GuestSpec) { s.VCPUs = 0 }, "vcpus"},
		{"too many vCPUs", func(s *GuestSpec) { s.MaxVCPUs = 1000 }, "max_vcpus"},
		{"memory below the minimum", func(s *GuestSpec) { s.MemoryMiB = 8 }, "memory_mib"},
		{"memory above its maximum", func(s *GuestSpec) { s.MaxMemMiB = 512 }, "memory_mib"},
		{"memory beyond any host", func(s *GuestSpec) { s.MemoryMiB = MaxGuestMemMiB + 1 }, "max_memory_mib"},
		{"secure boot on BIOS", func(s *GuestSpec) { s.SecureBoot = true }, "secure_boot"},
		{"IDE on q35", func(s *GuestSpec) { s.Machine = "q35"; s.DiskBus = "ide" }, "machine"},
		{"unknown firmware", func(s *GuestSpec) { s.Firmware = "coreboot" }, "firmware"},
		{"bad name", func(s *GuestSpec) { s.Name = "a/../b" }, "name"},
		{"wildcard name", func(s *GuestSpec) { s.Name = "web*" }, "name"},
		{"virtio CD-ROM", func(s *GuestSpec) { s.Disks = append(s.Disks, SpecDisk{Device: "cdrom", Bus: "virtio"}) }, "disks[1].bus"},
		{"volume escaping its pool", func(s *GuestSpec) { s.Disks[0].Volume = "../etc/passwd" }, "disks[0].volume"},
		{"multicast MAC", func(s *GuestSpec) { s.NICs[0].MAC = "01:00:5e:00:00:01" }, "nics[0].mac"},
		{"unknown NIC model", func(s *GuestSpec) { s.NICs[0].Model = "ne2k" }, "nics[0].model"},
		{"listen not an address", func(s *GuestSpec) { s.Listen = "0.0.0.0; rm" }, "graphics_listen"},
		{"boot device twice", func(s *GuestSpec) { s.BootOrder = []string{"hd", "hd"} }, "boot_order[1]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.change(&s)
			err := ValidateSpec(&s)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			f := fault.As(err)
			if f == nil || f.Code != CodeInvalidSpec {
				t.Fatalf("err = %v, want %s", err, CodeInvalidSpec)
			}
			var fields []string
			for _, d := range f.Details {
				fields = append(fields, d.Field)
			}
			if !strings.Contains(strings.Join(fields, " "), tc.field) {
				t.Fatalf("details %v do not name %s", fields, tc.field)
			}
		})
	}
}
