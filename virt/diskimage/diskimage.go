// Package diskimage reads the header of a disk image that came from
// outside (an upload, a download from a URL) and says whether it points
// at other files. A qcow2 with a backing file or an external data file, a
// QED with a backing file, or a VMDK (whose descriptor names extents)
// would make libvirt open whatever path the image names once a guest uses
// it: another guest's disk, a host device. Such images are refused.
package diskimage

import (
	"bytes"
	"encoding/binary"
)

// HeaderSize is how much of an image Inspect wants: every header and
// header extension the formats place at the start.
const HeaderSize = 64 << 10

// Report is what a header says.
type Report struct {
	// Format is "qcow2", "qed", "vmdk" or "" (no known header: raw, ISO).
	Format string
	// References names what the image points at outside itself ("backing
	// file", "external data file", "extents"), or "" when nothing.
	References string
}

// Safe reports whether the image may be stored: it points at no other file.
func (r Report) Safe() bool { return r.References == "" }

var (
	qcow2Magic = []byte{'Q', 'F', 'I', 0xfb}
	qedMagic   = []byte{'Q', 'E', 'D', 0}
	vmdkMagic  = []byte{'K', 'D', 'M', 'V'}
	vmdkText   = []byte("# Disk DescriptorFile")
)

// qcow2 header extension types.
const (
	extEnd      = 0x00000000
	extDataFile = 0x44415441
)

// Inspect reads the start of an image (up to HeaderSize bytes; fewer for
// a short image). It never fails: what it cannot read as a known header
// is raw. A truncated known header that might hide a reference is
// reported as one, so that doubt refuses.
func Inspect(b []byte) Report {
	switch {
	case bytes.HasPrefix(b, qcow2Magic):
		return qcow2(b)
	case bytes.HasPrefix(b, qedMagic):
		return qed(b)
	case bytes.HasPrefix(b, vmdkMagic), bytes.HasPrefix(b, vmdkText):
		return Report{Format: "vmdk", References: "extents"}
	}
	return Report{}
}

func qcow2(b []byte) Report {
	r := Report{Format: "qcow2"}
	be := binary.BigEndian
	if len(b) < 72 {
		r.References = "truncated header"
		return r
	}
	version := be.Uint32(b[4:])
	if be.Uint64(b[8:]) != 0 || be.Uint32(b[16:]) != 0 {
		r.References = "backing file"
		return r
	}
	if version < 3 {
		return r // version 2 has no data file and no extensions we fear
	}
	if len(b) < 104 {
		r.References = "truncated header"
		return r
	}
	const dataFileBit = 1 << 2
	if be.Uint64(b[72:])&dataFileBit != 0 {
		r.References = "external data file"
		return r
	}
	// Header extensions follow the header; a data file name without the
	// feature bit is ignored by QEMU, but refusing it costs nothing.
	off := uint64(be.Uint32(b[100:]))
	for off+8 <= uint64(len(b)) {
		typ, n := be.Uint32(b[off:]), uint64(be.Uint32(b[off+4:]))
		if typ == extEnd {
			return r
		}
		if typ == extDataFile {
			r.References = "external data file"
			return r
		}
		off += 8 + (n+7)&^7
	}
	return r
}

func qed(b []byte) Report {
	r := Report{Format: "qed"}
	if len(b) < 24 {
		r.References = "truncated header"
		return r
	}
	const backingBit = 1 << 0
	if binary.LittleEndian.Uint64(b[16:])&backingBit != 0 {
		r.References = "backing file"
	}
	return r
}
