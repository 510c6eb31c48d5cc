package api

// VMImport is the body of POST /api/v1/vms/import: a new guest around a
// volume that exists (an uploaded disk image, used in place, or an ISO).
type VMImport struct {
	Pool   string `json:"pool"`
	Volume string `json:"volume"`
	Name   string `json:"name,omitempty"` // "" : the volume's name without its extension
	// OS is an osinfo id or short id; "": detected when the volume is an
	// ISO, else the generic profile (an unknown id: the generic profile).
	OS        string `json:"os,omitempty"`
	VCPUs     int    `json:"vcpus,omitempty"`      // 0 : the OS default
	MemoryMiB uint64 `json:"memory_mib,omitempty"` // 0 : the OS default
	Network   string `json:"network,omitempty"`    // "" : no NIC
	Firmware  string `json:"firmware,omitempty"`   // "" : the OS default (bios or uefi)
	Start     bool   `json:"start,omitempty"`
}
