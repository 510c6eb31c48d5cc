package virt

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// NetworkNotFound is the error for a network that does not exist.
func NetworkNotFound(name string) error {
	return CodeNetworkNotFound.New("network %q not found", name)
}

// netCreateMu serialises network creations: libvirt's define of an
// existing name redefines it, so two creations of one name must not
// interleave (the loser's undo would undefine the winner's network), and
// a free subnet must not be handed out twice.
var netCreateMu sync.Mutex

// netFail maps a libvirt network error to a fault.
func (m *Manager) netFail(op, name string, err error) error {
	if err == nil || fault.As(err) != nil {
		return err
	}
	var le libvirt.Error
	if errors.As(err, &le) {
		switch le.Code {
		case libvirt.ERR_NO_NETWORK:
			return NetworkNotFound(name)
		case libvirt.ERR_NETWORK_EXIST:
			return CodeNetworkExists.New("a network %q exists already", name)
		case libvirt.ERR_OPERATION_INVALID:
			return CodeNetworkActive.Wrap(err, "%s", le.Message)
		case libvirt.ERR_NO_SUPPORT:
			return notSupported("the host's driver cannot %s", op)
		case libvirt.ERR_XML_ERROR, libvirt.ERR_CONFIG_UNSUPPORTED, libvirt.ERR_INVALID_ARG:
			return CodeInvalidInterface.Wrap(err, "libvirt refused the network: %s", le.Message)
		}
	}
	return m.fail(op, "", err)
}

// withNetwork runs fn on the named network.
func (m *Manager) withNetwork(ctx context.Context, name string, fn func(c *libvirt.Connect, n *libvirt.Network) error) error {
	if err := ValidateNetworkName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := m.acquire()
	if err != nil {
		return err
	}
	defer release(c)
	n, err := c.LookupNetworkByName(name)
	if err != nil {
		return m.netFail("find network", name, err)
	}
	defer n.Free()
	return fn(c, n)
}

// describeNetwork reads one network with the guests using it.
func (m *Manager) describeNetwork(n *libvirt.Network) (api.Network, error) {
	var out api.Network
	var err error
	if out.Name, err = n.GetName(); err != nil {
		return out, m.netFail("read network", "", err)
	}
	active, err := n.IsActive()
	if err != nil {
		return out, m.netFail("read network", out.Name, err)
	}
	out.State = map[bool]string{true: api.NetActive, false: api.NetInactive}[active]
	if out.Autostart, err = n.GetAutostart(); err != nil {
		return out, m.netFail("read network", out.Name, err)
	}
	if out.Persistent, err = n.IsPersistent(); err != nil {
		return out, m.netFail("read network", out.Name, err)
	}
	doc, err := n.GetXMLDesc(0)
	if err != nil {
		return out, m.netFail("read network", out.Name, err)
	}
	if err := describeNetworkXML(doc, &out); err != nil {
		return out, m.fail("read network", "", fmt.Errorf("network %s: %w", out.Name, err))
	}
	out.UsedBy = m.NetworkUsers(out.Name, false)
	return out, nil
}

// ListNetworks returns the host's networks, sorted by name.
func (m *Manager) ListNetworks(ctx context.Context) ([]api.Network, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := m.acquire()
	if err != nil {
		return nil, err
	}
	defer release(c)
	return m.listNetworks(c)
}

func (m *Manager) listNetworks(c *libvirt.Connect) ([]api.Network, error) {
	nets, err := c.ListAllNetworks(0)
	if err != nil {
		return nil, m.netFail("list networks", "", err)
	}
	return describeAll(nets, m.describeNetwork,
		func(err error) bool { return fault.Is(err, CodeNetworkNotFound) },
		func(n api.Network) string { return n.Name })
}

// Network returns one network.
func (m *Manager) Network(ctx context.Context, name string) (api.Network, error) {
	var out api.Network
	err := m.withNetwork(ctx, name, func(_ *libvirt.Connect, n *libvirt.Network) error {
		var err error
		out, err = m.describeNetwork(n)
		return err
	})
	return out, err
}

// usedSubnets are the subnets a new network must stay clear of: every
// network's, and, when libvirt runs on this machine, the host's routes
// and addresses.
func (m *Manager) usedSubnets(c *libvirt.Connect) ([]netip.Prefix, error) {
	nets, err := m.listNetworks(c)
	if err != nil {
		return nil, err
	}
	var used []netip.Prefix
	for _, n := range nets {
		if p, err := netip.ParsePrefix(n.Subnet); err == nil {
			used = append(used, p)
		}
	}
	if remoteHost(m.cfg.URI) == "" {
		used = append(used, localSubnets()...)
	}
	return used, nil
}

// localSubnets reads this machine's IPv4 routes (but the default route)
// and interface addresses.
func localSubnets() []netip.Prefix {
	var out []netip.Prefix
	if f, err := os.Open("/proc/net/route"); err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			if p, ok := parseRouteLine(sc.Text()); ok {
				out = append(out, p)
			}
		}
	}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() && !p.Addr().IsLoopback() {
				out = append(out, p.Masked())
			}
		}
	}
	return out
}

// parseRouteLine reads one line of /proc/net/route (little-endian hex
// destination and mask); the default route is skipped.
func parseRouteLine(line string) (netip.Prefix, bool) {
	f := strings.Fields(line)
	if len(f) < 8 {
		return netip.Prefix{}, false
	}
	dst, err1 := hex.DecodeString(f[1])
	mask, err2 := hex.DecodeString(f[7])
	if err1 != nil || err2 != nil || len(dst) != 4 || len(mask) != 4 {
		return netip.Prefix{}, false
	}
	bits := 0
	for _, b := range mask {
		for ; b != 0; b &= b - 1 {
			bits++
		}
	}
	if bits == 0 {
		return netip.Prefix{}, false
	}
	// The kernel writes the address in host (little-endian) byte order.
	a := netip.AddrFrom4([4]byte{dst[3], dst[2], dst[1], dst[0]})
	p, err := a.Prefix(bits)
	return p, err == nil
}

// FreeSubnet proposes a /24 for a new network.
func (m *Manager) FreeSubnet(ctx context.Context) (api.FreeSubnet, error) {
	if err := ctx.Err(); err != nil {
		return api.FreeSubnet{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.FreeSubnet{}, err
	}
	defer release(c)
	used, err := m.usedSubnets(c)
	if err != nil {
		return api.FreeSubnet{}, err
	}
	p, ok := pickFree(used)
	if !ok {
		return api.FreeSubnet{}, CodeNoFreeSubnet.New("no free /24 in 192.168.100-254.0 or 10.100-254.0.0; give a subnet")
	}
	return subnetPlan(p), nil
}

// CreateNetwork defines and starts a network, marking it to start with
// the host when asked. All or nothing: a failing step undefines it again.
func (m *Manager) CreateNetwork(ctx context.Context, req api.NetworkRequest) (api.Network, error) {
	if err := checkNetworkRequest(&req); err != nil {
		return api.Network{}, err
	}
	if err := ctx.Err(); err != nil {
		return api.Network{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.Network{}, err
	}
	defer release(c)
	netCreateMu.Lock()
	defer netCreateMu.Unlock()
	if n, err := c.LookupNetworkByName(req.Name); err == nil {
		_ = n.Free()
		return api.Network{}, CodeNetworkExists.New("a network %q exists already", req.Name)
	} else if libvirtCode(err) != libvirt.ERR_NO_NETWORK {
		return api.Network{}, m.netFail("find network", req.Name, err)
	}
	if req.Kind == api.NetNAT || req.Kind == api.NetIsolated || req.Kind == api.NetRouted {
		used, err := m.usedSubnets(c)
		if err != nil {
			return api.Network{}, err
		}
		if req.Subnet == "" {
			p, ok := pickFree(used)
			if !ok {
				return api.Network{}, CodeNoFreeSubnet.New("no free /24 found; give a subnet")
			}
			req.Subnet = p.String()
			if err := fillRange(&req, p); err != nil {
				return api.Network{}, err
			}
		} else {
			p, _ := parseSubnet(req.Subnet)
			if i := slices.IndexFunc(used, func(u netip.Prefix) bool { return overlaps(u, p) }); i >= 0 {
				return api.Network{}, CodeSubnetOverlap.New("subnet %s overlaps %s, in use on the host", p, used[i])
			}
		}
	}
	doc, err := networkXML(req)
	if err != nil {
		return api.Network{}, err
	}
	n, err := c.NetworkDefineXML(doc)
	if err != nil {
		return api.Network{}, m.netFail("define network", req.Name, err)
	}
	defer n.Free()
	undo := func(cause error) error {
		if active, _ := n.IsActive(); active {
			_ = n.Destroy()
		}
		if uerr := n.Undefine(); uerr != nil {
			m.log.Error("undefining a half-made network failed", "network", req.Name, "err", uerr)
		}
		return cause
	}
	if err := n.Create(); err != nil {
		return api.Network{}, undo(m.netFail("start network", req.Name, err))
	}
	if req.Autostart {
		if err := n.SetAutostart(true); err != nil {
			return api.Network{}, undo(m.netFail("set autostart", req.Name, err))
		}
	}
	return m.describeNetwork(n)
}

// StartNetwork starts an inactive network.
func (m *Manager) StartNetwork(ctx context.Context, name string) (api.Network, error) {
	return m.networkChange(ctx, name, "start network", func(n *libvirt.Network) error {
		if active, err := n.IsActive(); err == nil && active {
			return CodeNetworkActive.New("network %q is already running", name)
		}
		return n.Create()
	})
}

// StopNetwork stops an active network, refused while running guests use it.
func (m *Manager) StopNetwork(ctx context.Context, name string) (api.Network, error) {
	return m.networkChange(ctx, name, "stop network", func(n *libvirt.Network) error {
		if active, err := n.IsActive(); err == nil && !active {
			return CodeNetworkInactive.New("network %q is not running", name)
		}
		if err := m.Ready(); err != nil {
			return err // without the index, users cannot be named
		}
		if users := m.NetworkUsers(name, true); len(users) > 0 {
			return CodeNetworkInUse.New("network %q is used by running guests: %s", name, strings.Join(users, ", ")).
				WithDetails(guestDetails(users))
		}
		return n.Destroy()
	})
}

// SetNetworkAutostart sets whether the network starts with the host.
func (m *Manager) SetNetworkAutostart(ctx context.Context, name string, on bool) (api.Network, error) {
	return m.networkChange(ctx, name, "set autostart", func(n *libvirt.Network) error {
		return n.SetAutostart(on)
	})
}

// DeleteNetwork stops and undefines a network no guest uses, running or not.
func (m *Manager) DeleteNetwork(ctx context.Context, name string) error {
	return m.withNetwork(ctx, name, func(_ *libvirt.Connect, n *libvirt.Network) error {
		if err := m.Ready(); err != nil {
			return err
		}
		if users := m.NetworkUsers(name, false); len(users) > 0 {
			return CodeNetworkInUse.New("network %q is used by guests: %s", name, strings.Join(users, ", ")).
				WithDetails(guestDetails(users))
		}
		if active, err := n.IsActive(); err == nil && active {
			if err := n.Destroy(); err != nil {
				return m.netFail("stop network", name, err)
			}
		}
		if persistent, err := n.IsPersistent(); err == nil && !persistent {
			return nil // a transient network is gone once stopped
		}
		if err := n.Undefine(); err != nil {
			return m.netFail("delete network", name, err)
		}
		return nil
	})
}

func (m *Manager) networkChange(ctx context.Context, name, op string, fn func(n *libvirt.Network) error) (api.Network, error) {
	var out api.Network
	err := m.withNetwork(ctx, name, func(_ *libvirt.Connect, n *libvirt.Network) error {
		if err := fn(n); err != nil {
			return m.netFail(op, name, err)
		}
		var err error
		out, err = m.describeNetwork(n)
		return err
	})
	return out, err
}

// NetworkUsers names, from the index, the guests with an interface on the
// network; activeOnly keeps the running ones.
func (m *Manager) NetworkUsers(name string, activeOnly bool) []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []string{}
	for _, e := range m.sorted {
		if activeOnly && !isActiveState(e.vm.State) {
			continue
		}
		if slices.ContainsFunc(e.nics, func(n nic) bool { return n.network == name }) {
			out = append(out, e.vm.Name)
		}
	}
	return out
}

// macOwners maps the MACs of the network's guests to the guests.
func (m *Manager) macOwners(network string) map[string]string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := map[string]string{}
	for _, e := range m.sorted {
		for _, n := range e.nics {
			if n.network == network && n.mac != "" {
				out[n.mac] = e.vm.Name
			}
		}
	}
	return out
}

// NetworkLeases returns the network's DHCP leases with the guest owning
// each MAC. A driver without leases (the test driver) answers
// CodeLeasesUnsupported.
func (m *Manager) NetworkLeases(ctx context.Context, name string) ([]api.Lease, error) {
	var out []api.Lease
	err := m.withNetwork(ctx, name, func(_ *libvirt.Connect, n *libvirt.Network) error {
		ls, err := n.GetDHCPLeases()
		if err != nil {
			if libvirtCode(err) == libvirt.ERR_NO_SUPPORT {
				return CodeLeasesUnsupported.New("this host's libvirt driver does not report DHCP leases")
			}
			return m.netFail("read leases", name, err)
		}
		owners := m.macOwners(name)
		out = make([]api.Lease, 0, len(ls))
		for _, l := range ls {
			x := api.Lease{MAC: strings.ToLower(l.Mac), IP: fmt.Sprintf("%s/%d", l.IPaddr, l.Prefix), Hostname: l.Hostname}
			if !l.ExpiryTime.IsZero() {
				x.Expires = l.ExpiryTime.Unix()
			}
			x.Guest = owners[x.MAC]
			out = append(out, x)
		}
		slices.SortFunc(out, func(a, b api.Lease) int { return strings.Compare(a.IP, b.IP) })
		return nil
	})
	return out, err
}

// HostInterfaces lists the host's network interfaces as libvirt sees them.
func (m *Manager) HostInterfaces(ctx context.Context) ([]api.HostInterface, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := m.acquire()
	if err != nil {
		return nil, err
	}
	defer release(c)
	ifs, err := c.ListAllInterfaces(0)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_SUPPORT {
			return nil, notSupported("the host's driver cannot list interfaces")
		}
		return nil, m.fail("list interfaces", "", err)
	}
	out := make([]api.HostInterface, 0, len(ifs))
	for i := range ifs {
		h, err := describeIface(&ifs[i])
		_ = ifs[i].Free()
		if err == nil && h.Name != "lo" {
			out = append(out, h)
		}
	}
	slices.SortFunc(out, func(a, b api.HostInterface) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func describeIface(i *libvirt.Interface) (api.HostInterface, error) {
	var out api.HostInterface
	doc, err := i.GetXMLDesc(0)
	if err != nil {
		return out, err
	}
	var x libvirtxml.Interface
	if err := x.Unmarshal(doc); err != nil {
		return out, err
	}
	out.Name = x.Name
	if x.MAC != nil {
		out.MAC = strings.ToLower(x.MAC.Address)
	}
	switch {
	case x.Bridge != nil:
		out.Kind = "bridge"
	case x.Bond != nil:
		out.Kind = "bond"
	case x.VLAN != nil:
		out.Kind = "vlan"
	default:
		out.Kind = "ethernet"
	}
	out.State = "down"
	if active, err := i.IsActive(); err == nil && active {
		out.State = "up"
	}
	return out, nil
}
