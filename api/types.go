package api

import "time"

// Guest states as the API reports them.
const (
	StateRunning   = "running"
	StateBlocked   = "blocked"
	StatePaused    = "paused"
	StateShutdown  = "shutting-down"
	StateShutoff   = "shutoff"
	StateCrashed   = "crashed"
	StateSuspended = "pmsuspended"
	StateUnknown   = "unknown"
)

// Per-guest roles of a grant (Grant.Role), each including the previous
// one. They are defined here alone: rbac, virt and handlers refer to these.
const (
	RoleViewer   = "viewer"
	RoleOperator = "operator"
	RoleManager  = "manager"
)

// GuestRoles lists the per-guest roles from least to most powerful.
var GuestRoles = []string{RoleViewer, RoleOperator, RoleManager}

// Guest power actions accepted by POST /api/v1/vms/{name}/{action}.
var VMActions = []string{"start", "shutdown", "poweroff", "reboot", "reset", "suspend", "resume"}

// OSInfo is what the guest's virtportal metadata says about its OS.
type OSInfo struct {
	Distro  string `json:"distro,omitempty"`
	Version string `json:"version,omitempty"`
	Arch    string `json:"arch,omitempty"`
}

// VM is one guest as listed.
type VM struct {
	Name       string  `json:"name"`
	UUID       string  `json:"uuid"`
	State      string  `json:"state"`
	Persistent bool    `json:"persistent"`
	Autostart  bool    `json:"autostart"`
	VCPUs      int     `json:"vcpus"`
	MemoryMiB  uint64  `json:"memory_mib"`
	CPUPercent float64 `json:"cpu_percent"`
	MemPercent float64 `json:"mem_percent"`
	// UsageReported is false when the host reports no CPU or memory figures
	// for the guest (a stopped guest, or libvirt's test driver): show "—", not 0.
	UsageReported bool `json:"usage_reported"`
	// Byte rates per second, averaged since the previous stats sample.
	DiskReadBps  float64 `json:"disk_read_bps"`
	DiskWriteBps float64 `json:"disk_write_bps"`
	NetRxBps     float64 `json:"net_rx_bps"`
	NetTxBps     float64 `json:"net_tx_bps"`
	// Graphics is "vnc", "spice" or "" for none.
	Graphics string  `json:"graphics"`
	OS       *OSInfo `json:"os,omitempty"`
	// MyRole is the caller's effective role on the guest: admin, auditor,
	// manager, operator or viewer; the UI offers only what it allows.
	MyRole string `json:"my_role,omitempty"`
	// AllowedActions names what the caller may do with the guest, as
	// "object.action" ("vm.power", "access.write"), from the server's
	// policy: the UI shows its buttons from this list.
	AllowedActions []string `json:"allowed_actions"`
	// Host is the short name of the host the guest lives on.
	Host string `json:"host"`
}

// VMList is the answer of GET /api/v1/vms.
type VMList struct {
	Items []VM `json:"items"`
	Total int  `json:"total"`
	// AllowedActions are what the caller may do beyond the guests listed:
	// "create" (POST /api/v1/vms).
	AllowedActions []string `json:"allowed_actions"`
}

// Disk is one disk or CD-ROM of a guest.
type Disk struct {
	Target   string `json:"target"`
	Device   string `json:"device"` // disk, cdrom, floppy, lun
	Bus      string `json:"bus,omitempty"`
	Source   string `json:"source,omitempty"`
	Pool     string `json:"pool,omitempty"`
	Volume   string `json:"volume,omitempty"`
	Format   string `json:"format,omitempty"`
	ReadOnly bool   `json:"readonly,omitempty"`
}

// NIC is one network interface of a guest.
type NIC struct {
	MAC     string `json:"mac,omitempty"`
	Type    string `json:"type"` // network, bridge, direct, user
	Source  string `json:"source,omitempty"`
	Model   string `json:"model,omitempty"`
	Link    string `json:"link,omitempty"` // up, down
	Address string `json:"address,omitempty"`
}

// Devices summarises a guest's devices.
type Devices struct {
	Disks    []Disk   `json:"disks"`
	NICs     []NIC    `json:"nics"`
	Graphics []string `json:"graphics"`
	Consoles []string `json:"consoles"`
}

// VMDetail is GET /api/v1/vms/{name}: the listed fields plus devices.
type VMDetail struct {
	VM
	Description string  `json:"description,omitempty"`
	OSType      string  `json:"os_type,omitempty"`
	Machine     string  `json:"machine,omitempty"`
	MaxMemMiB   uint64  `json:"max_memory_mib"`
	Devices     Devices `json:"devices"`
}

// LoginRequest is POST /api/v1/session.
type LoginRequest struct {
	Realm    string `json:"realm"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// Session describes the logged-in caller.
type Session struct {
	Identity  string    `json:"identity"` // realm:name
	Realm     string    `json:"realm"`
	Username  string    `json:"username"`
	Roles     []string  `json:"roles"`
	Groups    []string  `json:"groups"`
	CSRFToken string    `json:"csrf_token"`
	Expires   time.Time `json:"expires"`
}

// Realm is one login realm offered on the login page.
type Realm struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// Realms is GET /api/v1/realms.
type Realms struct {
	Items   []Realm `json:"items"`
	Default string  `json:"default"`
}

// Health is /healthz and /readyz.
type Health struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks,omitempty"`
}

// AuditEvent is one audit record.
type AuditEvent struct {
	ID     int64     `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`  // realm:name, or "" when unknown (failed login)
	Action string    `json:"action"` // e.g. "session.login", "vm.start"
	Target string    `json:"target"` // e.g. "vm:web01"
	Result string    `json:"result"` // "ok" or "error:<code>" or "denied"
	Reason string    `json:"reason,omitempty"`
	Client string    `json:"client"`
	ReqID  string    `json:"request_id,omitempty"`
}

// AuditList is GET /api/v1/audit.
type AuditList struct {
	Items []AuditEvent `json:"items"`
	Next  string       `json:"next,omitempty"`
}

// Host is GET /api/v1/hosts/{host} (and /api/v1/host): a short summary.
type Host struct {
	Name       string `json:"name"` // the portal's short name, e.g. "local"
	Hostname   string `json:"hostname"`
	URI        string `json:"uri"`
	Driver     string `json:"driver"`
	Version    string `json:"libvirt_version"`
	CPUs       int    `json:"cpus"`
	MemoryMiB  uint64 `json:"memory_mib"`
	Demo       bool   `json:"demo"`
	VMsTotal   int    `json:"vms_total"`
	VMsRunning int    `json:"vms_running"`
	HostFacts         // issue 12: CPU, OS, versions, capabilities
}

// HostState says whether the portal reaches a host.
const (
	HostConnected   = "connected"
	HostUnreachable = "unreachable"
)

// HostSummary is one entry of GET /api/v1/hosts.
type HostSummary struct {
	Name       string `json:"name"`
	State      string `json:"state"` // connected, unreachable
	Driver     string `json:"driver,omitempty"`
	Libvirt    string `json:"libvirt_version,omitempty"`
	Hypervisor string `json:"hypervisor_version,omitempty"` // QEMU's version on KVM hosts
	URI        string `json:"uri,omitempty"`                // for those who may configure hosts (admins)
}

// HostList is GET /api/v1/hosts.
type HostList struct {
	Items []HostSummary `json:"items"`
}

// Grant gives a user or a group of a realm a role on one guest.
type Grant struct {
	Kind  string `json:"kind"` // "user" or "group"
	Realm string `json:"realm"`
	Name  string `json:"name"`
	Role  string `json:"role"` // viewer, operator, manager
}

// DirEntry is one user or group found in a realm's directory.
type DirEntry struct {
	Kind    string `json:"kind"` // "user" or "group"
	Realm   string `json:"realm"`
	Name    string `json:"name"`              // what grants and logins use: uid, sAMAccountName, group cn
	Display string `json:"display,omitempty"` // full name or description
	DN      string `json:"dn,omitempty"`      // LDAP only
}

// DirList is GET /api/v1/directory/users and /groups.
type DirList struct {
	Items     []DirEntry `json:"items"`
	Truncated bool       `json:"truncated"` // more matched than the cap
	// Unavailable names the realms whose directory could not answer a
	// search over every realm; the items are the others' answers.
	Unavailable []string `json:"unavailable,omitempty"`
}

// Access is GET/PUT /api/v1/vms/{name}/access: the guest's grants.
type Access struct {
	Items []Grant `json:"items"`
}

// AccessPatch is PATCH /api/v1/vms/{name}/access. Remove matches entries by
// kind, realm and name; Add replaces the role of an entry already present.
type AccessPatch struct {
	Add    []Grant `json:"add"`
	Remove []Grant `json:"remove"`
}

// ConsoleRequest is the body of POST /api/v1/vms/{name}/console.
type ConsoleRequest struct {
	Kind string `json:"kind"` // vnc, spice or serial
}

// ConsoleTicket answers POST /api/v1/vms/{name}/console. For vnc and serial
// it carries a one-time token and the WebSocket URL to present it to; for
// spice it carries a remote-viewer file instead (VV), whose password
// expires at Expires.
type ConsoleTicket struct {
	Kind    string    `json:"kind"`
	Token   string    `json:"token,omitempty"`
	WSURL   string    `json:"ws_url,omitempty"`
	Expires time.Time `json:"expires"`
	VV      string    `json:"vv,omitempty"`
}
