package templates

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

var limits = api.HostLimits{MaxVCPUs: 16, MaxMemoryMiB: 8192, ThreadsPerCore: 2, UEFI: true, SecureBoot: true}

const edKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGq3Pp0Bp4aD8m5q3c0q3s1Z0Xo3Qm0u3c7yJq0X0J0b alice@example"

func good() api.Template {
	return api.Template{Name: "debian 12", OS: api.TemplateOS{ShortID: "debian12"}, VCPUs: 2, MaxVCPUs: 4,
		Topology: &api.Topology{Sockets: 1, Cores: 2, Threads: 2}, MemoryMiB: 1024, MaxMemoryMiB: 2048,
		Firmware: "uefi", SecureBoot: true, Source: api.TemplateSource{Kind: api.SourceCloudImage, Pool: "default", Volume: "debian-12.qcow2", Linked: true},
		Disks: []api.TemplateDisk{{Pool: "default", Size: 10 << 30}}, NICs: []api.TemplateNIC{{Network: "default", Model: "virtio"}},
		Graphics: "vnc", BootOrder: []string{"hd", "cdrom"},
		CloudInit: &api.CloudInit{User: "debian", SSHKeys: []string{edKey}, PasswordHash: "$6$rounds=4096$saltsalt$hashhashhashhash",
			HostnamePattern: "{name}", UserData: "#cloud-config\npackages: [htop]\n"}}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name   string
		change func(*api.Template)
		admin  bool
		field  string // "": valid
	}{
		{"good", func(*api.Template) {}, false, ""},
		{"defaults", func(t *api.Template) { t.MaxVCPUs, t.MaxMemoryMiB, t.Topology = 0, 0, nil }, false, ""},
		{"iso without disks", func(t *api.Template) {
			t.Source = api.TemplateSource{Kind: api.SourceISO, Pool: "isos", Volume: "d.iso"}
			t.Disks = nil
		}, false, ""},
		{"path name", func(t *api.Template) { t.Name = "../etc" }, false, "name"},
		{"star name", func(t *api.Template) { t.Name = "a*" }, false, "name"},
		{"empty name", func(t *api.Template) { t.Name = "" }, false, "name"},
		{"long description", func(t *api.Template) { t.Description = strings.Repeat("x", 10<<20) }, false, "description"},
		{"too many vcpus", func(t *api.Template) { t.VCPUs, t.MaxVCPUs, t.Topology = 2, 32, nil }, false, "max_vcpus"},
		{"vcpus over max", func(t *api.Template) { t.VCPUs = 8 }, false, "max_vcpus"},
		{"bad topology", func(t *api.Template) { t.Topology = &api.Topology{Sockets: 3, Cores: 1, Threads: 1} }, false, "topology"},
		{"zero topology", func(t *api.Template) { t.Topology = &api.Topology{} }, false, "topology"},
		{"threads over host", func(t *api.Template) { t.Topology = &api.Topology{Sockets: 1, Cores: 1, Threads: 4} }, false, "topology.threads"},
		{"memory over max", func(t *api.Template) { t.MemoryMiB = 4096 }, false, "max_memory_mib"},
		{"memory over host", func(t *api.Template) { t.MaxMemoryMiB = 1 << 20 }, false, "max_memory_mib"},
		{"tiny memory", func(t *api.Template) { t.MemoryMiB = 1 }, false, "memory_mib"},
		{"bad firmware", func(t *api.Template) { t.Firmware = "coreboot" }, false, "firmware"},
		{"secure boot on bios", func(t *api.Template) { t.Firmware = "bios" }, false, "secure_boot"},
		{"no disks", func(t *api.Template) { t.Disks = nil }, false, "disks"},
		{"disk pool path", func(t *api.Template) { t.Disks[0].Pool = "../x" }, false, "disks[0].pool"},
		{"disk too big", func(t *api.Template) { t.Disks[0].Size = 1 << 62 }, false, "disks[0].size"},
		{"disk bus", func(t *api.Template) { t.Disks[0].Bus = "floppy" }, false, "disks[0].bus"},
		{"nic model", func(t *api.Template) { t.NICs[0].Model = "ne2k" }, false, "nics[0].model"},
		{"volume path", func(t *api.Template) { t.Source.Volume = "../../etc/shadow" }, false, "source.volume"},
		{"source kind", func(t *api.Template) { t.Source.Kind = "http" }, false, "source.kind"},
		{"listen non-admin", func(t *api.Template) { t.Listen = "0.0.0.0" }, false, "graphics_listen"},
		{"listen admin", func(t *api.Template) { t.Listen = "0.0.0.0" }, true, ""},
		{"listen loopback", func(t *api.Template) { t.Listen = "127.0.0.1" }, false, ""},
		{"listen not an address", func(t *api.Template) { t.Listen = "evil.example" }, true, "graphics_listen"},
		{"graphics", func(t *api.Template) { t.Graphics = "rdp" }, false, "graphics"},
		{"boot twice", func(t *api.Template) { t.BootOrder = []string{"hd", "hd"} }, false, "boot_order[1]"},
		{"ssh key garbage", func(t *api.Template) { t.CloudInit.SSHKeys = []string{"hello"} }, false, "cloud_init.ssh_keys[0]"},
		{"ssh key wrong type", func(t *api.Template) { t.CloudInit.SSHKeys = []string{"ssh-rsa " + strings.Fields(edKey)[1]} }, false, "cloud_init.ssh_keys[0]"},
		{"ssh key newline", func(t *api.Template) { t.CloudInit.SSHKeys = []string{edKey + "\nssh-rsa x"} }, false, "cloud_init.ssh_keys[0]"},
		{"plain password", func(t *api.Template) { t.CloudInit.PasswordHash = "hunter2" }, false, "cloud_init.password_hash"},
		{"user", func(t *api.Template) { t.CloudInit.User = "root;rm" }, false, "cloud_init.user"},
		{"user data", func(t *api.Template) { t.CloudInit.UserData = "#!/bin/sh\nrm -rf /" }, false, "cloud_init.user_data"},
		{"machine", func(t *api.Template) { t.Machine = "q35 --evil" }, false, "machine"},
		{"arch", func(t *api.Template) { t.OS.Arch = "aarch64" }, false, "os.arch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp := good()
			tc.change(&tp)
			Normalize(&tp)
			err := Validate(tp, limits, tc.admin)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v %+v", err, fault.As(err))
				}
				return
			}
			e := fault.As(err)
			if e == nil || e.Code.Name != CodeInvalidTemplate.Name {
				t.Fatalf("err = %v, want invalid_template", err)
			}
			for _, d := range e.Details {
				if d.Field == tc.field {
					return
				}
			}
			t.Fatalf("details %+v name no %q", e.Details, tc.field)
		})
	}
}

func TestUEFIAbsent(t *testing.T) {
	tp := good()
	Normalize(&tp)
	l := limits
	l.UEFI, l.SecureBoot = false, false
	if e := fault.As(Validate(tp, l, true)); e == nil || e.Details[0].Field != "firmware" {
		t.Fatalf("%+v", e)
	}
}

// FuzzTemplate feeds the strict decoder and the validator: neither panics,
// and a template they accept survives a JSON round trip unchanged and
// still valid.
func FuzzTemplate(f *testing.F) {
	b, _ := json.Marshal(good())
	f.Add(b)
	f.Add([]byte(`{"name":"x","vcpus":1,"memory_mib":64,"disks":[{"pool":"p","size":1048576}],"nics":[],"graphics":"none"}`))
	f.Add([]byte(`{"name":"../x","topology":{"sockets":-1,"cores":0,"threads":9},"evil":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tp, err := Decode(data)
		if err != nil {
			return
		}
		Normalize(&tp)
		if Validate(tp, limits, false) != nil {
			return
		}
		again, _ := json.Marshal(tp)
		back, err := Decode(again)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		Normalize(&back)
		if !reflect.DeepEqual(back.Disks, tp.Disks) || back.Name != tp.Name || Validate(back, limits, false) != nil {
			t.Fatalf("round trip changed the template")
		}
	})
}
