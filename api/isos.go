package api

// OS detection statuses of an ISO.
const (
	OSDetected    = "detected"    // the descriptor names a known OS
	OSUnknown     = "unknown"     // read, and no OS recognised (Reason says why)
	OSUnavailable = "unavailable" // this host's driver cannot read volumes
)

// Reasons an ISO's OS is unknown or unavailable.
const (
	OSReasonNotISO       = "not_iso"            // no ISO 9660 descriptor: not an ISO, truncated or corrupt
	OSReasonUnrecognised = "unrecognised"       // a descriptor no OS entry matches
	OSReasonNoDatabase   = "osinfo_unavailable" // the osinfo database is not installed
	OSReasonUnreadable   = "unreadable"         // reading the volume failed (the log has the cause)
	OSReasonNotSupported = "volume_read_not_supported"
)

// OSRef is an operating system as the osinfo database names it.
type OSRef struct {
	ID      string `json:"id"`       // e.g. http://debian.org/debian/11
	ShortID string `json:"short_id"` // e.g. debian11
	Name    string `json:"name"`     // e.g. Debian 11
	Vendor  string `json:"vendor"`
	Family  string `json:"family"` // linux, winnt, …
	Distro  string `json:"distro"` // debian, ubuntu, win, …
	Version string `json:"version"`
	// Source is "osinfo" (the system's database) or "portal" (the
	// portal's own table of releases newer than it).
	Source string `json:"source"`
}

// ISODescriptor is what an ISO's primary volume descriptor says.
type ISODescriptor struct {
	VolumeID      string `json:"volume_id"`
	SystemID      string `json:"system_id"`
	PublisherID   string `json:"publisher_id"`
	ApplicationID string `json:"application_id"`
	VolumeSize    int64  `json:"volume_size"` // bytes, by the descriptor's count; 0: unsaid
}

// VolumeOS is GET …/pools/{pool}/volumes/{vol}/os: the operating system
// a volume's ISO 9660 descriptor names.
type VolumeOS struct {
	Pool   string `json:"pool"`
	Volume string `json:"volume"`
	Status string `json:"status"` // detected or unknown
	// OS is the operating system when detected, else absent.
	OS *OSRef `json:"os,omitempty"`
	// Descriptor is absent when the volume holds none.
	Descriptor *ISODescriptor `json:"descriptor,omitempty"`
	// Reason says why the OS is unknown (not_iso, unrecognised,
	// osinfo_unavailable, unreadable); "" when detected.
	Reason string `json:"reason,omitempty"`
}

// ISO is one .iso volume of the ISO library.
type ISO struct {
	Name       string `json:"name"`
	Pool       string `json:"pool"`
	Path       string `json:"path,omitempty"` // administrators only
	Capacity   uint64 `json:"capacity"`       // bytes
	Allocation uint64 `json:"allocation"`
	Status     string `json:"status"`       // detected, unknown or unavailable
	OS         *OSRef `json:"os,omitempty"` // absent unless detected
	// VolumeID is the descriptor's volume id; "" when none was read.
	VolumeID string `json:"volume_id"`
	Reason   string `json:"reason,omitempty"`
}

// ISOList is GET …/hosts/{host}/isos: every .iso volume of every running
// pool with the operating system it holds.
type ISOList struct {
	Items []ISO `json:"items"`
	// Unavailable is the reason no ISO could be read on this host at all
	// (volume_read_not_supported: the driver has no volume contents);
	// "" when detection runs.
	Unavailable string `json:"unavailable,omitempty"`
}
