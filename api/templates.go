package api

import "time"

// Template source kinds: what the new guest's first disk starts from.
const (
	SourceNone       = "none"        // empty disks only (network boot, or attach media later)
	SourceISO        = "iso"         // an installer ISO volume, attached as a CD-ROM
	SourceCloudImage = "cloud_image" // a cloud base image volume, with cloud-init
	SourceDisk       = "disk"        // an existing disk image volume to copy or link
)

// TemplateOS is the operating system a template installs, from osinfo.
type TemplateOS struct {
	ID      string `json:"id,omitempty"`       // osinfo id, e.g. http://debian.org/debian/12
	ShortID string `json:"short_id,omitempty"` // e.g. debian12
	Name    string `json:"name,omitempty"`     // e.g. Debian 12
	Family  string `json:"family,omitempty"`   // linux, winnt, …
	Distro  string `json:"distro,omitempty"`
	Version string `json:"version,omitempty"`
	Arch    string `json:"arch,omitempty"` // x86_64 by default
}

// Topology is sockets × cores × threads; their product is the maximum vCPUs.
type Topology struct {
	Sockets int `json:"sockets"`
	Cores   int `json:"cores"`
	Threads int `json:"threads"`
}

// TemplateSource is what the first disk starts from.
type TemplateSource struct {
	Kind   string `json:"kind"` // none, iso, cloud_image, disk
	Pool   string `json:"pool,omitempty"`
	Volume string `json:"volume,omitempty"`
	// Linked: a qcow2 overlay on the image (cloud_image, disk) instead of a
	// full copy.
	Linked bool `json:"linked,omitempty"`
}

// TemplateDisk is one disk a new guest gets. With a cloud_image or disk
// source, the first disk is the copy or overlay of the image, grown to Size
// when Size is larger.
type TemplateDisk struct {
	Pool   string `json:"pool"`
	Size   uint64 `json:"size"`             // bytes
	Format string `json:"format,omitempty"` // qcow2 (default) or raw
	Bus    string `json:"bus,omitempty"`    // "" : the OS default (virtio, sata, ide, scsi)
}

// TemplateNIC is one network interface a new guest gets.
type TemplateNIC struct {
	Network string `json:"network"`         // a libvirt network of the host
	Model   string `json:"model,omitempty"` // "" : the OS default (virtio, e1000e, e1000, rtl8139)
}

// CloudInit configures a guest made from a cloud image (NoCloud seed).
type CloudInit struct {
	User            string   `json:"user,omitempty"`
	SSHKeys         []string `json:"ssh_keys,omitempty"`
	PasswordHash    string   `json:"password_hash,omitempty"` // crypt(3) hash, never a password
	HostnamePattern string   `json:"hostname_pattern,omitempty"`
	UserData        string   `json:"user_data,omitempty"` // extra #cloud-config merged after ours
}

// TemplateProblem says why a template cannot be used now.
type TemplateProblem struct {
	Field   string `json:"field"`   // e.g. "disks[0].pool", "source.volume", "nics[1].network"
	Code    string `json:"code"`    // e.g. pool_not_found, volume_not_found, network_not_found
	Message string `json:"message"` // a sentence naming the missing thing
}

// Template is a recipe for new guests (GET /api/v1/templates/{id}).
type Template struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	Host        string     `json:"host"` // the host whose pools and networks it names
	OS          TemplateOS `json:"os"`
	VCPUs       int        `json:"vcpus"`
	MaxVCPUs    int        `json:"max_vcpus"`
	Topology    *Topology  `json:"topology,omitempty"` // nil: max_vcpus sockets of 1 core, 1 thread
	MemoryMiB   uint64     `json:"memory_mib"`
	// MaxMemoryMiB is at least MemoryMiB, so memory can be raised live.
	MaxMemoryMiB uint64         `json:"max_memory_mib"`
	Firmware     string         `json:"firmware"` // bios or uefi
	SecureBoot   bool           `json:"secure_boot,omitempty"`
	Machine      string         `json:"machine,omitempty"` // "" : the host default (q35 where it has one)
	Source       TemplateSource `json:"source"`
	Disks        []TemplateDisk `json:"disks"`
	NICs         []TemplateNIC  `json:"nics"`
	Graphics     string         `json:"graphics"`                  // vnc, spice or none
	Listen       string         `json:"graphics_listen,omitempty"` // "" : 127.0.0.1; other addresses admins only
	BootOrder    []string       `json:"boot_order,omitempty"`      // hd, cdrom, network
	CloudInit    *CloudInit     `json:"cloud_init,omitempty"`
	Created      time.Time      `json:"created"`
	Updated      time.Time      `json:"updated"`
	// Problems is empty for a usable template; otherwise each missing pool,
	// network, ISO or image, and the template cannot be used until fixed.
	Problems       []TemplateProblem `json:"problems"`
	AllowedActions []string          `json:"allowed_actions"`
}

// TemplateList is GET /api/v1/templates.
type TemplateList struct {
	Items          []Template `json:"items"`
	AllowedActions []string   `json:"allowed_actions"`
}

// OSDefaults are the devices and sizes osinfo recommends for an OS (a
// generic profile when the OS is unknown); templates start from them, and
// new guests record them in their metadata so later disks and NICs match.
type OSDefaults struct {
	OS         TemplateOS `json:"os"`
	Known      bool       `json:"known"` // false: the generic profile
	DiskBus    string     `json:"disk_bus"`
	NICModel   string     `json:"nic_model"`
	Firmware   string     `json:"firmware"`
	SecureBoot bool       `json:"secure_boot,omitempty"`
	Machine    string     `json:"machine,omitempty"`
	Video      string     `json:"video,omitempty"`
	MemoryMiB  uint64     `json:"memory_mib"` // recommended
	DiskSize   uint64     `json:"disk_size"`  // recommended, bytes
	VCPUs      int        `json:"vcpus"`
	// Host is what the host offers (firmware, threads per core, sizes).
	Host *HostLimits `json:"host,omitempty"`
}

// VMCreate is POST /api/v1/vms: a new guest from a template (a task).
type VMCreate struct {
	Template int64  `json:"template"`
	Name     string `json:"name,omitempty"` // "" : <template>-N
	Host     string `json:"host,omitempty"` // "" : the template's host
	Start    bool   `json:"start,omitempty"`
	// Overrides change this guest only, never the template.
	Overrides *VMOverrides `json:"overrides,omitempty"`
}

// VMOverrides are the per-guest changes to a template when creating.
type VMOverrides struct {
	VCPUs     int        `json:"vcpus,omitempty"`
	MemoryMiB uint64     `json:"memory_mib,omitempty"`
	CloudInit *CloudInit `json:"cloud_init,omitempty"`
}
