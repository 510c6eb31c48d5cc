package virt

import (
	"crypto/sha256"
	"encoding/xml"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// FixtureOptions says what WriteFixture generates.
type FixtureOptions struct {
	// Guests is the number of generated guests (vm-0001…); 0 means the demo set.
	Guests int
	// Seed makes generated guests, UUIDs and MACs reproducible.
	Seed int64
	// ImagesDir is the absolute folder the pools' target paths live under;
	// the test driver never touches it. Empty means /var/lib/libvirt/images.
	ImagesDir string
	// Grant, when set, is added to GrantCount generated guests spread evenly
	// over the host (for benchmarks of one principal's view).
	Grant      api.Grant
	GrantCount int
}

// testDriverNS is the test driver's private domain namespace; its
// <test:runstate> sets the state a guest has after the file is loaded.
const testDriverNS = "http://libvirt.org/schemas/domain/test/1.0"

// Values of <test:runstate> (virDomainState numbers).
const (
	runStateRunning = 1
	runStatePaused  = 3
	runStateShutoff = 5
)

// Fixed names of the fixture's pools and networks.
const (
	FixturePoolDefault = "default"
	FixturePoolISOs    = "isos"
	FixtureNetDefault  = "default"
	FixtureNetIsolated = "isolated"
)

// fixtureGuest is one guest before it becomes libvirtxml.
type fixtureGuest struct {
	name     string
	vcpus    uint
	memMiB   uint
	state    int
	graphics string // vnc, spice or ""
	os       api.OSInfo
	grants   []api.Grant
	// kimchi, when set, adds Kimchi-format access metadata (old or new shape)
	// and omits ours, as a guest imported from Kimchi would look.
	kimchi      *kimchiFixture
	diskGiB     uint64
	cdrom       string // ISO volume name in the isos pool
	network     string
	description string
}

type kimchiFixture struct {
	oldShape bool
	users    []string
	groups   []string
}

// demoGuests is the demo set: a small company's host.
func demoGuests() []fixtureGuest {
	debian := api.OSInfo{Distro: "debian", Version: "12", Arch: "x86_64"}
	ubuntu := api.OSInfo{Distro: "ubuntu", Version: "24.04", Arch: "x86_64"}
	rocky := api.OSInfo{Distro: "rocky", Version: "9", Arch: "x86_64"}
	win := api.OSInfo{Distro: "windows", Version: "2022", Arch: "x86_64"}
	alice := api.Grant{Kind: "user", Realm: "pam", Name: "alice", Role: api.RoleOperator}
	ops := api.Grant{Kind: "group", Realm: "ldap", Name: "ops", Role: api.RoleViewer}
	dba := api.Grant{Kind: "group", Realm: "ldap", Name: "dba", Role: api.RoleManager}
	demo := api.Grant{Kind: "user", Realm: "local", Name: "demo", Role: api.RoleOperator}
	devs := api.Grant{Kind: "group", Realm: "pam", Name: "developers", Role: api.RoleManager}

	const R, P, S = runStateRunning, runStatePaused, runStateShutoff
	g := []fixtureGuest{}
	for i := 1; i <= 6; i++ {
		gr := []api.Grant{ops, demo}
		if i <= 3 {
			gr = append(gr, alice)
		}
		state := R
		if i == 6 {
			state = S
		}
		g = append(g, fixtureGuest{name: fmt.Sprintf("web%02d", i), vcpus: 2, memMiB: 2048, state: state, graphics: "vnc", os: debian, grants: gr, diskGiB: 20, network: FixtureNetDefault, description: "nginx front end"})
	}
	g = append(g,
		fixtureGuest{name: "db01", vcpus: 8, memMiB: 16384, state: R, graphics: "vnc", os: rocky, grants: []api.Grant{dba, ops}, diskGiB: 200, network: FixtureNetIsolated, description: "PostgreSQL primary"},
		fixtureGuest{name: "db02", vcpus: 8, memMiB: 16384, state: R, graphics: "vnc", os: rocky, grants: []api.Grant{dba, ops}, diskGiB: 200, network: FixtureNetIsolated, description: "PostgreSQL replica"},
		fixtureGuest{name: "cache01", vcpus: 2, memMiB: 4096, state: R, os: debian, grants: []api.Grant{ops}, diskGiB: 10, network: FixtureNetIsolated, description: "Redis"},
	)
	for i := 1; i <= 4; i++ {
		state := R
		if i > 2 {
			state = S
		}
		g = append(g, fixtureGuest{name: fmt.Sprintf("build-runner-%d", i), vcpus: 4, memMiB: 8192, state: state, os: ubuntu, grants: []api.Grant{devs}, diskGiB: 80, network: FixtureNetDefault, description: "CI runner"})
	}
	for i := 1; i <= 3; i++ {
		g = append(g, fixtureGuest{name: fmt.Sprintf("k8s-node-%d", i), vcpus: 4, memMiB: 8192, state: R, os: ubuntu, grants: []api.Grant{ops}, diskGiB: 60, network: FixtureNetDefault})
	}
	g = append(g,
		fixtureGuest{name: "win2022-ad", vcpus: 4, memMiB: 8192, state: R, graphics: "spice", os: win, grants: []api.Grant{}, diskGiB: 60, cdrom: "virtio-win-0.1.262.iso", network: FixtureNetDefault, description: "Active Directory domain controller"},
		fixtureGuest{name: "ubuntu-desktop", vcpus: 4, memMiB: 8192, state: P, graphics: "spice", os: ubuntu, grants: []api.Grant{demo}, diskGiB: 40, cdrom: "ubuntu-24.04.1-desktop-amd64.iso", network: FixtureNetDefault},
		fixtureGuest{name: "mail", vcpus: 2, memMiB: 4096, state: R, graphics: "vnc", os: debian, grants: []api.Grant{ops}, diskGiB: 100, network: FixtureNetDefault, description: "Postfix and Dovecot"},
		fixtureGuest{name: "vpn", vcpus: 1, memMiB: 512, state: R, os: debian, diskGiB: 4, network: FixtureNetDefault, description: "WireGuard"},
		fixtureGuest{name: "monitoring", vcpus: 2, memMiB: 4096, state: R, graphics: "vnc", os: debian, grants: []api.Grant{ops, alice}, diskGiB: 50, network: FixtureNetDefault, description: "Prometheus and Grafana"},
		fixtureGuest{name: "backup", vcpus: 2, memMiB: 2048, state: S, os: debian, diskGiB: 500, network: FixtureNetIsolated, description: "Restic repository"},
		fixtureGuest{name: "gitlab", vcpus: 4, memMiB: 8192, state: R, graphics: "vnc", os: rocky, grants: []api.Grant{devs}, diskGiB: 120, network: FixtureNetDefault},
		fixtureGuest{name: "ldap01", vcpus: 1, memMiB: 1024, state: R, os: debian, diskGiB: 8, network: FixtureNetIsolated, description: "OpenLDAP"},
		fixtureGuest{name: "dev-sandbox", vcpus: 2, memMiB: 2048, state: P, graphics: "vnc", os: api.OSInfo{Distro: "fedora", Version: "41", Arch: "x86_64"}, grants: []api.Grant{demo, devs}, diskGiB: 30, cdrom: "Fedora-Workstation-Live-x86_64-41.iso", network: FixtureNetDefault},
		fixtureGuest{name: "freebsd-fw", vcpus: 1, memMiB: 1024, state: R, os: api.OSInfo{Distro: "freebsd", Version: "14.1", Arch: "x86_64"}, diskGiB: 8, network: FixtureNetDefault, description: "pf firewall"},
		fixtureGuest{name: "win10-legacy", vcpus: 2, memMiB: 4096, state: S, graphics: "spice", os: api.OSInfo{Distro: "windows", Version: "10", Arch: "x86_64"}, diskGiB: 60, network: FixtureNetDefault},
		fixtureGuest{name: "jenkins-old", vcpus: 2, memMiB: 4096, state: S, graphics: "vnc", kimchi: &kimchiFixture{users: []string{"bob"}, groups: []string{"developers"}}, diskGiB: 40, network: FixtureNetDefault, description: "imported from Kimchi"},
		fixtureGuest{name: "intranet-kimchi", vcpus: 1, memMiB: 1024, state: R, graphics: "vnc", kimchi: &kimchiFixture{oldShape: true, users: []string{"alice", "carol"}}, diskGiB: 10, network: FixtureNetDefault, description: "imported from Kimchi"},
		fixtureGuest{name: "staging", vcpus: 2, memMiB: 2048, state: R, graphics: "vnc", os: debian, grants: []api.Grant{alice, devs}, diskGiB: 20, network: FixtureNetDefault},
	)
	return g
}

// generatedGuests are n guests for benchmarks, reproducible from seed.
func generatedGuests(n int, seed int64) []fixtureGuest {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x76697274706f7274))
	oses := []api.OSInfo{
		{Distro: "debian", Version: "12", Arch: "x86_64"},
		{Distro: "ubuntu", Version: "24.04", Arch: "x86_64"},
		{Distro: "rocky", Version: "9", Arch: "x86_64"},
		{Distro: "windows", Version: "2022", Arch: "x86_64"},
	}
	mems := []uint{512, 1024, 2048, 4096, 8192, 16384}
	graphics := []string{"vnc", "spice", ""}
	width := len(fmt.Sprint(n))
	if width < 4 {
		width = 4
	}
	out := make([]fixtureGuest, n)
	for i := range out {
		state := runStateRunning
		switch r := rng.IntN(100); {
		case r < 25:
			state = runStateShutoff
		case r < 30:
			state = runStatePaused
		}
		g := fixtureGuest{
			name:     fmt.Sprintf("vm-%0*d", width, i+1),
			vcpus:    uint(1 + rng.IntN(8)),
			memMiB:   mems[rng.IntN(len(mems))],
			state:    state,
			graphics: graphics[rng.IntN(len(graphics))],
			os:       oses[rng.IntN(len(oses))],
			diskGiB:  uint64(10 * (1 + rng.IntN(10))),
			network:  FixtureNetDefault,
		}
		// One guest in five carries a grant, one grant in ten to a group:
		// 2,000 grants over 500 users in 50 groups at 10,000 guests.
		if rng.IntN(5) == 0 {
			gr := api.Grant{Kind: "user", Realm: "pam", Name: fmt.Sprintf("user%03d", rng.IntN(500)), Role: api.RoleOperator}
			if rng.IntN(10) == 0 {
				gr = api.Grant{Kind: "group", Realm: "pam", Name: fmt.Sprintf("group%02d", rng.IntN(50)), Role: api.RoleViewer}
			}
			g.grants = []api.Grant{gr}
		}
		out[i] = g
	}
	return out
}

// spreadGrant adds g to count guests evenly spaced over guests.
func spreadGrant(guests []fixtureGuest, g api.Grant, count int) {
	if count <= 0 || len(guests) == 0 {
		return
	}
	count = min(count, len(guests))
	step := len(guests) / count
	for i := range count {
		guests[i*step].grants = append(guests[i*step].grants, g)
	}
}

var demoISOs = []struct {
	name string
	mib  uint64
}{
	{"debian-12.8.0-amd64-netinst.iso", 631},
	{"ubuntu-24.04.1-desktop-amd64.iso", 6057},
	{"Fedora-Workstation-Live-x86_64-41.iso", 2314},
	{"virtio-win-0.1.262.iso", 708},
	{DemoWindowsISO, 5632}, // the demo's Windows 11 template installs from it
}

// The demo templates' images (issue 10): a cloud image in the default
// pool and a Windows 11 installer in the isos pool.
const (
	DemoCloudImage = "debian-12-generic-amd64.qcow2"
	DemoWindowsISO = "Win11_24H2_English_x64.iso"
	DemoDebianISO  = "debian-12.8.0-amd64-netinst.iso"
)

// WriteFixture writes a <node> document for the test driver
// (test:///ABSOLUTE/path.xml): guests, the pools default and isos with their
// volumes, and the networks default and isolated.
func WriteFixture(path string, opt FixtureOptions) error {
	if opt.Guests < 0 {
		return errors.New("fixture: negative guest count")
	}
	images := opt.ImagesDir
	if images == "" {
		images = "/var/lib/libvirt/images"
	}
	if !filepath.IsAbs(images) {
		return fmt.Errorf("fixture: images folder %q is not absolute", images)
	}
	guests := demoGuests()
	if opt.Guests > 0 {
		guests = generatedGuests(opt.Guests, opt.Seed)
		spreadGrant(guests, opt.Grant, opt.GrantCount)
	}
	doc, err := buildFixture(guests, images, opt.Seed)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".fixture-*.xml")
	if err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(doc); err != nil {
		tmp.Close()
		return fmt.Errorf("fixture: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("fixture: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("fixture: %w", err)
	}
	return nil
}

// The <node> wrapper and the test driver's runstate have no libvirtxml
// types; these carry marshalled libvirtxml documents verbatim.
type fixtureNode struct {
	XMLName  xml.Name      `xml:"node"`
	Domains  []fixtureElem `xml:"domain"`
	Networks []fixtureElem `xml:"network"`
	Pools    []fixtureElem `xml:"pool"`
	// Interfaces are the host's: a bridge and an ethernet card.
	Interfaces []fixtureElem `xml:"interface"`
	// Devices are the host's PCI and USB devices (issue 11).
	Devices []fixtureElem `xml:"device"`
}

// fixtureElem is a libvirtxml document split into its root's attributes and
// inner XML, so that the test driver's extras can be added beside them.
type fixtureElem struct {
	XMLName  xml.Name
	Attrs    []xml.Attr       `xml:",any,attr"`
	Inner    string           `xml:",innerxml"`
	RunState *fixtureRunState `xml:",omitempty"`
	Volumes  []fixtureElem    `xml:"volume,omitempty"`
}

type fixtureRunState struct {
	XMLName xml.Name `xml:"test:runstate"`
	Value   int      `xml:",chardata"`
}

// splitDoc re-reads a marshalled libvirtxml document as a fixtureElem.
func splitDoc(doc string) (fixtureElem, error) {
	var e fixtureElem
	if err := xml.Unmarshal([]byte(doc), &e); err != nil {
		return e, fmt.Errorf("fixture: %w", err)
	}
	e.XMLName.Space = ""
	return e, nil
}

func buildFixture(guests []fixtureGuest, images string, seed int64) ([]byte, error) {
	var node fixtureNode
	defPool := filepath.Join(images, FixturePoolDefault)
	isoPool := filepath.Join(images, FixturePoolISOs)

	for _, n := range []*libvirtxml.Network{
		{
			Name:    FixtureNetDefault,
			UUID:    fixtureUUID(seed, "network", FixtureNetDefault),
			Forward: &libvirtxml.NetworkForward{Mode: "nat"},
			Bridge:  &libvirtxml.NetworkBridge{Name: "virbr0", STP: "on", Delay: "0"},
			MAC:     &libvirtxml.NetworkMAC{Address: fixtureMAC(seed, "network", FixtureNetDefault)},
			IPs: []libvirtxml.NetworkIP{{
				Address: "192.168.122.1", Netmask: "255.255.255.0",
				DHCP: &libvirtxml.NetworkDHCP{Ranges: []libvirtxml.NetworkDHCPRange{{Start: "192.168.122.2", End: "192.168.122.254"}}},
			}},
		},
		{
			Name:   FixtureNetIsolated,
			UUID:   fixtureUUID(seed, "network", FixtureNetIsolated),
			Bridge: &libvirtxml.NetworkBridge{Name: "virbr1", STP: "on", Delay: "0"},
			MAC:    &libvirtxml.NetworkMAC{Address: fixtureMAC(seed, "network", FixtureNetIsolated)},
			IPs:    []libvirtxml.NetworkIP{{Address: "10.10.10.1", Netmask: "255.255.255.0"}},
		},
	} {
		doc, err := n.Marshal()
		if err != nil {
			return nil, fmt.Errorf("fixture: network %s: %w", n.Name, err)
		}
		e, err := splitDoc(doc)
		if err != nil {
			return nil, err
		}
		node.Networks = append(node.Networks, e)
	}
	ifaces, err := fixtureIfaces(seed)
	if err != nil {
		return nil, err
	}
	node.Interfaces = ifaces
	if node.Devices, err = fixtureHostDevs(); err != nil {
		return nil, err
	}

	const gib = 1 << 30
	var defVols []fixtureElem
	var defCap uint64
	// The test driver gives every pool 100 GiB and adds the volumes'
	// allocations on load, so they must stay below that for the pool's
	// free space to make sense: a quarter of each disk, at most a share of
	// 60 GiB.
	share := uint64(60 * gib)
	if len(guests) > 0 {
		share /= uint64(len(guests))
	}
	for _, g := range guests {
		alloc := min(g.diskGiB*gib/4, share)
		vol := &libvirtxml.StorageVolume{
			Type:       "file",
			Name:       g.name + ".qcow2",
			Key:        filepath.Join(defPool, g.name+".qcow2"),
			Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: g.diskGiB * gib},
			Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: alloc},
			Target: &libvirtxml.StorageVolumeTarget{
				Path:   filepath.Join(defPool, g.name+".qcow2"),
				Format: &libvirtxml.StorageVolumeTargetFormat{Type: "qcow2"},
			},
		}
		e, err := marshalVolume(vol)
		if err != nil {
			return nil, err
		}
		defVols = append(defVols, e)
		defCap += alloc
	}
	// Volumes no guest uses, so that a listing shows both kinds.
	for _, spare := range []struct {
		name, format string
		gib          uint64
	}{{"spare-data.qcow2", "qcow2", 50}, {"scratch.img", "raw", 8}, {DemoCloudImage, "qcow2", 2}} {
		vol := &libvirtxml.StorageVolume{
			Type:       "file",
			Name:       spare.name,
			Key:        filepath.Join(defPool, spare.name),
			Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: spare.gib * gib},
			Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: 256 << 20},
			Target: &libvirtxml.StorageVolumeTarget{
				Path:   filepath.Join(defPool, spare.name),
				Format: &libvirtxml.StorageVolumeTargetFormat{Type: spare.format},
			},
		}
		e, err := marshalVolume(vol)
		if err != nil {
			return nil, err
		}
		defVols = append(defVols, e)
		defCap += 256 << 20
	}
	var isoVols []fixtureElem
	var isoCap uint64
	for _, iso := range demoISOs {
		vol := &libvirtxml.StorageVolume{
			Type:       "file",
			Name:       iso.name,
			Key:        filepath.Join(isoPool, iso.name),
			Capacity:   &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: iso.mib << 20},
			Allocation: &libvirtxml.StorageVolumeSize{Unit: "bytes", Value: iso.mib << 20},
			Target: &libvirtxml.StorageVolumeTarget{
				Path:   filepath.Join(isoPool, iso.name),
				Format: &libvirtxml.StorageVolumeTargetFormat{Type: "iso"},
			},
		}
		e, err := marshalVolume(vol)
		if err != nil {
			return nil, err
		}
		isoVols = append(isoVols, e)
		isoCap += iso.mib << 20
	}
	for _, p := range []struct {
		name, path string
		used       uint64
		vols       []fixtureElem
	}{
		{FixturePoolDefault, defPool, defCap, defVols},
		{FixturePoolISOs, isoPool, isoCap, isoVols},
	} {
		const capacity = 100 << 30 // what the test driver reports anyway
		pool := &libvirtxml.StoragePool{
			Type:       "dir",
			Name:       p.name,
			UUID:       fixtureUUID(seed, "pool", p.name),
			Capacity:   &libvirtxml.StoragePoolSize{Unit: "bytes", Value: capacity},
			Allocation: &libvirtxml.StoragePoolSize{Unit: "bytes", Value: p.used},
			Available:  &libvirtxml.StoragePoolSize{Unit: "bytes", Value: capacity - p.used},
			Target:     &libvirtxml.StoragePoolTarget{Path: p.path},
		}
		doc, err := pool.Marshal()
		if err != nil {
			return nil, fmt.Errorf("fixture: pool %s: %w", p.name, err)
		}
		e, err := splitDoc(doc)
		if err != nil {
			return nil, err
		}
		e.Volumes = p.vols
		node.Pools = append(node.Pools, e)
	}

	for _, g := range guests {
		dom, err := fixtureDomain(g, defPool, isoPool, seed)
		if err != nil {
			return nil, err
		}
		doc, err := dom.Marshal()
		if err != nil {
			return nil, fmt.Errorf("fixture: guest %s: %w", g.name, err)
		}
		e, err := splitDoc(doc)
		if err != nil {
			return nil, err
		}
		e.Attrs = append(e.Attrs, xml.Attr{Name: xml.Name{Local: "xmlns:test"}, Value: testDriverNS})
		if g.state != runStateRunning {
			e.RunState = &fixtureRunState{Value: g.state}
		}
		node.Domains = append(node.Domains, e)
	}

	out, err := xml.MarshalIndent(node, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("fixture: %w", err)
	}
	return append(out, '\n'), nil
}

func marshalVolume(vol *libvirtxml.StorageVolume) (fixtureElem, error) {
	doc, err := vol.Marshal()
	if err != nil {
		return fixtureElem{}, fmt.Errorf("fixture: volume %s: %w", vol.Name, err)
	}
	return splitDoc(doc)
}

func fixtureDomain(g fixtureGuest, defPool, isoPool string, seed int64) (*libvirtxml.Domain, error) {
	var meta []string
	if g.kimchi != nil {
		k, err := marshalKimchiFixture(g.kimchi)
		if err != nil {
			return nil, err
		}
		meta = append(meta, k)
	} else {
		ours, err := MarshalGuestMetadata(GuestMetadata{OS: g.os, NICModel: "virtio", DiskBus: "virtio", CDROMBus: "sata", Grants: g.grants}, true)
		if err != nil {
			return nil, err
		}
		meta = append(meta, ours)
	}
	disks := []libvirtxml.DomainDisk{{
		Device: "disk",
		Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
		Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: filepath.Join(defPool, g.name+".qcow2")}},
		Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
	}}
	if g.cdrom != "" {
		disks = append(disks, libvirtxml.DomainDisk{
			Device:   "cdrom",
			Driver:   &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "raw"},
			Source:   &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: filepath.Join(isoPool, g.cdrom)}},
			Target:   &libvirtxml.DomainDiskTarget{Dev: "sda", Bus: "sata"},
			ReadOnly: &libvirtxml.DomainDiskReadOnly{},
		})
	}
	dom := &libvirtxml.Domain{
		Type:          "test",
		Name:          g.name,
		UUID:          fixtureUUID(seed, "domain", g.name),
		Description:   g.description,
		Metadata:      &libvirtxml.DomainMetadata{XML: strings.Join(meta, "")},
		Memory:        &libvirtxml.DomainMemory{Value: g.memMiB, Unit: "MiB"},
		CurrentMemory: &libvirtxml.DomainCurrentMemory{Value: g.memMiB, Unit: "MiB"},
		VCPU:          &libvirtxml.DomainVCPU{Placement: "static", Value: g.vcpus},
		OS:            &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: "x86_64", Type: "hvm"}},
		OnPoweroff:    "destroy",
		OnReboot:      "restart",
		OnCrash:       "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Disks: disks,
			Interfaces: []libvirtxml.DomainInterface{{
				MAC:    &libvirtxml.DomainInterfaceMAC{Address: fixtureMAC(seed, "domain", g.name)},
				Source: &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: g.network}},
				Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
			}},
			Serials: []libvirtxml.DomainSerial{{
				Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
				Target: &libvirtxml.DomainSerialTarget{Port: new(uint)},
			}},
		},
	}
	switch g.graphics {
	case "vnc":
		dom.Devices.Graphics = []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{Port: -1, AutoPort: "yes", Listen: "127.0.0.1"}}}
	case "spice":
		dom.Devices.Graphics = []libvirtxml.DomainGraphic{{Spice: &libvirtxml.DomainGraphicSpice{Port: -1, AutoPort: "yes", Listen: "127.0.0.1"}}}
	}
	return dom, nil
}

// Kimchi's shapes: newer releases wrote <kimchi:metadata><access>…, older
// ones <kimchi:access> as the root.
type kimchiFixtureAuth struct {
	XMLName xml.Name `xml:"auth"`
	Type    string   `xml:"type,attr"`
	Users   []string `xml:"user"`
	Groups  []string `xml:"group"`
}

type kimchiFixtureAccess struct {
	XMLName xml.Name `xml:"access"`
	Auth    kimchiFixtureAuth
}

type kimchiFixtureRoot struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Access  *kimchiFixtureAccess
	Auth    *kimchiFixtureAuth
}

func marshalKimchiFixture(k *kimchiFixture) (string, error) {
	auth := kimchiFixtureAuth{Type: "pam", Users: k.users, Groups: k.groups}
	root := kimchiFixtureRoot{Attrs: []xml.Attr{{Name: xml.Name{Local: "xmlns:kimchi"}, Value: KimchiNS}}}
	if k.oldShape {
		root.XMLName = xml.Name{Local: "kimchi:access"}
		root.Auth = &auth
	} else {
		root.XMLName = xml.Name{Local: "kimchi:metadata"}
		root.Access = &kimchiFixtureAccess{Auth: auth}
	}
	out, err := xml.Marshal(root)
	if err != nil {
		return "", fmt.Errorf("fixture: kimchi metadata: %w", err)
	}
	return string(out), nil
}

// fixtureUUID derives a stable UUID (version 4 layout) from seed and name.
func fixtureUUID(seed int64, kind, name string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%d/%s/%s", seed, kind, name))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// fixtureMAC derives a stable MAC in QEMU's 52:54:00 range.
func fixtureMAC(seed int64, kind, name string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "mac/%d/%s/%s", seed, kind, name))
	return fmt.Sprintf("52:54:00:%02x:%02x:%02x", h[0], h[1], h[2])
}
