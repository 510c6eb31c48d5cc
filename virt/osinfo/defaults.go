package osinfo

import (
	"slices"
	"strconv"
	"strings"

	"github.com/virtportal/virtportal/api"
)

type xmlResources struct {
	Arch        string        `xml:"arch,attr"`
	Minimum     *xmlResAmount `xml:"minimum"`
	Recommended *xmlResAmount `xml:"recommended"`
}

type xmlResAmount struct {
	NCPUs   string `xml:"n-cpus"`
	RAM     string `xml:"ram"`
	Storage string `xml:"storage"`
}

type xmlFirmware struct {
	Arch      string `xml:"arch,attr"`
	Type      string `xml:"type,attr"`
	Supported string `xml:"supported,attr"`
}

// hardware is what an entry says of devices, sizes and firmware; zero
// fields are inherited from the entry it derives from.
type hardware struct {
	devices  []string // osinfo device ids, e.g. http://pcisig.com/pci/1af4/1001
	minRAM   uint64
	recRAM   uint64
	minDisk  uint64
	recDisk  uint64
	minCPUs  int
	efi      string // "", "supported", "required"
	biosDeny bool   // <firmware type="bios" supported="false"/>
}

func num(s string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
	return n
}

// hardwareOf reads the x86_64 (or arch "all") parts of an entry.
func hardwareOf(x xmlOS) hardware {
	var h hardware
	if x.Devices != nil {
		for _, d := range x.Devices.Device {
			h.devices = append(h.devices, d.ID)
		}
	}
	for _, r := range x.Resources {
		if r.Arch != "" && r.Arch != "all" && r.Arch != "x86_64" {
			continue
		}
		if m := r.Minimum; m != nil {
			h.minRAM, h.minDisk, h.minCPUs = max(h.minRAM, num(m.RAM)), max(h.minDisk, num(m.Storage)), max(h.minCPUs, int(num(m.NCPUs)))
		}
		if m := r.Recommended; m != nil {
			h.recRAM, h.recDisk = max(h.recRAM, num(m.RAM)), max(h.recDisk, num(m.Storage))
		}
	}
	for _, f := range x.Firmware {
		if f.Arch != "" && f.Arch != "x86_64" {
			continue
		}
		switch {
		case f.Type == "efi" && f.Supported != "false":
			h.efi = "supported"
		case f.Type == "bios" && f.Supported == "false":
			h.biosDeny = true
		}
	}
	if h.efi == "supported" && h.biosDeny {
		h.efi = "required"
	}
	return h
}

// mergeHardware adds b (another file of the same entry) to a.
func mergeHardware(a, b hardware) hardware {
	a.devices = append(a.devices, b.devices...)
	a.minRAM, a.recRAM = max(a.minRAM, b.minRAM), max(a.recRAM, b.recRAM)
	a.minDisk, a.recDisk = max(a.minDisk, b.minDisk), max(a.recDisk, b.recDisk)
	a.minCPUs = max(a.minCPUs, b.minCPUs)
	if a.efi == "" || b.efi == "required" {
		a.efi = b.efi
	}
	a.biosDeny = a.biosDeny || b.biosDeny
	return a
}

// The PCI devices that decide the disk bus and the NIC model.
const (
	pciVirtioNet     = "http://pcisig.com/pci/1af4/1000"
	pciVirtioNet1    = "http://pcisig.com/pci/1af4/1041"
	pciVirtioBlock   = "http://pcisig.com/pci/1af4/1001"
	pciVirtioBlock1  = "http://pcisig.com/pci/1af4/1042"
	pciE1000e        = "http://pcisig.com/pci/8086/10d3"
	pciE1000         = "http://pcisig.com/pci/8086/100e"
	pciRTL8139       = "http://pcisig.com/pci/10ec/8139"
	chipsetQ35       = "http://qemu.org/chipset/x86/q35"
	mib              = 1 << 20
	gib              = 1 << 30
	genericMemoryMiB = 2048
	genericDisk      = 20 * gib
)

// Generic is the profile of an unknown OS: devices every current OS
// drives without extra drivers (SATA, e1000e on q35), BIOS.
func Generic() api.OSDefaults {
	return api.OSDefaults{OS: api.TemplateOS{Arch: "x86_64"}, DiskBus: "sata", NICModel: "e1000e", Firmware: "bios",
		Machine: "q35", Video: "vga", MemoryMiB: genericMemoryMiB, DiskSize: genericDisk, VCPUs: 1}
}

// Find returns the entry of id (full or short) from the database or from
// our own table of newer releases.
func (db *DB) Find(id string) (OS, bool) {
	if db != nil {
		if o, ok := db.Lookup(id); ok {
			return o, true
		}
	}
	for _, e := range extra {
		if e.os.ID == id || e.os.ShortID == id {
			return e.os, true
		}
	}
	return OS{}, false
}

// Search returns up to limit entries whose short id or name contains q
// (case-insensitive), short ids that start with q first.
func (db *DB) Search(q string, limit int) []OS {
	q = strings.ToLower(strings.TrimSpace(q))
	seen := map[string]bool{}
	var pre, in []OS
	consider := func(o OS) {
		if seen[o.ID] || o.ShortID == "" {
			return
		}
		seen[o.ID] = true
		sid, name := strings.ToLower(o.ShortID), strings.ToLower(o.Name)
		switch {
		case strings.HasPrefix(sid, q):
			pre = append(pre, o)
		case strings.Contains(sid, q) || strings.Contains(name, q):
			in = append(in, o)
		}
	}
	for _, e := range extra {
		consider(e.os)
	}
	if db != nil {
		for _, o := range db.oses {
			consider(o)
		}
	}
	byName := func(a, b OS) int { return naturalCompare(b.ShortID, a.ShortID) } // newer versions first
	slices.SortStableFunc(pre, byName)
	slices.SortStableFunc(in, byName)
	out := append(pre, in...)
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

// resolved is an entry's hardware with what it inherits: devices add up
// along derives-from/clones (as libosinfo's), sizes and firmware come from
// the nearest entry that says them.
func (db *DB) resolved(id string) hardware {
	var h hardware
	seen := map[string]bool{}
	for depth := 0; id != "" && depth < 32 && !seen[id]; depth++ {
		seen[id] = true
		i, ok := db.byID[id]
		if !ok {
			break
		}
		p := db.hw[i]
		h.devices = append(h.devices, p.devices...)
		if h.recRAM == 0 && h.minRAM == 0 {
			h.recRAM, h.minRAM = p.recRAM, p.minRAM
		}
		if h.recDisk == 0 && h.minDisk == 0 {
			h.recDisk, h.minDisk = p.recDisk, p.minDisk
		}
		if h.minCPUs == 0 {
			h.minCPUs = p.minCPUs
		}
		if h.efi == "" {
			h.efi, h.biosDeny = p.efi, p.biosDeny
		}
		id = db.oses[i].Parent
	}
	return h
}

// Defaults returns the devices and sizes for the OS id (full or short id);
// the generic profile, Known false, when the OS is unknown.
func (db *DB) Defaults(id string) api.OSDefaults {
	o, ok := db.Find(id)
	if !ok || db == nil {
		return Generic()
	}
	h := db.resolved(o.ID)
	if _, inDB := db.byID[o.ID]; !inDB {
		h = db.resolved(o.Parent) // our own table: the parent's hardware
	}
	d := api.OSDefaults{OS: api.TemplateOS{ID: o.ID, ShortID: o.ShortID, Name: o.Name, Family: o.Family, Distro: o.Distro,
		Version: o.Version, Arch: "x86_64"}, Known: true, Firmware: "bios", Video: "vga", VCPUs: 1}
	has := func(ids ...string) bool {
		return slices.ContainsFunc(ids, func(id string) bool { return slices.Contains(h.devices, id) })
	}
	q35 := has(chipsetQ35, pciVirtioBlock1, pciVirtioNet1)
	switch {
	case has(pciVirtioBlock, pciVirtioBlock1):
		d.DiskBus = "virtio"
	case q35:
		d.DiskBus = "sata"
	default:
		d.DiskBus = "ide"
	}
	switch {
	case has(pciVirtioNet, pciVirtioNet1):
		d.NICModel = "virtio"
	case has(pciE1000e):
		d.NICModel = "e1000e"
	case has(pciE1000):
		d.NICModel = "e1000"
	default:
		d.NICModel = "rtl8139"
	}
	if q35 {
		d.Machine = "q35"
	} else {
		d.Machine = "pc"
	}
	if d.DiskBus == "virtio" {
		d.Video = "virtio"
	}
	if h.efi == "required" {
		d.Firmware = "uefi"
		// Windows 11 also needs secure boot (and a TPM).
		d.SecureBoot = o.Family == "winnt"
	}
	d.MemoryMiB = max(h.recRAM, h.minRAM) / mib
	if d.MemoryMiB == 0 {
		d.MemoryMiB = genericMemoryMiB
	}
	d.DiskSize = max(h.recDisk, h.minDisk)
	if d.DiskSize == 0 {
		d.DiskSize = genericDisk
	}
	d.VCPUs = max(1, h.minCPUs)
	return d
}

// Firmwares reports what the OS id needs: efi "" (BIOS), "supported" or
// "required".
func (db *DB) Firmwares(id string) string {
	o, ok := db.Find(id)
	if !ok || db == nil {
		return ""
	}
	return db.resolved(o.ID).efi
}

// naturalCompare orders strings with their digit runs as numbers, so
// debian12 comes after debian9.
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
