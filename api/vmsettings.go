package api

import "time"

// Where a guest edit took effect (VMUpdateResult.Applied, NIC and disk answers).
const (
	AppliesNow      = "now"       // live and in the saved configuration
	AppliesNextBoot = "next_boot" // in the saved configuration only
)

// CPU modes a guest may have (VMSettings.CPUMode); "custom" names a model.
const (
	CPUHostPassthrough = "host-passthrough"
	CPUHostModel       = "host-model"
	CPUCustom          = "custom"
)

// VMSettings is GET /api/v1/vms/{name}/settings: what the guest's
// processor, memory, identity, boot and display are. Values are the saved
// configuration (what the next boot gets), except vcpus and memory, which
// are the running guest's own while it runs; Pending names the fields whose
// saved value the running guest does not have yet.
type VMSettings struct {
	Name        string `json:"name"`
	State       string `json:"state"`
	Persistent  bool   `json:"persistent"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Autostart   bool   `json:"autostart"`

	VCPUs    int       `json:"vcpus"`
	MaxVCPUs int       `json:"max_vcpus"`
	Topology *Topology `json:"topology,omitempty"`
	// CPUMode is host-passthrough, host-model, custom (CPUModel names the
	// model) or "" (the hypervisor's default CPU).
	CPUMode  string `json:"cpu_mode"`
	CPUModel string `json:"cpu_model,omitempty"`

	MemoryMiB    uint64 `json:"memory_mib"`
	MaxMemoryMiB uint64 `json:"max_memory_mib"`
	// MemorySlots and HotplugMaxMiB are the guest's <maxMemory>: where it
	// has slots, memory beyond max_memory_mib is plugged live as DIMMs.
	MemorySlots   int    `json:"memory_slots,omitempty"`
	HotplugMaxMiB uint64 `json:"hotplug_max_memory_mib,omitempty"`

	BootOrder []string `json:"boot_order"` // hd, cdrom, network
	BootMenu  bool     `json:"boot_menu"`

	Graphics VMGraphics `json:"graphics"`
	Serial   bool       `json:"serial"`

	Pending []string         `json:"pending,omitempty"`
	Limits  VMSettingsLimits `json:"limits"`
}

// VMSettingsLimits are the host's bounds the settings are checked against.
type VMSettingsLimits struct {
	MaxVCPUs      int      `json:"max_vcpus"`
	HostMemoryMiB uint64   `json:"host_memory_mib"`
	CPUModes      []string `json:"cpu_modes"`
	CPUModels     []string `json:"cpu_models"` // named models the host can run
	// LiveChanges is false where the driver changes no running guest's
	// devices (libvirt's test driver): changes then wait for the next boot.
	LiveChanges bool `json:"live_changes"`
}

// VMGraphics is a guest's display. A password is never returned: only
// whether one is set and until when it is valid.
type VMGraphics struct {
	Type            string     `json:"type"` // vnc, spice or none
	Listen          string     `json:"listen,omitempty"`
	Keymap          string     `json:"keymap,omitempty"`
	PasswordSet     bool       `json:"password_set"`
	PasswordValidTo *time.Time `json:"password_valid_to,omitempty"`
}

// VMUpdate is PUT /api/v1/vms/{name}: only the fields given change, and
// nothing changes when any of them is invalid. Name renames a shut-off
// guest.
type VMUpdate struct {
	Name         *string   `json:"name,omitempty"`
	Title        *string   `json:"title,omitempty"`
	Description  *string   `json:"description,omitempty"`
	Autostart    *bool     `json:"autostart,omitempty"`
	VCPUs        *int      `json:"vcpus,omitempty"`
	MaxVCPUs     *int      `json:"max_vcpus,omitempty"`
	Topology     *Topology `json:"topology,omitempty"`
	CPUMode      *string   `json:"cpu_mode,omitempty"`
	CPUModel     *string   `json:"cpu_model,omitempty"`
	MemoryMiB    *uint64   `json:"memory_mib,omitempty"`
	MaxMemoryMiB *uint64   `json:"max_memory_mib,omitempty"`
	BootOrder    *[]string `json:"boot_order,omitempty"`
	BootMenu     *bool     `json:"boot_menu,omitempty"`
}

// VMGraphicsUpdate is PUT /api/v1/vms/{name}/graphics: the display and the
// serial console; only the fields given change. Password "" removes it;
// PasswordValidTo nil with a password: valid until changed.
type VMGraphicsUpdate struct {
	Type            *string    `json:"type,omitempty"`
	Listen          *string    `json:"listen,omitempty"`
	Keymap          *string    `json:"keymap,omitempty"`
	Password        *string    `json:"password,omitempty"`
	PasswordValidTo *time.Time `json:"password_valid_to,omitempty"`
	Serial          *bool      `json:"serial,omitempty"`
}

// VMUpdateResult answers both PUTs: the settings now, and for each field
// changed whether it took effect now or waits for the next boot.
type VMUpdateResult struct {
	Settings VMSettings        `json:"settings"`
	Applied  map[string]string `json:"applied"`
}
