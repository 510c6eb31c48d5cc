package api

// Network kinds.
const (
	NetNAT      = "nat"
	NetIsolated = "isolated"
	NetRouted   = "routed"
	NetBridge   = "bridge" // an existing host bridge
	NetDirect   = "direct" // macvtap on a host interface
	NetOther    = "other"  // a forward mode the portal does not make
)

// Network states.
const (
	NetActive   = "active"
	NetInactive = "inactive"
)

// Network is one virtual network of a host.
type Network struct {
	Name       string `json:"name"`
	Kind       string `json:"kind"`  // nat, isolated, routed, bridge, direct, other
	State      string `json:"state"` // active, inactive
	Autostart  bool   `json:"autostart"`
	Persistent bool   `json:"persistent"`
	// Bridge is the host bridge the network uses (made by libvirt for nat,
	// isolated and routed; an existing one for bridge).
	Bridge string `json:"bridge,omitempty"`
	// Device is the host interface of a direct network (or a routed or
	// NAT network's uplink when one is set).
	Device string `json:"device,omitempty"`
	// Subnet is the network's IPv4 subnet in CIDR form and Gateway the
	// host's address in it; empty for bridge and direct.
	Subnet    string `json:"subnet,omitempty"`
	Gateway   string `json:"gateway,omitempty"`
	DHCPStart string `json:"dhcp_start,omitempty"`
	DHCPEnd   string `json:"dhcp_end,omitempty"`
	VLAN      uint   `json:"vlan,omitempty"`
	// UsedBy names the guests with an interface on the network, from the index.
	UsedBy []string `json:"used_by"`
}

// NetworkList is GET …/hosts/{host}/networks.
type NetworkList struct {
	Items []Network `json:"items"`
	// AllowedActions lists what the caller may do with the host's
	// networks: "network.read", "network.manage".
	AllowedActions []string `json:"allowed_actions"`
}

// FreeSubnet is GET …/hosts/{host}/networks/free-subnet: a /24 clear of
// the host's routes and addresses and of every network's subnet, with the
// gateway and DHCP range a new network would take in it.
type FreeSubnet struct {
	Subnet    string `json:"subnet"`
	Gateway   string `json:"gateway"`
	DHCPStart string `json:"dhcp_start"`
	DHCPEnd   string `json:"dhcp_end"`
}

// NetworkRequest creates and starts a network (POST …/hosts/{host}/networks).
type NetworkRequest struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // nat, isolated, routed, bridge, direct
	// Subnet (CIDR, IPv4, /8 to /29) for nat, isolated and routed; a free
	// /24 is chosen for nat and isolated when empty. The gateway is its
	// first address.
	Subnet string `json:"subnet,omitempty"`
	// DHCP serves addresses from DHCPStart to DHCPEnd (default: the second
	// address to the last but one) when true.
	DHCP      bool   `json:"dhcp"`
	DHCPStart string `json:"dhcp_start,omitempty"`
	DHCPEnd   string `json:"dhcp_end,omitempty"`
	// Bridge is the existing host bridge of a bridge network.
	Bridge string `json:"bridge,omitempty"`
	// Device is the host interface of a direct network, or the uplink a
	// routed network's traffic goes through.
	Device string `json:"device,omitempty"`
	// VLAN tags the network's traffic (1 to 4094; bridge only, on an Open vSwitch bridge).
	VLAN      uint `json:"vlan,omitempty"`
	Autostart bool `json:"autostart"`
}

// Lease is one DHCP lease of a network.
type Lease struct {
	MAC      string `json:"mac"`
	IP       string `json:"ip"` // with its prefix, "192.168.122.10/24"
	Hostname string `json:"hostname,omitempty"`
	// Expires is the lease's end, Unix seconds (0: never).
	Expires int64 `json:"expires"`
	// Guest owns the MAC, from the index; "" when no guest does.
	Guest string `json:"guest,omitempty"`
}

// LeaseList is GET …/networks/{net}/leases.
type LeaseList struct {
	Items []Lease `json:"items"`
}

// HostInterface is one network interface of a host.
type HostInterface struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"`  // ethernet, bridge, bond, vlan
	State string `json:"state"` // up, down
	MAC   string `json:"mac,omitempty"`
}

// HostInterfaceList is GET …/hosts/{host}/interfaces.
type HostInterfaceList struct {
	Items []HostInterface `json:"items"`
}
