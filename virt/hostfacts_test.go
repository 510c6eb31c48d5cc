package virt

import (
	"context"
	"os"
	"slices"
	"testing"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// TestFactsFromCaps reads the capabilities and domain capabilities of a
// QEMU host (captured from this lab's libvirtd, TCG only).
func TestFactsFromCaps(t *testing.T) {
	var caps libvirtxml.Caps
	var dc libvirtxml.DomainCaps
	for path, v := range map[string]interface{ Unmarshal(string) error }{
		"testdata/hostfacts/qemu-caps.xml": &caps, "testdata/hostfacts/qemu-domcaps.xml": &dc} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Unmarshal(string(b)); err != nil {
			t.Fatal(err)
		}
	}
	var f api.HostFacts
	if vt := factsFromCaps(&caps, &f); vt != "qemu" || f.KVM {
		t.Fatalf("virt type %q, kvm %v: this host offers TCG only", vt, f.KVM)
	}
	factsFromDomainCaps(&dc, &f)
	if f.CPUModel != "kvm64" || f.CPUVendor != "AMD" || f.Sockets != 1 || f.CoresPerSock != 2 {
		t.Fatalf("cpu %+v", f)
	}
	if !slices.Contains(f.Architectures, "x86_64") || !slices.Contains(f.Graphics, "vnc") || !slices.Contains(f.Graphics, "spice") || f.MaxVCPUs < 2 {
		t.Fatalf("facts %+v", f)
	}
	i := slices.IndexFunc(f.Machines, func(m api.HostMachine) bool { return m.Arch == "x86_64" })
	if i < 0 || !slices.ContainsFunc(f.Machines[i].Machines, func(n string) bool { return len(n) > 6 && n[:6] == "pc-q35" }) {
		t.Fatalf("machines %+v", f.Machines)
	}
}

func TestOSReleaseName(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"pretty", "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", "Debian GNU/Linux 12 (bookworm)"},
		{"no pretty", "NAME=Fedora\nVERSION='40 (Server)'\n", "Fedora 40 (Server)"},
		{"comments and junk", "# x\njunk\nPRETTY_NAME=Alpine\n", "Alpine"},
		{"empty", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := OSReleaseName([]byte(tc.in)); got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHostFactsDemo: the test driver runs on this machine, so the OS and
// kernel are this machine's.
func TestHostFactsDemo(t *testing.T) {
	m := startFixture(t, FixtureOptions{Guests: 2})
	h, err := m.Host(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if h.OS == "" || h.Kernel == "" || h.MemoryBytes == 0 || h.Architectures == nil || h.Graphics == nil || h.MaxVCPUs == 0 {
		t.Fatalf("facts %+v", h.HostFacts)
	}
}
