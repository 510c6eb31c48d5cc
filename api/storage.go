package api

// Pool states.
const (
	PoolInactive     = "inactive"
	PoolBuilding     = "building"
	PoolRunning      = "running"
	PoolDegraded     = "degraded"
	PoolInaccessible = "inaccessible"
)

// Pool is one storage pool of a host (GET …/hosts/{host}/pools/{pool}).
type Pool struct {
	Name       string `json:"name"`
	Type       string `json:"type"`  // dir, fs, netfs, logical, iscsi, scsi, disk, …
	State      string `json:"state"` // inactive, building, running, degraded, inaccessible
	Persistent bool   `json:"persistent"`
	Autostart  bool   `json:"autostart"`
	Capacity   uint64 `json:"capacity"` // bytes
	Allocation uint64 `json:"allocation"`
	Available  uint64 `json:"available"`
	// Path is the pool's target path; administrators only.
	Path string `json:"path,omitempty"`
	// Volumes is the number of volumes (0 for an inactive pool).
	Volumes int `json:"volumes"`
}

// PoolList is GET …/hosts/{host}/pools.
type PoolList struct {
	Items []Pool `json:"items"`
	// AllowedActions lists what the caller may do with the host's storage:
	// "pool.read" (pools and their volumes), "pool.manage", "volume.manage".
	AllowedActions []string `json:"allowed_actions"`
}

// PoolRequest defines a pool (POST …/hosts/{host}/pools): it is built
// where libvirt needs it, started and, when asked, marked to start with
// the host. A step that fails undoes the ones before it.
type PoolRequest struct {
	Name string `json:"name"`
	Type string `json:"type"` // dir, fs, netfs, logical, iscsi, scsi or disk
	// Path is the absolute target path; defaults: logical /dev/<vg>,
	// disk /dev, iscsi and scsi /dev/disk/by-path.
	Path      string      `json:"path"`
	Source    *PoolSource `json:"source,omitempty"`
	Autostart bool        `json:"autostart"`
	// Build prepares the source devices when they hold no data yet: mkfs
	// for fs, a partition table for disk, the physical volumes and volume
	// group for logical (with devices). It never overwrites data. dir and
	// netfs pools always build (that makes the target folder).
	Build bool `json:"build,omitempty"`
}

// PoolSource is where a pool's storage comes from:
//   - fs: devices (one block device) and format (auto, ext2, ext3, ext4, xfs, vfat)
//   - netfs: host, dir (the export) and format (nfs, cifs, glusterfs)
//   - logical: name (the volume group; default the pool's name) and, to
//     build it, devices
//   - disk: devices (one disk) and format (gpt or dos)
//   - iscsi: host, port (optional), iqn (the target) and initiator (optional)
//   - scsi: adapter (a SCSI host adapter such as host0)
type PoolSource struct {
	Host      string   `json:"host,omitempty"`
	Port      int      `json:"port,omitempty"`
	Dir       string   `json:"dir,omitempty"`
	Name      string   `json:"name,omitempty"`
	Format    string   `json:"format,omitempty"`
	Devices   []string `json:"devices,omitempty"`
	IQN       string   `json:"iqn,omitempty"`
	Initiator string   `json:"initiator,omitempty"`
	Adapter   string   `json:"adapter,omitempty"`
}

// Autostart sets whether a pool starts with the host.
type Autostart struct {
	Autostart bool `json:"autostart"`
}

// Volume is one storage volume of a pool.
type Volume struct {
	Name       string `json:"name"`
	Pool       string `json:"pool"`
	Path       string `json:"path,omitempty"` // administrators only
	Format     string `json:"format"`         // qcow2, raw, iso, …; "" when unknown
	Capacity   uint64 `json:"capacity"`       // bytes
	Allocation uint64 `json:"allocation"`
	// UsedBy names the guests whose disks are this volume, from the index.
	UsedBy []string `json:"used_by"`
}

// VolumeList is GET …/pools/{pool}/volumes.
type VolumeList struct {
	Items []Volume `json:"items"`
}

// VolumeRequest creates a volume (POST …/pools/{pool}/volumes): a task.
type VolumeRequest struct {
	Name     string `json:"name"`
	Capacity uint64 `json:"capacity"` // bytes
	Format   string `json:"format"`   // qcow2 (default) or raw
	// Thick allocates the whole capacity now; thin (the default) on use.
	Thick bool `json:"thick"`
}

// VolumeResize grows a volume (POST …/volumes/{vol}/resize).
type VolumeResize struct {
	Capacity uint64 `json:"capacity"` // bytes, the new size
}
