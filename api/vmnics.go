package api

// NICList is GET /api/v1/vms/{name}/nics: the guest's interfaces and what
// the add and edit dialogs may offer.
type NICList struct {
	Items        []NIC    `json:"items"`
	DefaultModel string   `json:"default_model"` // from the guest's metadata <defaults>, else virtio
	Models       []string `json:"models"`        // the models this guest's platform takes
	Running      bool     `json:"running"`
	// Live says whether this host changes a running guest's NICs live
	// (false on the test driver: changes wait for the next boot).
	Live bool `json:"live"`
	// Networks are the libvirt networks the caller may connect a NIC to
	// (administrators: all; others: those their guests already use).
	Networks []string `json:"networks"`
	// Types are the NIC types the caller may add: network, and for
	// administrators bridge and direct (a host bridge, macvtap).
	Types []string `json:"types"`
}

// NICRequest adds a NIC (POST) or edits one (PUT; empty fields keep what is there).
type NICRequest struct {
	Type   string `json:"type,omitempty"`   // network (default), bridge or direct: the last two for administrators
	Source string `json:"source,omitempty"` // the libvirt network, host bridge or host interface
	Model  string `json:"model,omitempty"`  // empty: the guest's default
	MAC    string `json:"mac,omitempty"`    // POST only; empty: generated (52:54:00:…)
	Link   string `json:"link,omitempty"`   // up or down
}

// NICChange is the answer of a NIC add, edit or removal.
type NICChange struct {
	NIC     NIC    `json:"nic"`
	Applies string `json:"applies"` // now or next_boot
}
