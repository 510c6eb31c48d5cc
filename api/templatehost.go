package api

// HostLimits are what a template is checked against on its host: the
// largest guest, the threads per core offered for the topology, and
// whether UEFI (OVMF) and secure boot are installed.
type HostLimits struct {
	MaxVCPUs       int    `json:"max_vcpus"`
	MaxMemoryMiB   uint64 `json:"max_memory_mib"`
	ThreadsPerCore int    `json:"threads_per_core"`
	UEFI           bool   `json:"uefi"`
	SecureBoot     bool   `json:"secure_boot"`
}

// OSList is GET /api/v1/os: a short list of operating systems for a form.
type OSList struct {
	Items []TemplateOS `json:"items"`
}

// TemplateCopy is POST /api/v1/templates/{id}/copy.
type TemplateCopy struct {
	Name string `json:"name,omitempty"` // "" : "<name>-copy", then -copy-2, …
}
