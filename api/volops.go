package api

// VolumeClone copies a volume (POST …/volumes/{vol}/clone): a task.
type VolumeClone struct {
	Name   string `json:"name"`             // the copy's name
	Pool   string `json:"pool,omitempty"`   // the target pool; "" : the source's
	Format string `json:"format,omitempty"` // qcow2 or raw; "" : the source's
}

// VolumeFromURL downloads a file into a new volume (POST
// …/pools/{pool}/volumes/from-url): a task. Administrators only.
type VolumeFromURL struct {
	URL    string `json:"url"`              // http or https
	Name   string `json:"name"`             // the new volume's name
	Format string `json:"format,omitempty"` // raw (default) or qcow2: what the file holds
}
