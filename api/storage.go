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

// PoolRequest defines a pool (POST …/hosts/{host}/pools): it is built,
// started and, when asked, marked to start with the host.
type PoolRequest struct {
	Name string `json:"name"`
	Type string `json:"type"` // dir, netfs or logical in this version
	// Path is the absolute target path (a logical pool's defaults to /dev/<vg>).
	Path      string      `json:"path"`
	Source    *PoolSource `json:"source,omitempty"`
	Autostart bool        `json:"autostart"`
}

// PoolSource is where a pool's storage comes from: a netfs pool's host,
// folder and format (nfs, cifs, glusterfs); a logical pool's existing
// volume group (name; default the pool's name).
type PoolSource struct {
	Host   string `json:"host,omitempty"`
	Dir    string `json:"dir,omitempty"`
	Name   string `json:"name,omitempty"`
	Format string `json:"format,omitempty"`
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
