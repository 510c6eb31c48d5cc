package virt

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// The error codes of NIC edits.
var (
	CodeInvalidMAC      = fault.Define("invalid_mac", fault.Invalid)
	CodeMACInUse        = fault.Define("mac_in_use", fault.Conflict)
	CodeNICNotFound     = fault.Define("nic_not_found", fault.NotFound)
	CodeUnknownNICModel = fault.Define("unknown_nic_model", fault.Invalid)
	CodeUnknownNICType  = fault.Define("unknown_nic_type", fault.Invalid)
	CodeInvalidLink     = fault.Define("invalid_link_state", fault.Invalid)
	CodeNICSourceNeeded = fault.Define("nic_source_required", fault.Invalid)
)

// NIC types a caller may ask for.
const (
	NICNetwork = "network" // a libvirt network
	NICBridge  = "bridge"  // a host bridge (administrators)
	NICDirect  = "direct"  // macvtap on a host interface (administrators)
)

// nicModels are the models QEMU offers per guest architecture; the first
// is the one to prefer when the guest's metadata names none.
func nicModels(arch string) []string {
	switch arch {
	case "x86_64", "i686", "i386", "":
		return []string{"virtio", "e1000", "e1000e", "rtl8139"}
	case "ppc64", "ppc64le":
		return []string{"virtio", "spapr-vlan", "e1000"}
	}
	return []string{"virtio"} // aarch64, s390x, riscv64: virtio is what they take
}

// NormalizeMAC checks a MAC a caller gives: six octets, unicast, not all
// zero; it returns it lower case.
func NormalizeMAC(mac string) (string, error) {
	hw, err := net.ParseMAC(strings.TrimSpace(mac))
	if err != nil || len(hw) != 6 {
		return "", CodeInvalidMAC.New("a MAC address is six hexadecimal octets separated by ':', e.g. 52:54:00:12:34:56")
	}
	if hw[0]&1 == 1 {
		return "", CodeInvalidMAC.New("%s is a multicast address; a NIC needs a unicast one", hw)
	}
	if slices.Equal(hw, net.HardwareAddr{0, 0, 0, 0, 0, 0}) {
		return "", CodeInvalidMAC.New("the all-zero MAC address cannot be used")
	}
	return hw.String(), nil
}

// guestDoc is one guest opened for a device edit: its live and saved
// definitions and the connection the caller releases with close.
type guestDoc struct {
	c          *libvirt.Connect
	dom        *libvirt.Domain
	name       string
	live, cfg  *libvirtxml.Domain // cfg is live for a transient guest
	active     bool
	persistent bool
	unlock     func() // the edit lock of editGuest; nil for a read
}

func (g *guestDoc) close() {
	_ = g.dom.Free()
	release(g.c)
	if g.unlock != nil {
		g.unlock()
	}
}

// editLocks serialise device edits per manager and guest: each edit reads
// a definition, changes it and writes it back (wholly, on drivers without
// device calls), so two at once would lose one.
var editLocks sync.Map // "%p/name" → *sync.Mutex

// editGuest is openGuest holding the guest's edit lock until close.
func (m *Manager) editGuest(ctx context.Context, name string) (*guestDoc, error) {
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	mu, _ := editLocks.LoadOrStore(fmt.Sprintf("%p/%s", m, name), &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	g, err := m.openGuest(ctx, name)
	if err != nil {
		mu.(*sync.Mutex).Unlock()
		return nil, err
	}
	g.unlock = mu.(*sync.Mutex).Unlock
	return g, nil
}

// openGuest reads a guest's definitions for an edit.
func (m *Manager) openGuest(ctx context.Context, name string) (*guestDoc, error) {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	g := &guestDoc{c: c, dom: dom, name: name}
	if g.active, g.persistent, err = activity(dom); err != nil {
		g.close()
		return nil, m.fail("read guest", name, err)
	}
	read := func(flags libvirt.DomainXMLFlags) (*libvirtxml.Domain, error) { return m.readDomain(dom, name, flags) }
	// SECURE keeps passwords in a definition that may be written back.
	if !g.active {
		g.live, err = read(libvirt.DOMAIN_XML_INACTIVE | libvirt.DOMAIN_XML_SECURE)
	} else {
		g.live, err = read(0)
	}
	if err != nil {
		g.close()
		return nil, err
	}
	g.cfg = g.live
	if g.active && g.persistent {
		if g.cfg, err = read(libvirt.DOMAIN_XML_INACTIVE | libvirt.DOMAIN_XML_SECURE); err != nil {
			g.close()
			return nil, err
		}
	}
	return g, nil
}

// arch is the guest's architecture.
func (g *guestDoc) arch() string {
	if g.cfg.OS != nil && g.cfg.OS.Type != nil {
		return g.cfg.OS.Type.Arch
	}
	return ""
}

// defaultNICModel is the model the guest's metadata <defaults> names, or
// the platform's first.
func (m *Manager) defaultNICModel(g *guestDoc) string {
	models := nicModels(g.arch())
	doc, err := getMetadata(g.dom, MetadataNS, libvirt.DOMAIN_AFFECT_CONFIG)
	if err != nil && g.active && !g.persistent {
		doc, err = getMetadata(g.dom, MetadataNS, libvirt.DOMAIN_AFFECT_LIVE)
	}
	if err == nil && doc != "" {
		if gm, err := parseGuestMeta(doc); err == nil && gm.Defaults != nil && gm.Defaults.NICModel != "" {
			return gm.Defaults.NICModel
		}
	}
	return models[0]
}

// nicOf summarises one interface as the API shows it.
func nicOf(ifc libvirtxml.DomainInterface) api.NIC {
	d := devicesOf(&libvirtxml.Domain{Devices: &libvirtxml.DomainDeviceList{Interfaces: []libvirtxml.DomainInterface{ifc}}})
	n := d.NICs[0]
	n.MAC = strings.ToLower(n.MAC)
	if n.Link == "" {
		n.Link = "up"
	}
	return n
}

// findNIC is the index of the interface with mac in d, or -1.
func findNIC(d *libvirtxml.Domain, mac string) int {
	return slices.IndexFunc(d.Devices.Interfaces, func(i libvirtxml.DomainInterface) bool {
		return i.MAC != nil && strings.EqualFold(i.MAC.Address, mac)
	})
}

// NICs lists a guest's interfaces and what a new one may be.
func (m *Manager) NICs(ctx context.Context, name string) (api.NICList, error) {
	g, err := m.openGuest(ctx, name)
	if err != nil {
		return api.NICList{}, err
	}
	defer g.close()
	out := api.NICList{Items: []api.NIC{}, DefaultModel: m.defaultNICModel(g), Models: nicModels(g.arch()),
		Running: g.active, Live: !m.isTestDriver()}
	if !slices.Contains(out.Models, out.DefaultModel) {
		out.Models = append(out.Models, out.DefaultModel)
	}
	// The saved definition is what the next boot gets; the live link
	// state is what the guest sees now.
	for _, ifc := range g.cfg.Devices.Interfaces {
		n := nicOf(ifc)
		if i := findNIC(g.live, n.MAC); i >= 0 && g.active {
			if l := nicOf(g.live.Devices.Interfaces[i]).Link; l != "" {
				n.Link = l
			}
		}
		out.Items = append(out.Items, n)
	}
	if g.active {
		// A NIC hot-plugged into a transient change only shows live.
		for _, ifc := range g.live.Devices.Interfaces {
			if n := nicOf(ifc); findNIC(g.cfg, n.MAC) < 0 {
				out.Items = append(out.Items, n)
			}
		}
	}
	return out, nil
}

// nicSource fills the interface's source for typ and src, checking that a
// libvirt network exists.
func (m *Manager) nicSource(c *libvirt.Connect, ifc *libvirtxml.DomainInterface, typ, src string) error {
	if src == "" {
		return CodeNICSourceNeeded.New("name the %s the NIC connects to", map[string]string{NICNetwork: "network", NICBridge: "host bridge", NICDirect: "host interface"}[typ])
	}
	switch typ {
	case NICNetwork:
		if err := ValidateNetworkName(src); err != nil {
			return err
		}
		n, err := c.LookupNetworkByName(src)
		if err != nil {
			if libvirtCode(err) == libvirt.ERR_NO_NETWORK {
				return NetworkNotFound(src)
			}
			return m.fail("look up network", "", err)
		}
		_ = n.Free()
		ifc.Source = &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: src}}
	case NICBridge:
		if err := validIface("the bridge", src); err != nil {
			return err
		}
		ifc.Source = &libvirtxml.DomainInterfaceSource{Bridge: &libvirtxml.DomainInterfaceSourceBridge{Bridge: src}}
	case NICDirect:
		if err := validIface("the host interface", src); err != nil {
			return err
		}
		ifc.Source = &libvirtxml.DomainInterfaceSource{Direct: &libvirtxml.DomainInterfaceSourceDirect{Dev: src, Mode: "bridge"}}
	default:
		return CodeUnknownNICType.New("a NIC's type is network, bridge or direct, not %q", truncName(typ))
	}
	return nil
}

// truncName keeps an echoed value short.
func truncName(s string) string {
	if len(s) > 32 {
		return s[:32] + "…"
	}
	return s
}

func validLink(l string) error {
	if l != "" && l != "up" && l != "down" {
		return CodeInvalidLink.New("link is up or down, not %q", truncName(l))
	}
	return nil
}

func (m *Manager) checkModel(g *guestDoc, model string) error {
	models := nicModels(g.arch())
	if !slices.Contains(models, model) && model != m.defaultNICModel(g) {
		return CodeUnknownNICModel.New("this guest's NIC model is one of %s, not %q", strings.Join(models, ", "), truncName(model))
	}
	return nil
}

// macOwner names the guest using mac (lower case), from the index.
func (m *Manager) macOwner(mac string) (string, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, e := range m.sorted {
		for _, n := range e.nics {
			if n.mac == mac {
				return e.vm.Name, true
			}
		}
	}
	return "", false
}

// macOwnerOnHost names the guest whose live or saved definition has mac.
func macOwnerOnHost(c *libvirt.Connect, mac string) (string, bool) {
	doms, err := c.ListAllDomains(0)
	if err != nil {
		return "", false
	}
	owner := ""
	for _, dom := range doms {
		if owner == "" {
			for _, flags := range []libvirt.DomainXMLFlags{0, libvirt.DOMAIN_XML_INACTIVE} {
				doc, err := dom.GetXMLDesc(flags)
				var d libvirtxml.Domain
				if err != nil || d.Unmarshal(doc) != nil || d.Devices == nil {
					continue
				}
				if findNIC(&d, mac) >= 0 {
					owner, _ = dom.GetName()
					break
				}
			}
		}
		_ = dom.Free()
	}
	return owner, owner != ""
}

// macUsed lists the MACs of the host's guests, from the index.
func (m *Manager) macUsed() map[string]bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	used := map[string]bool{}
	for _, e := range m.sorted {
		for _, n := range e.nics {
			used[n.mac] = true
		}
	}
	return used
}

// NewNIC builds the interface a POST asks for (without touching the
// guest): the golden tests read it.
func (m *Manager) newNIC(g *guestDoc, req api.NICRequest) (libvirtxml.DomainInterface, error) {
	var ifc libvirtxml.DomainInterface
	typ := req.Type
	if typ == "" {
		typ = NICNetwork
	}
	if err := m.nicSource(g.c, &ifc, typ, req.Source); err != nil {
		return ifc, err
	}
	model := req.Model
	if model == "" {
		model = m.defaultNICModel(g)
	}
	if err := m.checkModel(g, model); err != nil {
		return ifc, err
	}
	ifc.Model = &libvirtxml.DomainInterfaceModel{Type: model}
	if err := validLink(req.Link); err != nil {
		return ifc, err
	}
	if req.Link == "down" {
		ifc.Link = &libvirtxml.DomainInterfaceLink{State: "down"}
	}
	mac := req.MAC
	if mac == "" {
		used := m.macUsed()
		for _, d := range []*libvirtxml.Domain{g.live, g.cfg} {
			for _, i := range d.Devices.Interfaces {
				if i.MAC != nil {
					used[strings.ToLower(i.MAC.Address)] = true
				}
			}
		}
		mac = freshMAC(used)
	} else {
		var err error
		if mac, err = NormalizeMAC(mac); err != nil {
			return ifc, err
		}
		if findNIC(g.live, mac) >= 0 || findNIC(g.cfg, mac) >= 0 {
			return ifc, CodeMACInUse.New("MAC %s is already used by guest %q", mac, g.name)
		}
		owner, ok := m.macOwner(mac)
		if !ok {
			// The index holds what guests run with; a NIC saved for a
			// running guest's next boot shows only in its saved
			// definition: one bulk read of every guest settles it.
			owner, ok = macOwnerOnHost(g.c, mac)
		}
		if ok {
			return ifc, CodeMACInUse.New("MAC %s is already used by guest %q", mac, owner)
		}
	}
	ifc.MAC = &libvirtxml.DomainInterfaceMAC{Address: mac}
	return ifc, nil
}

// AddNIC adds an interface: live and saved on a running guest, saved on a
// shut-off one (or where the driver cannot hot-plug: applies next_boot).
func (m *Manager) AddNIC(ctx context.Context, name string, req api.NICRequest) (api.NICChange, error) {
	g, err := m.editGuest(ctx, name)
	if err != nil {
		return api.NICChange{}, err
	}
	defer g.close()
	ifc, err := m.newNIC(g, req)
	if err != nil {
		return api.NICChange{}, err
	}
	doc, err := ifc.Marshal()
	if err != nil {
		return api.NICChange{}, fault.Internalf(err)
	}
	applies, err := m.changeDevice(g, devAttach, doc, doc, func(d *libvirtxml.Domain) error {
		d.Devices.Interfaces = append(d.Devices.Interfaces, ifc)
		return nil
	})
	if err != nil {
		return api.NICChange{}, err
	}
	return api.NICChange{NIC: nicOf(ifc), Applies: applies}, nil
}

// UpdateNIC changes an interface's network, model or link state. The link
// state changes live; a new model waits for the next boot of a running
// guest, a new network too where QEMU cannot switch it live.
func (m *Manager) UpdateNIC(ctx context.Context, name, mac string, req api.NICRequest) (api.NICChange, error) {
	mac, err := NormalizeMAC(mac)
	if err != nil {
		return api.NICChange{}, err
	}
	if req.MAC != "" {
		if want, err := NormalizeMAC(req.MAC); err != nil || want != mac {
			return api.NICChange{}, CodeInvalidMAC.New("a NIC's MAC cannot change: remove it and add another")
		}
	}
	if err := validLink(req.Link); err != nil {
		return api.NICChange{}, err
	}
	g, err := m.editGuest(ctx, name)
	if err != nil {
		return api.NICChange{}, err
	}
	defer g.close()
	ci, li := findNIC(g.cfg, mac), findNIC(g.live, mac)
	if ci < 0 && li < 0 {
		return api.NICChange{}, CodeNICNotFound.New("guest %q has no NIC with MAC %s", name, mac)
	}
	edit := func(old libvirtxml.DomainInterface) (libvirtxml.DomainInterface, error) {
		ifc := old
		if req.Type != "" || req.Source != "" {
			cur := nicOf(old)
			typ, src := req.Type, req.Source
			if typ == "" {
				typ = cur.Type
			}
			if src == "" && typ == cur.Type {
				src = cur.Source
			}
			if typ != cur.Type || src != cur.Source {
				ifc.Source = nil
				if err := m.nicSource(g.c, &ifc, typ, src); err != nil {
					return ifc, err
				}
				ifc.Target = nil // the old tap device belongs to the old source
			}
		}
		if req.Model != "" && (old.Model == nil || old.Model.Type != req.Model) {
			if err := m.checkModel(g, req.Model); err != nil {
				return ifc, err
			}
			ifc.Model = &libvirtxml.DomainInterfaceModel{Type: req.Model}
		}
		if req.Link != "" {
			ifc.Link = nil
			if req.Link == "down" {
				ifc.Link = &libvirtxml.DomainInterfaceLink{State: "down"}
			} else {
				ifc.Link = &libvirtxml.DomainInterfaceLink{State: "up"}
			}
		}
		return ifc, nil
	}
	ref := g.cfg
	if ci < 0 {
		ref, ci = g.live, li
	}
	newCfg, err := edit(ref.Devices.Interfaces[ci])
	if err != nil {
		return api.NICChange{}, err
	}
	applies := api.AppliesNow
	if g.active && li >= 0 {
		// Live: the link state always; the network when QEMU can switch
		// it; never the model (the device would have to be replugged).
		newLive, err := edit(g.live.Devices.Interfaces[li])
		if err != nil {
			return api.NICChange{}, err
		}
		if req.Model != "" && (g.live.Devices.Interfaces[li].Model == nil || g.live.Devices.Interfaces[li].Model.Type != req.Model) {
			newLive.Model = g.live.Devices.Interfaces[li].Model
			applies = api.AppliesNextBoot
		}
		doc, err := newLive.Marshal()
		if err != nil {
			return api.NICChange{}, fault.Internalf(err)
		}
		if err := g.dom.UpdateDeviceFlags(doc, libvirt.DOMAIN_DEVICE_MODIFY_LIVE); err != nil {
			if !isUnsupportedFlags(err) {
				return api.NICChange{}, m.deviceFail("change NIC", name, err)
			}
			applies = api.AppliesNextBoot
		}
	} else if g.active {
		applies = api.AppliesNextBoot // only in the saved definition
	}
	if g.persistent && ci >= 0 && ref == g.cfg {
		doc, err := newCfg.Marshal()
		if err != nil {
			return api.NICChange{}, fault.Internalf(err)
		}
		if err := m.configDevice(g, devUpdate, doc, func(d *libvirtxml.Domain) error {
			if i := findNIC(d, mac); i >= 0 {
				d.Devices.Interfaces[i] = newCfg
			}
			return nil
		}); err != nil {
			return api.NICChange{}, err
		}
	}
	m.touched(g)
	return api.NICChange{NIC: nicOf(newCfg), Applies: applies}, nil
}

// RemoveNIC removes an interface, live and saved.
func (m *Manager) RemoveNIC(ctx context.Context, name, mac string) (api.NICChange, error) {
	mac, err := NormalizeMAC(mac)
	if err != nil {
		return api.NICChange{}, err
	}
	g, err := m.editGuest(ctx, name)
	if err != nil {
		return api.NICChange{}, err
	}
	defer g.close()
	ci, li := findNIC(g.cfg, mac), findNIC(g.live, mac)
	if ci < 0 && li < 0 {
		return api.NICChange{}, CodeNICNotFound.New("guest %q has no NIC with MAC %s", name, mac)
	}
	var liveDoc, cfgDoc string
	var gone api.NIC
	if li >= 0 {
		gone = nicOf(g.live.Devices.Interfaces[li])
		if liveDoc, err = g.live.Devices.Interfaces[li].Marshal(); err != nil {
			return api.NICChange{}, fault.Internalf(err)
		}
	}
	if ci >= 0 {
		gone = nicOf(g.cfg.Devices.Interfaces[ci])
		if cfgDoc, err = g.cfg.Devices.Interfaces[ci].Marshal(); err != nil {
			return api.NICChange{}, fault.Internalf(err)
		}
	}
	applies, err := m.changeDevice(g, devDetach, liveDoc, cfgDoc, func(d *libvirtxml.Domain) error {
		if i := findNIC(d, mac); i >= 0 {
			d.Devices.Interfaces = slices.Delete(d.Devices.Interfaces, i, i+1)
		}
		return nil
	})
	if err != nil {
		return api.NICChange{}, err
	}
	return api.NICChange{NIC: gone, Applies: applies}, nil
}
