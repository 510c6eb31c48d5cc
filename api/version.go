package api

// APIVersion is the version of this JSON API (the /api/v1 prefix).
const APIVersion = "1"

// Version is GET /api/v1/version: the portal's build for everyone; the
// versions of libvirt and the hypervisor only for a signed-in caller.
type Version struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	API     string `json:"api_version"`
	Libvirt string `json:"libvirt_version,omitempty"`
	QEMU    string `json:"qemu_version,omitempty"` // the hypervisor's version (QEMU on KVM hosts)
}
