package api

// HostFacts are what GET /api/v1/hosts/{host} says about the machine (issue
// 12). OS and kernel come from the host's own files when libvirt runs on
// the portal's machine; for a remote host only what libvirt reports.
type HostFacts struct {
	CPUModel      string        `json:"cpu_model"`            // e.g. "Intel(R) Xeon(R) …", else libvirt's CPU model
	CPUVendor     string        `json:"cpu_vendor,omitempty"` // e.g. "Intel"
	CPUMHz        int           `json:"cpu_mhz"`
	Sockets       int           `json:"sockets"`
	CoresPerSock  int           `json:"cores_per_socket"`
	ThreadsPerCPU int           `json:"threads_per_core"`
	NUMANodes     int           `json:"numa_nodes"`
	MemoryBytes   uint64        `json:"memory_bytes"`
	OS            string        `json:"os,omitempty"` // PRETTY_NAME of /etc/os-release
	Kernel        string        `json:"kernel,omitempty"`
	QEMUVersion   string        `json:"qemu_version,omitempty"` // the hypervisor's version
	KVM           bool          `json:"kvm"`                    // hardware virtualisation is offered
	IOMMU         bool          `json:"iommu"`
	Graphics      []string      `json:"graphics"` // kinds guests may use: vnc, spice, …
	MaxVCPUs      int           `json:"max_vcpus"`
	Architectures []string      `json:"architectures"`
	Machines      []HostMachine `json:"machine_types"`
}

// HostMachine lists one guest architecture's machine types.
type HostMachine struct {
	Arch     string   `json:"arch"`
	Machines []string `json:"machines"` // canonical names, aliases after them
}
