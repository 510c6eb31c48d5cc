package virt

import (
	"context"
	"strings"
	"testing"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

func TestNormalizeMAC(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"52:54:00:AB:cd:01", "52:54:00:ab:cd:01", true},
		{"52-54-00-ab-cd-01", "52:54:00:ab:cd:01", true},
		{"01:00:5e:00:00:01", "", false}, // multicast
		{"ff:ff:ff:ff:ff:ff", "", false}, // broadcast
		{"00:00:00:00:00:00", "", false},
		{"52:54:00:ab:cd", "", false},
		{"02:00:5e:10:00:00:00:01", "", false}, // EUI-64
		{"zz:54:00:ab:cd:01", "", false},
		{"", "", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := NormalizeMAC(tc.in)
			if tc.ok {
				if err != nil || got != tc.want {
					t.Fatalf("NormalizeMAC(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
				}
				return
			}
			wantCode(t, err, CodeInvalidMAC)
		})
	}
}

// ifacesXML is the saved (or live) definition's interfaces, one per line,
// without what libvirt adds itself (the test driver's PCI addresses).
func ifacesXML(t *testing.T, m *Manager, name string, flags libvirt.DomainXMLFlags) string {
	t.Helper()
	c := conn(t, m)
	dom, err := c.LookupDomainByName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer dom.Free()
	doc, err := dom.GetXMLDesc(flags)
	if err != nil {
		t.Fatal(err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, i := range d.Devices.Interfaces {
		i.Address, i.Alias, i.Target = nil, nil, nil
		x, err := i.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, x)
	}
	return strings.Join(out, "\n") + "\n"
}

// NIC edits on a shut-off guest of the test driver, checked against
// golden interface XML; on a running one the driver cannot hot-plug, so
// the saved definition changes and the answer says next_boot.
func TestNICEditsGolden(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	const off, on = "backup", "vpn"
	if mustVM(t, m, off).State != api.StateShutoff || mustVM(t, m, on).State != api.StateRunning {
		t.Fatal("the fixture's backup is shut off and vpn runs")
	}
	list, err := m.NICs(ctx, off)
	if err != nil {
		t.Fatal(err)
	}
	if list.DefaultModel != "virtio" || len(list.Items) != 1 || list.Live {
		t.Fatalf("NICs = %+v", list)
	}
	ch, err := m.AddNIC(ctx, off, api.NICRequest{Source: FixtureNetDefault, Model: "e1000", MAC: "52:54:00:AA:BB:01", Link: "down"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Applies != api.AppliesNow || ch.NIC.MAC != "52:54:00:aa:bb:01" || ch.NIC.Link != "down" || ch.NIC.Model != "e1000" {
		t.Fatalf("add = %+v", ch)
	}
	golden(t, "nic-add.xml", ifacesXML(t, m, off, libvirt.DOMAIN_XML_INACTIVE))

	ch, err = m.UpdateNIC(ctx, off, "52:54:00:aa:bb:01", api.NICRequest{Link: "up", Model: "rtl8139", Source: FixtureNetIsolated})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Applies != api.AppliesNow || ch.NIC.Source != FixtureNetIsolated || ch.NIC.Model != "rtl8139" || ch.NIC.Link != "up" {
		t.Fatalf("update = %+v", ch)
	}
	golden(t, "nic-update.xml", ifacesXML(t, m, off, libvirt.DOMAIN_XML_INACTIVE))

	// The default model comes from the metadata; a MAC is generated.
	ch, err = m.AddNIC(ctx, off, api.NICRequest{Source: FixtureNetDefault})
	if err != nil {
		t.Fatal(err)
	}
	if ch.NIC.Model != "virtio" || !strings.HasPrefix(ch.NIC.MAC, "52:54:00:") {
		t.Fatalf("add with defaults = %+v", ch)
	}
	if _, err := m.RemoveNIC(ctx, off, ch.NIC.MAC); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RemoveNIC(ctx, off, "52:54:00:aa:bb:01"); err != nil {
		t.Fatal(err)
	}
	golden(t, "nic-remove.xml", ifacesXML(t, m, off, libvirt.DOMAIN_XML_INACTIVE))

	// A running guest on the test driver: saved for the next boot.
	liveBefore := ifacesXML(t, m, on, 0)
	ch, err = m.AddNIC(ctx, on, api.NICRequest{Source: FixtureNetDefault, MAC: "52:54:00:aa:bb:02"})
	if err != nil {
		t.Fatal(err)
	}
	if ch.Applies != api.AppliesNextBoot {
		t.Fatalf("add to a running test guest = %+v", ch)
	}
	if got := ifacesXML(t, m, on, 0); got != liveBefore {
		t.Fatalf("the live definition changed:\n%s", got)
	}
	if got := ifacesXML(t, m, on, libvirt.DOMAIN_XML_INACTIVE); !strings.Contains(got, "52:54:00:aa:bb:02") {
		t.Fatalf("the saved definition lacks the NIC:\n%s", got)
	}
}

// Refusals change nothing.
func TestNICRefusals(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	const off = "backup"
	other, err := m.NICs(ctx, "vpn")
	if err != nil {
		t.Fatal(err)
	}
	before := ifacesXML(t, m, off, libvirt.DOMAIN_XML_INACTIVE)
	mine, err := m.NICs(ctx, off)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		req  api.NICRequest
		code fault.Code
		says string
	}{
		{"mac of another guest", api.NICRequest{Source: FixtureNetDefault, MAC: other.Items[0].MAC}, CodeMACInUse, `"vpn"`},
		{"mac of its own", api.NICRequest{Source: FixtureNetDefault, MAC: mine.Items[0].MAC}, CodeMACInUse, `"backup"`},
		{"multicast mac", api.NICRequest{Source: FixtureNetDefault, MAC: "01:00:5e:00:00:01"}, CodeInvalidMAC, "multicast"},
		{"zero mac", api.NICRequest{Source: FixtureNetDefault, MAC: "00:00:00:00:00:00"}, CodeInvalidMAC, ""},
		{"unknown model", api.NICRequest{Source: FixtureNetDefault, Model: "ne2k_pci"}, CodeUnknownNICModel, "virtio"},
		{"missing network", api.NICRequest{Source: "nowhere"}, CodeNetworkNotFound, ""},
		{"bad network name", api.NICRequest{Source: "../etc"}, CodeInvalidName, ""},
		{"no source", api.NICRequest{Model: "virtio"}, CodeNICSourceNeeded, ""},
		{"unknown type", api.NICRequest{Type: "vhostuser", Source: "x"}, CodeUnknownNICType, ""},
		{"bad bridge", api.NICRequest{Type: NICBridge, Source: "br0 ; rm"}, CodeInvalidInterface, ""},
		{"bad link", api.NICRequest{Source: FixtureNetDefault, Link: "sideways"}, CodeInvalidLink, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.AddNIC(ctx, off, tc.req)
			f := wantCode(t, err, tc.code)
			if !strings.Contains(f.Message, tc.says) {
				t.Fatalf("message %q does not say %s", f.Message, tc.says)
			}
			if got := ifacesXML(t, m, off, libvirt.DOMAIN_XML_INACTIVE); got != before {
				t.Fatalf("the guest changed:\n%s", got)
			}
		})
	}
	_, err = m.UpdateNIC(ctx, off, "52:54:00:00:00:99", api.NICRequest{Link: "down"})
	wantCode(t, err, CodeNICNotFound)
	_, err = m.UpdateNIC(ctx, off, mine.Items[0].MAC, api.NICRequest{MAC: "52:54:00:00:00:98"})
	wantCode(t, err, CodeInvalidMAC)
	_, err = m.RemoveNIC(ctx, off, "not-a-mac")
	wantCode(t, err, CodeInvalidMAC)
	if got := ifacesXML(t, m, off, libvirt.DOMAIN_XML_INACTIVE); got != before {
		t.Fatalf("the guest changed:\n%s", got)
	}
}

// Parallel adds on a driver that rewrites the whole definition lose none.
func TestNICParallelAdds(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	const n = 12
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := m.AddNIC(ctx, "backup", api.NICRequest{Source: FixtureNetDefault})
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	l, err := m.NICs(ctx, "backup")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, x := range l.Items {
		seen[x.MAC] = true
	}
	if len(l.Items) != n+1 || len(seen) != n+1 {
		t.Fatalf("%d NICs, %d distinct MACs; want %d", len(l.Items), len(seen), n+1)
	}
}

// A MAC saved for a running guest's next boot (not in what it runs with,
// nor in the index) is in use too.
func TestNICMACSavedForNextBoot(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	if _, err := m.AddNIC(ctx, "vpn", api.NICRequest{Source: FixtureNetDefault, MAC: "52:54:00:aa:bb:03"}); err != nil {
		t.Fatal(err)
	}
	_, err := m.AddNIC(ctx, "backup", api.NICRequest{Source: FixtureNetDefault, MAC: "52:54:00:aa:bb:03"})
	if f := wantCode(t, err, CodeMACInUse); !strings.Contains(f.Message, `"vpn"`) {
		t.Fatal(f.Message)
	}
}
