package api

import "time"

// Upload is a resumable upload (tus 1.0.0) into a new volume: the answer
// of POST …/hosts/{host}/pools/{pool}/uploads and an entry of the list.
type Upload struct {
	ID     string `json:"id"`
	Host   string `json:"host"`
	Pool   string `json:"pool"`
	Name   string `json:"name"`   // the volume's name
	Format string `json:"format"` // raw, qcow2 or iso
	Size   int64  `json:"size"`   // bytes
	Offset int64  `json:"offset"` // bytes written; a resume starts here
	Owner  string `json:"owner"`  // realm:name of the creator
	// Location is the tus upload URL (HEAD, PATCH, DELETE).
	Location string    `json:"location"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	Expires  time.Time `json:"expires"` // deleted with its volume if untouched until then
	// ContentsStored is false in demo mode: the test driver keeps no
	// volume contents, so bytes are counted and dropped.
	ContentsStored bool `json:"contents_stored"`
}

// UploadList is GET …/hosts/{host}/uploads: the unfinished uploads.
type UploadList struct {
	Items          []Upload `json:"items"`
	MaxSize        int64    `json:"max_size"` // the largest upload accepted, bytes
	ContentsStored bool     `json:"contents_stored"`
}
