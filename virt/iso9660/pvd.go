// Package iso9660 reads an ISO 9660 image's primary volume descriptor:
// the identifiers installers are recognised by.
package iso9660

import (
	"bytes"
	"errors"
	"strings"
)

// Offset is where the primary volume descriptor starts (sector 16 of
// 2 KiB), and SectorSize its length.
const (
	Offset     = 32768
	SectorSize = 2048
)

// PVD is what the primary volume descriptor says of the image.
type PVD struct {
	SystemID      string
	VolumeID      string
	PublisherID   string
	ApplicationID string
	// VolumeSize is the image's size in bytes by its own count; 0 when
	// the descriptor's fields disagree.
	VolumeSize int64
}

// Errors of Parse: the bytes are not a primary volume descriptor.
var (
	ErrShort  = errors.New("iso9660: descriptor truncated")
	ErrNotISO = errors.New("iso9660: no primary volume descriptor")
)

// Parse reads the descriptor from the sector at Offset (at least the
// first 830 bytes of it). It never panics, whatever b holds.
func Parse(b []byte) (PVD, error) {
	const need = 574 + 128 // through the application id
	if len(b) < 6 || !bytes.Equal(b[1:6], []byte("CD001")) {
		if len(b) < 6 {
			return PVD{}, ErrShort
		}
		return PVD{}, ErrNotISO
	}
	if b[0] != 1 { // type 1: primary
		return PVD{}, ErrNotISO
	}
	if len(b) < need {
		return PVD{}, ErrShort
	}
	p := PVD{
		SystemID:      field(b[8 : 8+32]),
		VolumeID:      field(b[40 : 40+32]),
		PublisherID:   field(b[318 : 318+128]),
		ApplicationID: field(b[574 : 574+128]),
	}
	// Both-endian fields: little-endian first, then big-endian; a
	// descriptor whose halves disagree is not to be believed.
	blocks := le32(b[80:84])
	blockSize := uint32(b[128]) | uint32(b[129])<<8
	if blocks == be32(b[84:88]) && blockSize == uint32(b[131])|uint32(b[130])<<8 {
		p.VolumeSize = int64(blocks) * int64(blockSize)
	}
	return p, nil
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func be32(b []byte) uint32 {
	return uint32(b[3]) | uint32(b[2])<<8 | uint32(b[1])<<16 | uint32(b[0])<<24
}

// field is a padded identifier: trailing spaces and NULs dropped, and
// anything that is not printable ASCII (a broken or hostile image) as '?'
// so it can be shown and matched safely.
func field(b []byte) string {
	s := strings.TrimRight(string(b), " \x00")
	s = strings.TrimLeft(s, " ")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}
