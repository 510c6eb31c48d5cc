// What making a new guest needs of libvirt beyond the volume calls: the
// domain type to ask for, MACs unused on the host, linked-clone volumes,
// defining the domain, and removing a half-made guest.

package virt

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// CodeGuestExists: a guest of that name is defined on the host.
var CodeGuestExists = fault.Define("guest_exists", fault.Conflict)

// DomainType is the domain type new guests ask for: kvm where the host
// offers it, qemu (TCG) otherwise, test on the test driver.
func (m *Manager) DomainType(ctx context.Context) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	c, err := m.acquire()
	if err != nil {
		return "", err
	}
	defer release(c)
	if typ, err := c.GetType(); err == nil && strings.EqualFold(typ, "test") {
		return "test", nil
	}
	doc, err := c.GetCapabilities()
	if err != nil {
		return "", m.fail("read capabilities", "", err)
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(doc); err != nil {
		return "", m.fail("read capabilities", "", err)
	}
	for _, g := range caps.Guests {
		if g.OSType != "hvm" || g.Arch.Name != "x86_64" {
			continue
		}
		for _, d := range g.Arch.Domains {
			if d.Type == "kvm" {
				return "kvm", nil
			}
		}
	}
	return "qemu", nil
}

// GuestExists reports whether a guest of that name is defined.
func (m *Manager) GuestExists(ctx context.Context, name string) (bool, error) {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		if fault.Is(err, CodeGuestNotFound) {
			return false, nil
		}
		return false, err
	}
	release(c)
	_ = dom.Free()
	return true, nil
}

// UsedMACs lists the MAC addresses of every guest's interfaces (lower case).
func (m *Manager) UsedMACs(ctx context.Context) (map[string]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := m.acquire()
	if err != nil {
		return nil, err
	}
	defer release(c)
	doms, err := c.ListAllDomains(0)
	if err != nil {
		return nil, m.fail("list guests", "", err)
	}
	used := map[string]bool{}
	for i := range doms {
		doc, err := doms[i].GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
		_ = doms[i].Free()
		if err != nil {
			continue // gone meanwhile
		}
		var d libvirtxml.Domain
		if d.Unmarshal(doc) != nil || d.Devices == nil {
			continue
		}
		for _, n := range d.Devices.Interfaces {
			if n.MAC != nil {
				used[strings.ToLower(n.MAC.Address)] = true
			}
		}
	}
	return used, nil
}

// NewMACs returns n random addresses under QEMU's 52:54:00 prefix that no
// guest of the host uses.
func (m *Manager) NewMACs(ctx context.Context, n int) ([]string, error) {
	if n == 0 {
		return nil, nil
	}
	used, err := m.UsedMACs(ctx)
	if err != nil {
		return nil, err
	}
	return RandomMACs(n, used), nil
}

// RandomMACs returns n distinct random 52:54:00 addresses not in used.
func RandomMACs(n int, used map[string]bool) []string {
	out := make([]string, 0, n)
	seen := map[string]bool{}
	for len(out) < n {
		var b [3]byte
		_, _ = rand.Read(b[:])
		mac := fmt.Sprintf("%s:%02x:%02x:%02x", guestMACPrefix, b[0], b[1], b[2])
		if used[mac] || seen[mac] {
			continue
		}
		seen[mac] = true
		out = append(out, mac)
	}
	return out
}

// CreateOverlayVolume makes a qcow2 volume in pool whose backing store is
// the volume base of basePool (a linked clone): capacity bytes, at least
// the base's size.
func (m *Manager) CreateOverlayVolume(ctx context.Context, pool, name, basePool, base string, capacity uint64) (api.Volume, error) {
	defer m.volumesChanged()
	if err := ValidateVolumeName(name); err != nil {
		return api.Volume{}, err
	}
	if err := ctx.Err(); err != nil {
		return api.Volume{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.Volume{}, err
	}
	defer release(c)
	bp, err := c.LookupStoragePoolByName(basePool)
	if err != nil {
		return api.Volume{}, m.storageFail("find pool", basePool, "", err)
	}
	defer bp.Free()
	bv, err := bp.LookupStorageVolByName(base)
	if err != nil {
		return api.Volume{}, m.storageFail("find volume", basePool, base, err)
	}
	defer bv.Free()
	doc, err := bv.GetXMLDesc(0)
	if err != nil {
		return api.Volume{}, m.storageFail("read volume", basePool, base, err)
	}
	var bx libvirtxml.StorageVolume
	if err := bx.Unmarshal(doc); err != nil {
		return api.Volume{}, m.fail("read volume", "", err)
	}
	baseFormat := "raw"
	if bx.Target != nil && bx.Target.Format != nil && bx.Target.Format.Type != "" {
		baseFormat = bx.Target.Format.Type
	}
	info, err := bv.GetInfo()
	if err != nil {
		return api.Volume{}, m.storageFail("read volume", basePool, base, err)
	}
	capacity = max(capacity, info.Capacity)
	path := ""
	if bx.Target != nil {
		path = bx.Target.Path
	}
	if path == "" {
		if path, err = bv.GetPath(); err != nil {
			return api.Volume{}, m.storageFail("read volume", basePool, base, err)
		}
	}
	x := libvirtxml.StorageVolume{
		Name:         name,
		Capacity:     &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: capacity},
		Allocation:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: 0},
		Target:       &libvirtxml.StorageVolumeTarget{Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"}},
		BackingStore: &libvirtxml.StorageVolumeBackingStore{Path: path, Format: &libvirtxml.StorageVolumeTargetFormat{Type: baseFormat}},
	}
	out, err := x.Marshal()
	if err != nil {
		return api.Volume{}, m.fail("create volume", "", err)
	}
	var created api.Volume
	err = m.withPool(ctx, pool, func(_ *libvirt.Connect, p *libvirt.StoragePool) error {
		if err := m.activePool(p, pool); err != nil {
			return err
		}
		v, err := p.StorageVolCreateXML(out, 0)
		if err != nil {
			return m.storageFail("create volume", pool, name, err)
		}
		defer v.Free()
		created, err = m.describeVolume(v, pool, m.diskUsers())
		return err
	})
	return created, err
}

// DefineGuest defines the domain (with its metadata inside) and brings
// the index up to date; a name already defined is CodeGuestExists.
func (m *Manager) DefineGuest(ctx context.Context, dom *libvirtxml.Domain) error {
	doc, err := dom.Marshal()
	if err != nil {
		return m.fail("define guest", dom.Name, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c, err := m.acquire()
	if err != nil {
		return err
	}
	defer release(c)
	if d, err := c.LookupDomainByName(dom.Name); err == nil {
		_ = d.Free()
		return CodeGuestExists.New("a guest named %q exists", dom.Name)
	}
	d, err := c.DomainDefineXMLFlags(doc, libvirt.DOMAIN_DEFINE_VALIDATE)
	if err != nil {
		if libvirtCode(err) == libvirt.ERR_NO_SUPPORT || libvirtCode(err) == libvirt.ERR_INVALID_ARG {
			d, err = c.DomainDefineXML(doc) // drivers without schema validation
		}
		if err != nil {
			return CodeInvalidSpec.Wrap(err, "libvirt refused the guest %q: %s", dom.Name, libvirtMessage(err))
		}
	}
	_ = d.Free()
	if err := m.refresh(dom.Name, refreshFull); err != nil {
		m.log.Warn("refresh after define failed", "guest", dom.Name, "err", err)
	}
	return nil
}

// RemoveGuest destroys and undefines a guest whatever its state (with its
// NVRAM, snapshots and managed save): the undo and cleaner of a creation.
// A guest already gone is success.
func (m *Manager) RemoveGuest(ctx context.Context, name string) error {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		if fault.Is(err, CodeGuestNotFound) {
			return nil
		}
		return err
	}
	defer release(c)
	defer dom.Free()
	if active, _, err := activity(dom); err == nil && active {
		if err := dom.Destroy(); err != nil && libvirtCode(err) != libvirt.ERR_OPERATION_INVALID && libvirtCode(err) != libvirt.ERR_NO_DOMAIN {
			return m.fail("stop guest", name, err)
		}
	}
	if err := undefineAll(dom); err != nil && libvirtCode(err) != libvirt.ERR_NO_DOMAIN {
		return m.fail("delete guest", name, err)
	}
	if err := m.refresh(name, refreshFull); err != nil {
		m.log.Warn("refresh after delete failed", "guest", name, "err", err)
	}
	return nil
}

// libvirtMessage is libvirt's own sentence for err, without its prefix.
func libvirtMessage(err error) string {
	if e, ok := err.(libvirt.Error); ok {
		return e.Message
	}
	return err.Error()
}

// GuestDefaults reads the OS and device defaults of a guest's metadata
// (<os>, <defaults>), so that disks and NICs added later match the ones
// it was made with; a guest without them answers the zero value.
func (m *Manager) GuestDefaults(ctx context.Context, name string) (GuestMetadata, error) {
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return GuestMetadata{}, err
	}
	defer release(c)
	defer dom.Free()
	doc, err := getMetadata(dom, MetadataNS, libvirt.DOMAIN_AFFECT_CONFIG)
	if err != nil {
		return GuestMetadata{}, m.fail("read metadata", name, err)
	}
	var md GuestMetadata
	if doc == "" {
		return md, nil
	}
	g, err := parseGuestMeta(doc)
	if err != nil {
		return md, CodeMetadataUnreadable.Wrap(err, "the metadata of guest %q cannot be read", name)
	}
	if g.OS != nil {
		md.OS = api.OSInfo{Distro: g.OS.Distro, Version: g.OS.Version, Arch: g.OS.Arch}
	}
	if g.Defaults != nil {
		md.NICModel, md.DiskBus, md.CDROMBus = g.Defaults.NICModel, g.Defaults.DiskBus, g.Defaults.CDROMBus
	}
	return md, nil
}
