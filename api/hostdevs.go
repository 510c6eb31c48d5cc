package api

// HostDevice is one PCI or USB device of a host.
type HostDevice struct {
	Name      string `json:"name"` // the node device's name, e.g. pci_0000_00_03_0
	Kind      string `json:"kind"` // pci or usb
	Address   string `json:"address"`
	Vendor    string `json:"vendor,omitempty"`
	VendorID  string `json:"vendor_id,omitempty"`
	Product   string `json:"product,omitempty"`
	ProductID string `json:"product_id,omitempty"`
	Class     string `json:"class,omitempty"` // PCI class, e.g. 0x020000
	Driver    string `json:"driver,omitempty"`
	// IOMMUGroup is the PCI device's group; nil when the IOMMU is off.
	IOMMUGroup *int `json:"iommu_group,omitempty"`
	// UsedBy names the guests whose definitions pass it through.
	UsedBy []string `json:"used_by"`
}

// HostDeviceList is GET /api/v1/hosts/{host}/devices.
type HostDeviceList struct {
	Items []HostDevice `json:"items"`
	// IOMMU says whether PCI passthrough (VFIO) is possible: some PCI
	// device has an IOMMU group.
	IOMMU bool `json:"iommu"`
}

// GuestHostDev is one host device passed through to a guest.
type GuestHostDev struct {
	ID    string `json:"id"`   // pci_DDDD_BB_SS_F, usb_VVVV_PPPP or usbaddr_B_D
	Kind  string `json:"kind"` // pci or usb
	Label string `json:"label"`
}

// GuestHostDevList is GET /api/v1/vms/{name}/hostdevs.
type GuestHostDevList struct {
	Items   []GuestHostDev `json:"items"`
	Running bool           `json:"running"`
	Live    bool           `json:"live"` // false on the test driver: changes wait for the next boot
}

// HostDevAttach passes a host device through to a guest.
type HostDevAttach struct {
	Device string `json:"device"` // a node device name from the host's list
	// USBBy picks how a USB device is named in the guest: "id" (vendor and
	// product, the default: survives replugging) or "address" (bus and device).
	USBBy string `json:"usb_by,omitempty"`
}

// HostDevChange answers an attach or a detach.
type HostDevChange struct {
	Device  GuestHostDev `json:"device"`
	Applies string       `json:"applies"` // now or next_boot
}
