// The domain builder: a new guest's libvirt XML from a neutral spec, every
// element through libvirtxml, with the OS defaults kept in its metadata.

package virt

import (
	"fmt"
	"net"
	"slices"

	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// CodeInvalidSpec: a guest's spec is not one a guest can be made from;
// the details name each field.
var CodeInvalidSpec = fault.Define("guest_spec_invalid", fault.Unprocessable)

// Limits of a new guest.
const (
	MaxGuestVCPUs    = 255
	MinGuestMemMiB   = 16
	MaxGuestMemMiB   = 16 << 20 // 16 TiB
	MaxGuestDisks    = 16
	MaxGuestNICs     = 8
	DefaultListen    = "127.0.0.1"
	defaultMachine   = "q35"
	legacyMachine    = "pc" // i440fx: the one with an IDE controller
	guestMACPrefix   = "52:54:00"
	defaultCDROMBus  = "sata"
	defaultDomainKVM = "kvm"
)

// Device choices a spec may name.
var (
	DiskBuses   = []string{"virtio", "sata", "scsi", "ide"}
	NICModels   = []string{"virtio", "e1000e", "e1000", "rtl8139"}
	BootDevices = []string{"hd", "cdrom", "network"}
)

// SpecDisk is one disk or CD-ROM of a new guest: a volume of a pool.
type SpecDisk struct {
	Device string // disk (default) or cdrom
	Pool   string
	Volume string // "" : an empty CD-ROM drive
	Format string // qcow2, raw (cdrom: raw)
	Bus    string // "" : the spec's DiskBus (cdrom: CDROMBus)
}

// SpecNIC is one network interface of a new guest.
type SpecNIC struct {
	Network string
	Model   string // "" : the spec's NICModel
	MAC     string // 52:54:00:…; chosen by the caller (unique on the host)
}

// GuestSpec is everything a new guest's domain is built from.
type GuestSpec struct {
	Name        string
	UUID        string // "" : libvirt chooses
	Type        string // kvm (default), qemu (TCG), test
	Description string
	OS          api.TemplateOS
	VCPUs       int
	MaxVCPUs    int           // 0 : VCPUs
	Topology    *api.Topology // nil : MaxVCPUs sockets
	MemoryMiB   uint64
	MaxMemMiB   uint64 // 0 : MemoryMiB; the balloon may grow the guest up to it
	Firmware    string // bios (default) or uefi
	SecureBoot  bool
	Machine     string // "" : q35, or pc when a disk is on IDE
	DiskBus     string // the OS default, written into the metadata too
	NICModel    string
	CDROMBus    string // "" : sata, or ide with an IDE disk bus
	Disks       []SpecDisk
	NICs        []SpecNIC
	Graphics    string // vnc, spice or none
	Listen      string // "" : 127.0.0.1
	BootOrder   []string
	// SerialBIOS makes SeaBIOS print on the serial console.
	SerialBIOS bool
	// Grants become the metadata's <access> (nil: none).
	Grants []api.Grant
}

// normalise fills a spec's defaults.
func (s *GuestSpec) normalise() {
	if s.Type == "" {
		s.Type = defaultDomainKVM
	}
	if s.MaxVCPUs == 0 {
		s.MaxVCPUs = s.VCPUs
	}
	if s.MaxMemMiB == 0 {
		s.MaxMemMiB = s.MemoryMiB
	}
	if s.Firmware == "" {
		s.Firmware = "bios"
	}
	if s.DiskBus == "" {
		s.DiskBus = "virtio"
	}
	if s.NICModel == "" {
		s.NICModel = "virtio"
	}
	if s.CDROMBus == "" {
		s.CDROMBus = defaultCDROMBus
		if s.DiskBus == "ide" {
			s.CDROMBus = "ide"
		}
	}
	if s.Graphics == "" {
		s.Graphics = "vnc"
	}
	if s.Listen == "" {
		s.Listen = DefaultListen
	}
	if s.OS.Arch == "" {
		s.OS.Arch = "x86_64"
	}
	for i := range s.Disks {
		d := &s.Disks[i]
		if d.Device == "" {
			d.Device = "disk"
		}
		if d.Bus == "" {
			d.Bus = s.DiskBus
			if d.Device == "cdrom" {
				d.Bus = s.CDROMBus
			}
		}
		if d.Format == "" {
			d.Format = "qcow2"
			if d.Device == "cdrom" {
				d.Format = "raw"
			}
		}
	}
	for i := range s.NICs {
		if s.NICs[i].Model == "" {
			s.NICs[i].Model = s.NICModel
		}
	}
	if s.Machine == "" {
		s.Machine = defaultMachine
		if s.usesIDE() {
			s.Machine = legacyMachine
		}
	}
}

func (s *GuestSpec) usesIDE() bool {
	return slices.ContainsFunc(s.Disks, func(d SpecDisk) bool { return d.Bus == "ide" })
}

// ValidateSpec checks a spec (after filling its defaults), naming every
// bad field in one CodeInvalidSpec.
func ValidateSpec(s *GuestSpec) error {
	s.normalise()
	var det []fault.Detail
	bad := func(field, format string, a ...any) {
		det = append(det, fault.Detail{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	if err := ValidateName(s.Name); err != nil {
		bad("name", "%s", fault.As(err).Message)
	}
	switch {
	case s.VCPUs < 1:
		bad("vcpus", "at least 1")
	case s.MaxVCPUs > MaxGuestVCPUs:
		bad("max_vcpus", "at most %d", MaxGuestVCPUs)
	case s.VCPUs > s.MaxVCPUs:
		bad("vcpus", "%d is more than the maximum of %d", s.VCPUs, s.MaxVCPUs)
	}
	if t := s.Topology; t != nil {
		switch {
		case t.Sockets < 1 || t.Cores < 1 || t.Threads < 1:
			bad("topology", "sockets, cores and threads must each be at least 1")
		case t.Sockets*t.Cores*t.Threads != s.MaxVCPUs:
			bad("topology", "%d sockets × %d cores × %d threads is %d, not the maximum of %d vCPUs",
				t.Sockets, t.Cores, t.Threads, t.Sockets*t.Cores*t.Threads, s.MaxVCPUs)
		}
	}
	switch {
	case s.MemoryMiB < MinGuestMemMiB:
		bad("memory_mib", "at least %d MiB", MinGuestMemMiB)
	case s.MaxMemMiB > MaxGuestMemMiB:
		bad("max_memory_mib", "at most %d MiB", MaxGuestMemMiB)
	case s.MemoryMiB > s.MaxMemMiB:
		bad("memory_mib", "%d MiB is more than the maximum of %d MiB", s.MemoryMiB, s.MaxMemMiB)
	}
	switch s.Firmware {
	case "bios":
		if s.SecureBoot {
			bad("secure_boot", "secure boot needs UEFI firmware")
		}
	case "uefi":
	default:
		bad("firmware", "bios or uefi")
	}
	if s.SecureBoot && s.Machine != defaultMachine {
		bad("machine", "secure boot needs the q35 machine")
	}
	if s.usesIDE() && s.Machine == defaultMachine {
		bad("machine", "q35 has no IDE controller: use sata, or the pc machine")
	}
	if !slices.Contains(DiskBuses, s.DiskBus) {
		bad("disk_bus", "one of %v", DiskBuses)
	}
	if !slices.Contains(NICModels, s.NICModel) {
		bad("nic_model", "one of %v", NICModels)
	}
	if len(s.Disks) > MaxGuestDisks {
		bad("disks", "at most %d", MaxGuestDisks)
	}
	for i, d := range s.Disks {
		f := fmt.Sprintf("disks[%d]", i)
		if d.Device != "disk" && d.Device != "cdrom" {
			bad(f+".device", "disk or cdrom")
		}
		if !slices.Contains(DiskBuses, d.Bus) || (d.Device == "cdrom" && d.Bus == "virtio") {
			bad(f+".bus", "not a bus for a %s", d.Device)
		}
		if d.Format != "qcow2" && d.Format != "raw" {
			bad(f+".format", "qcow2 or raw")
		}
		if d.Volume != "" || d.Device == "disk" {
			if err := ValidatePoolName(d.Pool); err != nil {
				bad(f+".pool", "%s", fault.As(err).Message)
			}
			if err := ValidateVolumeName(d.Volume); err != nil {
				bad(f+".volume", "%s", fault.As(err).Message)
			}
		}
	}
	if len(s.NICs) > MaxGuestNICs {
		bad("nics", "at most %d", MaxGuestNICs)
	}
	for i, n := range s.NICs {
		f := fmt.Sprintf("nics[%d]", i)
		if err := validateIdent("network", n.Network, MaxPoolNameLen); err != nil {
			bad(f+".network", "%s", fault.As(err).Message)
		}
		if !slices.Contains(NICModels, n.Model) {
			bad(f+".model", "one of %v", NICModels)
		}
		if hw, err := net.ParseMAC(n.MAC); err != nil || len(hw) != 6 || hw[0]&1 != 0 {
			bad(f+".mac", "a unicast MAC address")
		}
	}
	switch s.Graphics {
	case "vnc", "spice", "none":
	default:
		bad("graphics", "vnc, spice or none")
	}
	if net.ParseIP(s.Listen) == nil {
		bad("graphics_listen", "an IP address")
	}
	for i, b := range s.BootOrder {
		if !slices.Contains(BootDevices, b) || slices.Index(s.BootOrder, b) != i {
			bad(fmt.Sprintf("boot_order[%d]", i), "each of %v at most once", BootDevices)
		}
	}
	if err := validateGrants(s.Grants); err != nil {
		bad("grants", "%s", fault.As(err).Message)
	}
	if len(det) > 0 {
		return CodeInvalidSpec.New("the guest cannot be made as asked").WithDetails(det)
	}
	return nil
}

// BuildDomain validates the spec and returns the new guest's domain.
func BuildDomain(s GuestSpec) (*libvirtxml.Domain, error) {
	if err := ValidateSpec(&s); err != nil {
		return nil, err
	}
	meta, err := MarshalGuestMetadata(GuestMetadata{
		OS:       api.OSInfo{Distro: s.OS.Distro, Version: s.OS.Version, Arch: s.OS.Arch},
		NICModel: s.NICModel, DiskBus: s.DiskBus, CDROMBus: s.CDROMBus,
		Grants: s.Grants,
	}, true)
	if err != nil {
		return nil, err
	}
	virtio := s.DiskBus == "virtio" || s.NICModel == "virtio"
	dom := &libvirtxml.Domain{
		Type:          s.Type,
		Name:          s.Name,
		UUID:          s.UUID,
		Description:   s.Description,
		Metadata:      &libvirtxml.DomainMetadata{XML: meta},
		Memory:        &libvirtxml.DomainMemory{Value: uint(s.MaxMemMiB), Unit: "MiB"},
		CurrentMemory: &libvirtxml.DomainCurrentMemory{Value: uint(s.MemoryMiB), Unit: "MiB"},
		VCPU:          &libvirtxml.DomainVCPU{Placement: "static", Value: uint(s.MaxVCPUs)},
		OS:            &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Arch: s.OS.Arch, Machine: s.Machine, Type: "hvm"}},
		Features:      &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}, APIC: &libvirtxml.DomainFeatureAPIC{}},
		OnPoweroff:    "destroy",
		OnReboot:      "restart",
		OnCrash:       "destroy",
		Devices:       &libvirtxml.DomainDeviceList{},
	}
	if s.VCPUs != s.MaxVCPUs {
		dom.VCPU.Current = uint(s.VCPUs)
	}
	cpu := &libvirtxml.DomainCPU{}
	if s.Type == defaultDomainKVM {
		cpu.Mode = "host-passthrough"
		cpu.Check = "none"
	}
	if t := s.Topology; t != nil {
		cpu.Topology = &libvirtxml.DomainCPUTopology{Sockets: t.Sockets, Dies: 1, Cores: t.Cores, Threads: t.Threads}
	}
	if cpu.Mode != "" || cpu.Topology != nil {
		dom.CPU = cpu
	}
	if s.Firmware == "uefi" {
		dom.OS.Firmware = "efi"
		enabled := "no"
		if s.SecureBoot {
			enabled = "yes"
			dom.Features.SMM = &libvirtxml.DomainFeatureSMM{State: "on"}
		}
		dom.OS.FirmwareInfo = &libvirtxml.DomainOSFirmwareInfo{Features: []libvirtxml.DomainOSFirmwareFeature{
			{Enabled: enabled, Name: "secure-boot"}, {Enabled: enabled, Name: "enrolled-keys"},
		}}
	}
	if s.SerialBIOS {
		dom.OS.BIOS = &libvirtxml.DomainBIOS{UseSerial: "yes"}
	}
	for _, b := range s.BootOrder {
		dom.OS.BootDevices = append(dom.OS.BootDevices, libvirtxml.DomainBootDevice{Dev: b})
	}
	if s.OS.Family == "winnt" {
		dom.Clock = &libvirtxml.DomainClock{Offset: "localtime", Timer: []libvirtxml.DomainTimer{
			{Name: "rtc", TickPolicy: "catchup"}, {Name: "pit", TickPolicy: "delay"}, {Name: "hpet", Present: "no"}, {Name: "hypervclock", Present: "yes"},
		}}
		dom.Features.HyperV = &libvirtxml.DomainFeatureHyperV{
			Relaxed:   &libvirtxml.DomainFeatureState{State: "on"},
			VAPIC:     &libvirtxml.DomainFeatureState{State: "on"},
			Spinlocks: &libvirtxml.DomainFeatureHyperVSpinlocks{DomainFeatureState: libvirtxml.DomainFeatureState{State: "on"}, Retries: 8191},
		}
	} else {
		dom.Clock = &libvirtxml.DomainClock{Offset: "utc"}
	}

	dev := dom.Devices
	letters := map[string]int{}
	for _, d := range s.Disks {
		dd := libvirtxml.DomainDisk{
			Device: d.Device,
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: d.Format},
			Target: &libvirtxml.DomainDiskTarget{Dev: diskTarget(d.Bus, letters), Bus: d.Bus},
		}
		if d.Volume != "" {
			dd.Source = &libvirtxml.DomainDiskSource{Volume: &libvirtxml.DomainDiskSourceVolume{Pool: d.Pool, Volume: d.Volume}}
		}
		if d.Device == "cdrom" {
			dd.ReadOnly = &libvirtxml.DomainDiskReadOnly{}
		} else if d.Format == "qcow2" {
			dd.Driver.Discard = "unmap"
		}
		dev.Disks = append(dev.Disks, dd)
	}
	for _, n := range s.NICs {
		dev.Interfaces = append(dev.Interfaces, libvirtxml.DomainInterface{
			MAC:    &libvirtxml.DomainInterfaceMAC{Address: n.MAC},
			Source: &libvirtxml.DomainInterfaceSource{Network: &libvirtxml.DomainInterfaceSourceNetwork{Network: n.Network}},
			Model:  &libvirtxml.DomainInterfaceModel{Type: n.Model},
		})
	}
	port := uint(0)
	dev.Serials = []libvirtxml.DomainSerial{{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainSerialTarget{Port: &port},
	}}
	dev.Consoles = []libvirtxml.DomainConsole{{
		Source: &libvirtxml.DomainChardevSource{Pty: &libvirtxml.DomainChardevSourcePty{}},
		Target: &libvirtxml.DomainConsoleTarget{Type: "serial", Port: &port},
	}}
	listen := []libvirtxml.DomainGraphicListener{{Address: &libvirtxml.DomainGraphicListenerAddress{Address: s.Listen}}}
	switch s.Graphics {
	case "vnc":
		dev.Graphics = []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{Port: -1, AutoPort: "yes", Listeners: listen}}}
	case "spice":
		dev.Graphics = []libvirtxml.DomainGraphic{{Spice: &libvirtxml.DomainGraphicSpice{Port: -1, AutoPort: "yes", Listeners: listen}}}
	}
	if s.Graphics != "none" {
		model := "vga"
		switch {
		case s.Graphics == "spice":
			model = "qxl"
		case virtio:
			model = "virtio"
		}
		dev.Videos = []libvirtxml.DomainVideo{{Model: libvirtxml.DomainVideoModel{Type: model}}}
		// An absolute pointer, so the mouse follows the browser's.
		dev.Inputs = []libvirtxml.DomainInput{{Type: "tablet", Bus: "usb"}}
	}
	if virtio {
		dev.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "virtio"}
		dev.RNGs = []libvirtxml.DomainRNG{{Model: "virtio", Backend: &libvirtxml.DomainRNGBackend{Random: &libvirtxml.DomainRNGBackendRandom{Device: "/dev/urandom"}}}}
	} else {
		dev.MemBalloon = &libvirtxml.DomainMemBalloon{Model: "none"}
	}
	return dom, nil
}

// diskTarget names the next device of a bus: vda… for virtio, sda… for
// SATA and SCSI (one namespace), hda… for IDE.
func diskTarget(bus string, used map[string]int) string {
	prefix := map[string]string{"virtio": "vd", "sata": "sd", "scsi": "sd", "ide": "hd"}[bus]
	n := used[prefix]
	used[prefix]++
	name := ""
	for n++; n > 0; n = (n - 1) / 26 {
		name = string(rune('a'+(n-1)%26)) + name
	}
	return prefix + name
}
