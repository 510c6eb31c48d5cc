package virt

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

func TestNetworkNames(t *testing.T) {
	for _, n := range hostileNames {
		if !fault.Is(ValidateNetworkName(n), CodeInvalidName) {
			t.Errorf("network name %q accepted", n)
		}
	}
}

func TestNetworkRequests(t *testing.T) {
	for _, tc := range []struct {
		name string
		req  api.NetworkRequest
		code fault.Code
	}{
		{"hostile name", api.NetworkRequest{Name: "../x", Kind: api.NetNAT}, CodeInvalidName},
		{"unknown kind", api.NetworkRequest{Name: "n", Kind: "vxlan"}, CodeUnknownNetKind},
		{"not CIDR", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "192.168.5.0"}, CodeInvalidSubnet},
		{"host bits", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "192.168.5.7/24"}, CodeInvalidSubnet},
		{"ipv6", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "fd00::/64"}, CodeInvalidSubnet},
		{"too small", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "192.168.5.0/30"}, CodeInvalidSubnet},
		{"loopback", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "127.0.0.0/8"}, CodeInvalidSubnet},
		{"range outside", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "192.168.5.0/24", DHCP: true, DHCPStart: "192.168.6.2", DHCPEnd: "192.168.6.9"}, CodeInvalidDHCPRange},
		{"range backwards", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "192.168.5.0/24", DHCP: true, DHCPStart: "192.168.5.9", DHCPEnd: "192.168.5.2"}, CodeInvalidDHCPRange},
		{"range holds gateway", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "192.168.5.0/24", DHCP: true, DHCPStart: "192.168.5.1", DHCPEnd: "192.168.5.9"}, CodeInvalidDHCPRange},
		{"range without dhcp", api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "192.168.5.0/24", DHCPStart: "192.168.5.2", DHCPEnd: "192.168.5.9"}, CodeInvalidDHCPRange},
		{"routed without subnet", api.NetworkRequest{Name: "n", Kind: api.NetRouted}, CodeInvalidSubnet},
		{"bridge without bridge", api.NetworkRequest{Name: "n", Kind: api.NetBridge}, CodeInvalidInterface},
		{"bridge hostile", api.NetworkRequest{Name: "n", Kind: api.NetBridge, Bridge: "br0/../x"}, CodeInvalidInterface},
		{"bridge with subnet", api.NetworkRequest{Name: "n", Kind: api.NetBridge, Bridge: "br0", Subnet: "192.168.5.0/24"}, CodeInvalidSubnet},
		{"direct without device", api.NetworkRequest{Name: "n", Kind: api.NetDirect}, CodeInvalidInterface},
		{"isolated with device", api.NetworkRequest{Name: "n", Kind: api.NetIsolated, Device: "eth0"}, CodeInvalidInterface},
		{"vlan on nat", api.NetworkRequest{Name: "n", Kind: api.NetNAT, VLAN: 5}, CodeInvalidVLAN},
		{"vlan too big", api.NetworkRequest{Name: "n", Kind: api.NetBridge, Bridge: "br0", VLAN: 4095}, CodeInvalidVLAN},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkNetworkRequest(&tc.req); !fault.Is(err, tc.code) {
				t.Fatalf("got %v, want %s", err, tc.code.Name)
			}
		})
	}
	req := api.NetworkRequest{Name: "n", Kind: api.NetNAT, Subnet: "10.1.2.0/24", DHCP: true}
	if err := checkNetworkRequest(&req); err != nil || req.DHCPStart != "10.1.2.2" || req.DHCPEnd != "10.1.2.254" {
		t.Fatalf("default range: %v %+v", err, req)
	}
}

func TestPickFree(t *testing.T) {
	used := []netip.Prefix{netip.MustParsePrefix("192.168.100.0/24"), netip.MustParsePrefix("192.168.96.0/20")}
	p, ok := pickFree(used)
	if !ok || p.String() != "192.168.112.0/24" {
		t.Fatalf("got %v %v", p, ok)
	}
	all := []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("10.0.0.0/8")}
	if _, ok := pickFree(all); ok {
		t.Fatal("a subnet found where none is free")
	}
	r, ok := parseRouteLine("eth0\t0000A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0")
	if !ok || r.String() != "192.168.0.0/24" {
		t.Fatalf("route line: %v %v", r, ok)
	}
	if _, ok := parseRouteLine("eth0\t00000000\t0102A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0"); ok {
		t.Fatal("the default route was taken")
	}
}

func TestNetworks(t *testing.T) {
	m := startFixture(t, FixtureOptions{Seed: 1})
	ctx := context.Background()
	nets, err := m.ListNetworks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]api.Network{}
	for _, n := range nets {
		byName[n.Name] = n
	}
	def, iso := byName[FixtureNetDefault], byName[FixtureNetIsolated]
	if def.Kind != api.NetNAT || def.Subnet != "192.168.122.0/24" || def.Gateway != "192.168.122.1" || def.DHCPStart != "192.168.122.2" || def.State != api.NetActive || len(def.UsedBy) == 0 {
		t.Fatalf("default: %+v", def)
	}
	if iso.Kind != api.NetIsolated || iso.Subnet != "10.10.10.0/24" || !slices.Contains(iso.UsedBy, "db01") {
		t.Fatalf("isolated: %+v", iso)
	}

	t.Run("in use", func(t *testing.T) {
		if _, err := m.StopNetwork(ctx, FixtureNetDefault); !fault.Is(err, CodeNetworkInUse) {
			t.Fatalf("stop: %v", err)
		}
		err := m.DeleteNetwork(ctx, FixtureNetIsolated)
		if !fault.Is(err, CodeNetworkInUse) || len(fault.As(err).Details) == 0 {
			t.Fatalf("delete: %v", err)
		}
	})

	t.Run("lifecycle", func(t *testing.T) {
		free, err := m.FreeSubnet(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n, err := m.CreateNetwork(ctx, api.NetworkRequest{Name: "lab", Kind: api.NetNAT, DHCP: true, Autostart: true})
		if err != nil {
			t.Fatal(err)
		}
		if n.Subnet != free.Subnet || n.DHCPStart != free.DHCPStart || n.State != api.NetActive || !n.Autostart || n.Kind != api.NetNAT {
			t.Fatalf("created %+v, free was %+v", n, free)
		}
		if _, err := m.CreateNetwork(ctx, api.NetworkRequest{Name: "lab", Kind: api.NetIsolated}); !fault.Is(err, CodeNetworkExists) {
			t.Fatalf("again: %v", err)
		}
		if _, err := m.CreateNetwork(ctx, api.NetworkRequest{Name: "lab2", Kind: api.NetIsolated, Subnet: "192.168.122.0/25"}); !fault.Is(err, CodeSubnetOverlap) {
			t.Fatalf("overlap: %v", err)
		}
		if _, err := m.Network(ctx, "lab2"); !fault.Is(err, CodeNetworkNotFound) {
			t.Fatalf("a refused network exists: %v", err)
		}
		next, err := m.FreeSubnet(ctx)
		if err != nil || next.Subnet == free.Subnet {
			t.Fatalf("next free %v %v", next, err)
		}
		if n, err = m.StopNetwork(ctx, "lab"); err != nil || n.State != api.NetInactive {
			t.Fatalf("stop: %+v %v", n, err)
		}
		if _, err = m.StopNetwork(ctx, "lab"); !fault.Is(err, CodeNetworkInactive) {
			t.Fatalf("stop again: %v", err)
		}
		if n, err = m.StartNetwork(ctx, "lab"); err != nil || n.State != api.NetActive {
			t.Fatalf("start: %+v %v", n, err)
		}
		if n, err = m.SetNetworkAutostart(ctx, "lab", false); err != nil || n.Autostart {
			t.Fatalf("autostart: %+v %v", n, err)
		}
		if err := m.DeleteNetwork(ctx, "lab"); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Network(ctx, "lab"); !fault.Is(err, CodeNetworkNotFound) {
			t.Fatalf("after delete: %v", err)
		}
	})

	t.Run("kinds", func(t *testing.T) {
		for _, req := range []api.NetworkRequest{
			{Name: "iso", Kind: api.NetIsolated, Subnet: "172.30.0.0/24"},
			{Name: "rt", Kind: api.NetRouted, Subnet: "172.30.1.0/24", DHCP: true},
			{Name: "br", Kind: api.NetBridge, Bridge: "br0"},
			{Name: "dir", Kind: api.NetDirect, Device: "eth0"},
		} {
			n, err := m.CreateNetwork(ctx, req)
			if err != nil {
				t.Fatalf("%s: %v", req.Name, err)
			}
			if n.Kind != req.Kind || (req.Subnet != "" && n.Subnet != req.Subnet) || (req.Bridge != "" && n.Bridge != req.Bridge) || (req.Device != "" && n.Device != req.Device) {
				t.Errorf("%s: %+v", req.Name, n)
			}
			if err := m.DeleteNetwork(ctx, req.Name); err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("parallel creates of one name", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = m.CreateNetwork(ctx, api.NetworkRequest{Name: "race", Kind: api.NetIsolated})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !fault.Is(err, CodeNetworkExists):
				t.Errorf("unexpected: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d creations succeeded", ok)
		}
		if n, err := m.Network(ctx, "race"); err != nil || n.State != api.NetActive {
			t.Fatalf("the winner: %+v %v", n, err)
		}
		if err := m.DeleteNetwork(ctx, "race"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("hostile names", func(t *testing.T) {
		for _, n := range hostileNames {
			if _, err := m.CreateNetwork(ctx, api.NetworkRequest{Name: n, Kind: api.NetIsolated}); !fault.Is(err, CodeInvalidName) {
				t.Errorf("%q: %v", n, err)
			}
		}
		after, _ := m.ListNetworks(ctx)
		if len(after) != len(nets) {
			t.Fatalf("networks %d, were %d", len(after), len(nets))
		}
	})

	t.Run("leases", func(t *testing.T) {
		// The test driver keeps no leases and says so.
		if _, err := m.NetworkLeases(ctx, FixtureNetDefault); !fault.Is(err, CodeLeasesUnsupported) {
			t.Fatalf("leases: %v", err)
		}
		if _, err := m.NetworkLeases(ctx, "nope"); !fault.Is(err, CodeNetworkNotFound) {
			t.Fatalf("leases of a missing network: %v", err)
		}
	})

	t.Run("interfaces", func(t *testing.T) {
		ifs, err := m.HostInterfaces(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []api.HostInterface{
			{Name: FixtureIfaceBridge, Kind: "bridge", State: "up", MAC: ifs[0].MAC},
			{Name: FixtureIfaceEth, Kind: "ethernet", State: "up", MAC: ifs[1].MAC},
		}
		if !slices.Equal(ifs, want) || ifs[1].MAC == "" {
			t.Fatalf("interfaces %+v", ifs)
		}
	})
}
