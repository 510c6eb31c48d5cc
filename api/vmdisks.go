package api

// Disk kinds of a guest disk.
const (
	DeviceDisk  = "disk"
	DeviceCDROM = "cdrom"
)

// GuestDisk is one disk or CD-ROM drive of a guest, with the pool volume
// behind it resolved.
type GuestDisk struct {
	Target string `json:"target"` // vda, sdb, hdc
	Device string `json:"device"` // disk or cdrom
	Bus    string `json:"bus"`    // virtio, scsi, sata, ide, usb
	// Pool and Volume name the storage volume behind the disk; "" when
	// the source is in no pool (or the drive is empty).
	Pool   string `json:"pool,omitempty"`
	Volume string `json:"volume,omitempty"`
	// Path is the host path of the source: administrators only.
	Path       string `json:"path,omitempty"`
	Format     string `json:"format,omitempty"` // qcow2, raw, iso
	Capacity   uint64 `json:"capacity"`         // bytes; 0 when unknown
	Allocation uint64 `json:"allocation"`
	ReadOnly   bool   `json:"readonly"`
	// Empty: a CD-ROM drive with no medium.
	Empty bool `json:"empty"`
	// Hotplug: the bus lets the drive be added or removed while the guest runs.
	Hotplug bool `json:"hotplug"`
	// Live: the disk is in the running guest (false: only in the saved
	// configuration, waiting for the next boot).
	Live bool `json:"live"`
}

// GuestDiskList is GET /api/v1/vms/{name}/disks.
type GuestDiskList struct {
	Items []GuestDisk `json:"items"`
	// Running: the guest runs, so changes apply live where the bus allows.
	Running bool `json:"running"`
	// LiveChanges is false where the host's driver cannot change devices
	// of a running guest (the test driver): changes wait for the next boot.
	LiveChanges bool `json:"live_changes"`
	// Defaults are the guest's buses for new disks and CD-ROMs (its metadata).
	DiskBus  string `json:"disk_bus"`
	CDROMBus string `json:"cdrom_bus"`
	// AllowedActions: edit (attach, detach), media (insert, eject).
	AllowedActions []string `json:"allowed_actions"`
	// HostPaths: the caller may attach host paths (administrators, when
	// roots are configured).
	HostPaths bool `json:"host_paths"`
}

// NewDiskVolume asks for a new volume to be made for the disk.
type NewDiskVolume struct {
	Pool     string `json:"pool"`
	Name     string `json:"name,omitempty"` // "": <guest>-<target>.qcow2
	Capacity uint64 `json:"capacity"`       // bytes
	Format   string `json:"format,omitempty"`
}

// DiskAttach is POST /api/v1/vms/{name}/disks: exactly one source of an
// existing pool volume (pool, volume), a new volume, or a host path
// (administrators); a CD-ROM may have none (an empty drive).
type DiskAttach struct {
	Device    string         `json:"device,omitempty"` // disk (default) or cdrom
	Bus       string         `json:"bus,omitempty"`    // "": the guest's default
	Target    string         `json:"target,omitempty"` // "": the first free name of the bus
	Pool      string         `json:"pool,omitempty"`
	Volume    string         `json:"volume,omitempty"`
	NewVolume *NewDiskVolume `json:"new_volume,omitempty"`
	Path      string         `json:"path,omitempty"`
	ReadOnly  bool           `json:"readonly,omitempty"`
}

// DiskChange answers an attach, detach or media change.
type DiskChange struct {
	Disk    GuestDisk `json:"disk"`
	Applies string    `json:"applies"` // now or next_boot
	// VolumeDeleted: the detach deleted the volume too.
	VolumeDeleted bool `json:"volume_deleted,omitempty"`
	// Pending: a detach the running guest has not completed yet (removing
	// a device asks the guest's OS); the saved configuration has none.
	Pending bool `json:"pending,omitempty"`
}

// DiskMedia is PUT /api/v1/vms/{name}/disks/{target}/media: the ISO
// volume to insert.
type DiskMedia struct {
	Pool   string `json:"pool"`
	Volume string `json:"volume"`
}

// DiskVolumeChoices is GET /api/v1/vms/{name}/volume-choices: the pools
// the caller may use for this guest and their volumes (kind=iso: ISOs
// with the OS detected; otherwise disk images), each with its users.
type DiskVolumeChoices struct {
	Pools   []Pool   `json:"pools"`
	Volumes []Volume `json:"volumes"`
	ISOs    []ISO    `json:"isos"`
}
