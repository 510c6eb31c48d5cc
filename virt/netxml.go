package virt

import (
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Network request codes.
var (
	CodeNetworkNotFound   = fault.Define("network_not_found", fault.NotFound)
	CodeNetworkExists     = fault.Define("network_exists", fault.Conflict)
	CodeNetworkActive     = fault.Define("network_active", fault.Conflict)
	CodeNetworkInactive   = fault.Define("network_inactive", fault.Conflict)
	CodeNetworkInUse      = fault.Define("network_in_use", fault.Conflict)
	CodeSubnetOverlap     = fault.Define("subnet_overlap", fault.Conflict)
	CodeNoFreeSubnet      = fault.Define("no_free_subnet", fault.Conflict)
	CodeUnknownNetKind    = fault.Define("unknown_network_kind", fault.Invalid)
	CodeInvalidSubnet     = fault.Define("invalid_subnet", fault.Invalid)
	CodeInvalidDHCPRange  = fault.Define("invalid_dhcp_range", fault.Invalid)
	CodeInvalidInterface  = fault.Define("invalid_interface", fault.Invalid)
	CodeInvalidVLAN       = fault.Define("invalid_vlan", fault.Invalid)
	CodeLeasesUnsupported = fault.Define("leases_not_supported", fault.NotImplemented)
)

// NetworkKinds are the kinds a network can be created as.
var NetworkKinds = []string{api.NetNAT, api.NetIsolated, api.NetRouted, api.NetBridge, api.NetDirect}

// MaxNetworkNameLen bounds a network name: libvirt keeps it in file names.
const MaxNetworkNameLen = 64

// ValidateNetworkName checks a network name with the portable-name rule.
func ValidateNetworkName(name string) error {
	return validateIdent("network", name, MaxNetworkNameLen)
}

// ifaceNameRE is a Linux interface name: at most 15 bytes, no '/', no
// spaces, not "." or "..".
var ifaceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$`)

func validIface(what, name string) error {
	if !ifaceNameRE.MatchString(name) {
		return CodeInvalidInterface.New("%s must be a host interface name (letters, digits, '_', '.', ':', '-'; at most 15)", what)
	}
	return nil
}

// nic is one interface of a guest: its libvirt network ("" for any other
// kind) and MAC, to name a network's guests and a MAC's owner.
type nic struct{ network, mac string }

func domainNICs(ifs []libvirtxml.DomainInterface) []nic {
	var out []nic
	for _, i := range ifs {
		var n nic
		if i.Source != nil && i.Source.Network != nil {
			n.network = i.Source.Network.Network
		}
		if n.network == "" && i.MAC == nil {
			continue
		}
		if i.MAC != nil {
			n.mac = strings.ToLower(i.MAC.Address)
		}
		out = append(out, n)
	}
	return out
}

// parseSubnet reads an IPv4 CIDR of /8 to /29 and returns it masked.
func parseSubnet(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() {
		return netip.Prefix{}, CodeInvalidSubnet.New("the subnet must be an IPv4 network in CIDR form, like 192.168.100.0/24")
	}
	if p.Bits() < 8 || p.Bits() > 29 {
		return netip.Prefix{}, CodeInvalidSubnet.New("the subnet's prefix must be /8 to /29")
	}
	if p.Masked() != p {
		return netip.Prefix{}, CodeInvalidSubnet.New("%s is not a network address; did you mean %s?", s, p.Masked())
	}
	a := p.Addr()
	if a.IsLoopback() || a.IsMulticast() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.As4()[0] >= 240 {
		return netip.Prefix{}, CodeInvalidSubnet.New("%s is not a usable unicast network", s)
	}
	return p, nil
}

// lastAddr is the broadcast address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	v |= (1 << (32 - p.Bits())) - 1
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// subnetPlan is a subnet's gateway and default DHCP range.
func subnetPlan(p netip.Prefix) api.FreeSubnet {
	gw := p.Addr().Next()
	return api.FreeSubnet{Subnet: p.String(), Gateway: gw.String(), DHCPStart: gw.Next().String(), DHCPEnd: lastAddr(p).Prev().String()}
}

// checkRange checks a DHCP range inside p, clear of the gateway.
func checkRange(p netip.Prefix, start, end string) error {
	s, err1 := netip.ParseAddr(start)
	e, err2 := netip.ParseAddr(end)
	if err1 != nil || err2 != nil || !s.Is4() || !e.Is4() {
		return CodeInvalidDHCPRange.New("the DHCP range must be two IPv4 addresses")
	}
	gw := p.Addr().Next()
	switch {
	case !p.Contains(s) || !p.Contains(e) || s == p.Addr() || e == lastAddr(p):
		return CodeInvalidDHCPRange.New("the DHCP range must lie inside %s, without its network and broadcast addresses", p)
	case e.Less(s):
		return CodeInvalidDHCPRange.New("the DHCP range's end comes before its start")
	case !gw.Less(s) && !e.Less(gw):
		return CodeInvalidDHCPRange.New("the DHCP range must not hold the gateway %s", gw)
	}
	return nil
}

// checkNetworkRequest validates req and fills its defaults (DHCP range);
// a nat or isolated network without a subnet is left for the caller to
// give one.
func checkNetworkRequest(req *api.NetworkRequest) error {
	if err := ValidateNetworkName(req.Name); err != nil {
		return err
	}
	if !slices.Contains(NetworkKinds, req.Kind) {
		return CodeUnknownNetKind.New("a network's kind must be one of %s", strings.Join(NetworkKinds, ", "))
	}
	ip := req.Kind == api.NetNAT || req.Kind == api.NetIsolated || req.Kind == api.NetRouted
	if !ip && (req.Subnet != "" || req.DHCP || req.DHCPStart != "" || req.DHCPEnd != "") {
		return CodeInvalidSubnet.New("a %s network takes no subnet or DHCP range: the host's network serves it", req.Kind)
	}
	if req.Kind == api.NetRouted && req.Subnet == "" {
		return CodeInvalidSubnet.New("a routed network needs a subnet the upstream router routes to this host")
	}
	if req.Subnet != "" {
		p, err := parseSubnet(req.Subnet)
		if err != nil {
			return err
		}
		if err := fillRange(req, p); err != nil {
			return err
		}
	} else if !req.DHCP && (req.DHCPStart != "" || req.DHCPEnd != "") {
		return CodeInvalidDHCPRange.New("a DHCP range needs dhcp set")
	}
	switch req.Kind {
	case api.NetBridge:
		if err := validIface("the bridge", req.Bridge); err != nil {
			return err
		}
	case api.NetDirect:
		if err := validIface("the device", req.Device); err != nil {
			return err
		}
	default:
		if req.Bridge != "" {
			return CodeInvalidInterface.New("only a bridge network names a bridge")
		}
		if req.Device != "" && req.Kind != api.NetRouted && req.Kind != api.NetNAT {
			return CodeInvalidInterface.New("an isolated network has no uplink device")
		}
		if req.Device != "" {
			if err := validIface("the device", req.Device); err != nil {
				return err
			}
		}
	}
	if req.VLAN != 0 {
		if req.Kind != api.NetBridge {
			return CodeInvalidVLAN.New("only a bridge network (on an Open vSwitch bridge) takes a VLAN tag")
		}
		if req.VLAN > 4094 {
			return CodeInvalidVLAN.New("a VLAN tag must be 1 to 4094")
		}
	}
	return nil
}

// fillRange checks or defaults the DHCP range of req in p.
func fillRange(req *api.NetworkRequest, p netip.Prefix) error {
	if !req.DHCP {
		if req.DHCPStart != "" || req.DHCPEnd != "" {
			return CodeInvalidDHCPRange.New("a DHCP range needs dhcp set")
		}
		return nil
	}
	if req.DHCPStart == "" && req.DHCPEnd == "" {
		plan := subnetPlan(p)
		req.DHCPStart, req.DHCPEnd = plan.DHCPStart, plan.DHCPEnd
	}
	return checkRange(p, req.DHCPStart, req.DHCPEnd)
}

// networkXML builds the definition of a checked request.
func networkXML(req api.NetworkRequest) (string, error) {
	x := libvirtxml.Network{Name: req.Name}
	switch req.Kind {
	case api.NetNAT:
		x.Forward = &libvirtxml.NetworkForward{Mode: "nat", Dev: req.Device}
	case api.NetRouted:
		x.Forward = &libvirtxml.NetworkForward{Mode: "route", Dev: req.Device}
	case api.NetBridge:
		x.Forward = &libvirtxml.NetworkForward{Mode: "bridge"}
		x.Bridge = &libvirtxml.NetworkBridge{Name: req.Bridge}
		if req.VLAN != 0 {
			x.VirtualPort = &libvirtxml.NetworkVirtualPort{Params: &libvirtxml.NetworkVirtualPortParams{OpenVSwitch: &libvirtxml.NetworkVirtualPortParamsOpenVSwitch{}}}
			x.VLAN = &libvirtxml.NetworkVLAN{Tags: []libvirtxml.NetworkVLANTag{{ID: req.VLAN}}}
		}
	case api.NetDirect:
		x.Forward = &libvirtxml.NetworkForward{Mode: "bridge", Interfaces: []libvirtxml.NetworkForwardInterface{{Dev: req.Device}}}
	}
	if req.Kind == api.NetNAT || req.Kind == api.NetIsolated || req.Kind == api.NetRouted {
		p, err := parseSubnet(req.Subnet)
		if err != nil {
			return "", err
		}
		ip := libvirtxml.NetworkIP{Address: p.Addr().Next().String(), Prefix: uint(p.Bits())}
		if req.DHCP {
			ip.DHCP = &libvirtxml.NetworkDHCP{Ranges: []libvirtxml.NetworkDHCPRange{{Start: req.DHCPStart, End: req.DHCPEnd}}}
		}
		x.IPs = []libvirtxml.NetworkIP{ip}
		x.Bridge = &libvirtxml.NetworkBridge{STP: "on", Delay: "0"}
	}
	doc, err := x.Marshal()
	if err != nil {
		return "", fault.Internalf(err)
	}
	return doc, nil
}

// describeNetworkXML fills what the definition says of n.
func describeNetworkXML(doc string, n *api.Network) error {
	var x libvirtxml.Network
	if err := x.Unmarshal(doc); err != nil {
		return err
	}
	n.Kind = api.NetIsolated
	if f := x.Forward; f != nil {
		switch f.Mode {
		case "", "nat":
			n.Kind, n.Device = api.NetNAT, f.Dev
		case "route":
			n.Kind, n.Device = api.NetRouted, f.Dev
		case "bridge":
			switch {
			case x.Bridge != nil && x.Bridge.Name != "":
				n.Kind = api.NetBridge
			default:
				n.Kind = api.NetDirect
				if len(f.Interfaces) > 0 {
					n.Device = f.Interfaces[0].Dev
				}
			}
		case "private", "vepa", "passthrough":
			n.Kind = api.NetDirect
			if len(f.Interfaces) > 0 {
				n.Device = f.Interfaces[0].Dev
			}
		default:
			n.Kind = api.NetOther
		}
	}
	if x.Bridge != nil {
		n.Bridge = x.Bridge.Name
	}
	if x.VLAN != nil && len(x.VLAN.Tags) > 0 {
		n.VLAN = x.VLAN.Tags[0].ID
	}
	for _, ip := range x.IPs {
		if p, ok := ipPrefix(ip); ok {
			n.Subnet, n.Gateway = p.Masked().String(), p.Addr().String()
			if ip.DHCP != nil && len(ip.DHCP.Ranges) > 0 {
				n.DHCPStart, n.DHCPEnd = ip.DHCP.Ranges[0].Start, ip.DHCP.Ranges[0].End
			}
			break
		}
	}
	return nil
}

// ipPrefix reads an IPv4 <ip> of a network as address/prefix.
func ipPrefix(ip libvirtxml.NetworkIP) (netip.Prefix, bool) {
	if ip.Family != "" && ip.Family != "ipv4" {
		return netip.Prefix{}, false
	}
	a, err := netip.ParseAddr(ip.Address)
	if err != nil || !a.Is4() {
		return netip.Prefix{}, false
	}
	bits := int(ip.Prefix)
	if ip.Netmask != "" {
		m, err := netip.ParseAddr(ip.Netmask)
		if err != nil || !m.Is4() {
			return netip.Prefix{}, false
		}
		b := m.As4()
		v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
		bits = 0
		for v&(1<<31) != 0 {
			bits++
			v <<= 1
		}
	}
	if bits == 0 {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, p.Bits()), true
}

// overlaps reports whether two prefixes share an address.
func overlaps(a, b netip.Prefix) bool { return a.Overlaps(b) }

// pickFree returns the first /24 of the candidates clear of used.
func pickFree(used []netip.Prefix) (netip.Prefix, bool) {
	try := func(p netip.Prefix) bool {
		return !slices.ContainsFunc(used, func(u netip.Prefix) bool { return overlaps(u, p) })
	}
	for third := 100; third < 255; third++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{192, 168, byte(third), 0}), 24)
		if try(p) {
			return p, true
		}
	}
	for second := 100; second < 255; second++ {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(second), 0, 0}), 24)
		if try(p) {
			return p, true
		}
	}
	return netip.Prefix{}, false
}
