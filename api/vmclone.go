package api

// VMClone is the body of POST /api/v1/vms/{name}/clone.
type VMClone struct {
	// Name of the new guest; "": <name>-clone, then <name>-clone2, …
	Name string `json:"name,omitempty"`
	// Pool puts every copied disk in this pool; "": each disk's own pool,
	// or the default pool when its own cannot hold the copy.
	Pool string `json:"pool,omitempty"`
	// Linked makes qcow2 overlays on the source disks instead of copies
	// where the source and the pool allow it.
	Linked bool `json:"linked,omitempty"`
	// DryRun answers the plan (200) and changes nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// What happens to one disk of a clone.
const (
	CloneCopy  = "copy"  // a full copy into DestPool/DestVolume
	CloneLink  = "link"  // a qcow2 overlay backed by the source
	CloneShare = "share" // CD-ROMs and read-only disks: the clone uses the same source
	CloneNone  = "none"  // cannot be cloned (Reason says why)
)

// ClonePlan is the pre-check of a clone: where each disk goes and whether
// it fits, decided before anything is copied.
type ClonePlan struct {
	Source string      `json:"source"` // the guest cloned
	Name   string      `json:"name"`   // the new guest's name
	Disks  []CloneDisk `json:"disks"`
	NICs   int         `json:"nics"`   // interfaces, each given a fresh MAC
	Grants int         `json:"grants"` // access grants copied with the metadata
	Fits   bool        `json:"fits"`   // every disk has a place
	Need   uint64      `json:"need"`   // bytes the copies will allocate
}

// CloneDisk is one disk of a clone plan.
type CloneDisk struct {
	Target       string `json:"target"` // vda, sdb…
	Device       string `json:"device"` // disk, cdrom, floppy
	Action       string `json:"action"` // CloneCopy, CloneLink, CloneShare, CloneNone
	SourcePool   string `json:"source_pool,omitempty"`
	SourceVolume string `json:"source_volume,omitempty"`
	SourcePath   string `json:"source_path,omitempty"` // administrators only
	Format       string `json:"format,omitempty"`
	Size         uint64 `json:"size"`       // capacity, bytes
	Allocation   uint64 `json:"allocation"` // bytes the source takes now
	Need         uint64 `json:"need"`       // bytes the copy will take
	DestPool     string `json:"dest_pool,omitempty"`
	DestVolume   string `json:"dest_volume,omitempty"`
	Fallback     bool   `json:"fallback,omitempty"` // not the disk's own pool
	Fits         bool   `json:"fits"`
	Reason       string `json:"reason,omitempty"` // why another pool, or why it does not fit
}
