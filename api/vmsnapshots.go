package api

import "time"

// Snapshot is one snapshot of a guest, a node of the snapshot tree.
type Snapshot struct {
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Parent      string    `json:"parent,omitempty"` // "" at a root
	Children    []string  `json:"children"`
	Created     time.Time `json:"created"`
	State       string    `json:"state"`  // the guest's state when taken: running, shutoff, paused…
	Memory      bool      `json:"memory"` // holds the running guest's memory: revert resumes it
	Current     bool      `json:"current"`
	Kind        string    `json:"kind"` // internal or external
}

// SnapshotCaps says which snapshots this guest can take now, and why not.
type SnapshotCaps struct {
	Create bool `json:"create"` // a snapshot can be taken
	// Memory: the snapshot includes the running guest's memory;
	// MemoryRequired: it always does (a running guest's internal snapshot).
	Memory         bool `json:"memory"`
	MemoryRequired bool `json:"memory_required"`
	// Reason is the stable code when Create is false (snapshot_uefi_unsupported,
	// snapshot_disk_format_unsupported, snapshot_no_disk), with Message in words.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Note says once what this host cannot do (the test driver keeps no memory).
	Note string `json:"note,omitempty"`
}

// SnapshotList is GET /api/v1/vms/{name}/snapshots.
type SnapshotList struct {
	Items        []Snapshot   `json:"items"` // parents before children
	Current      string       `json:"current,omitempty"`
	Capabilities SnapshotCaps `json:"capabilities"`
}

// SnapshotRequest creates a snapshot.
type SnapshotRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Memory asks for the running guest's memory; nil: what the guest
	// allows (with memory when it runs).
	Memory *bool `json:"memory,omitempty"`
}
