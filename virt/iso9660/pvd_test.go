package iso9660

import (
	"bytes"
	"errors"
	"testing"
)

// sector builds a primary volume descriptor with the given identifiers,
// space-padded as ISO 9660 writes them.
func sector(system, volume, publisher, application string, blocks uint32) []byte {
	b := bytes.Repeat([]byte{0}, SectorSize)
	b[0] = 1
	copy(b[1:6], "CD001")
	b[6] = 1
	put := func(off, n int, s string) {
		copy(b[off:off+n], bytes.Repeat([]byte{' '}, n))
		copy(b[off:off+n], s)
	}
	put(8, 32, system)
	put(40, 32, volume)
	put(318, 128, publisher)
	put(574, 128, application)
	b[80], b[81], b[82], b[83] = byte(blocks), byte(blocks>>8), byte(blocks>>16), byte(blocks>>24)
	b[84], b[85], b[86], b[87] = byte(blocks>>24), byte(blocks>>16), byte(blocks>>8), byte(blocks)
	b[128], b[129], b[130], b[131] = 0x00, 0x08, 0x08, 0x00 // 2048 both-endian
	return b
}

func TestParse(t *testing.T) {
	good := sector("LINUX", "Debian 11.5.0 amd64 n", "Debian Project", "XORRISO", 100)
	broken := sector("LINUX", "X", "", "", 100)
	broken[86] = 0xff // the big-endian half disagrees
	odd := sector("\x01WIN\xff", "  CCCOMA_X64FRE_EN-US_DV9", "MICROSOFT CORPORATION", "", 1)
	cases := []struct {
		name string
		in   []byte
		want PVD
		err  error
	}{
		{"debian", good, PVD{SystemID: "LINUX", VolumeID: "Debian 11.5.0 amd64 n", PublisherID: "Debian Project", ApplicationID: "XORRISO", VolumeSize: 100 * 2048}, nil},
		{"only the fields needed", good[:702], PVD{SystemID: "LINUX", VolumeID: "Debian 11.5.0 amd64 n", PublisherID: "Debian Project", ApplicationID: "XORRISO", VolumeSize: 100 * 2048}, nil},
		{"sizes disagree", broken, PVD{SystemID: "LINUX", VolumeID: "X"}, nil},
		{"control bytes and leading spaces", odd, PVD{SystemID: "?WIN?", VolumeID: "CCCOMA_X64FRE_EN-US_DV9", PublisherID: "MICROSOFT CORPORATION", VolumeSize: 2048}, nil},
		{"truncated", good[:100], PVD{}, ErrShort},
		{"empty", nil, PVD{}, ErrShort},
		{"zeros", make([]byte, SectorSize), PVD{}, ErrNotISO},
		{"supplementary, not primary", append([]byte{2}, good[1:]...), PVD{}, ErrNotISO},
		{"qcow2 header", append([]byte("QFI\xfb"), make([]byte, 2044)...), PVD{}, ErrNotISO},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Parse(c.in)
			if !errors.Is(err, c.err) || got != c.want {
				t.Fatalf("got %+v, %v; want %+v, %v", got, err, c.want, c.err)
			}
		})
	}
}

// FuzzPVD: whatever the bytes, Parse returns without panicking, and what
// it returns is printable ASCII with no padding left.
func FuzzPVD(f *testing.F) {
	f.Add(sector("LINUX", "Debian 11.5.0 amd64 n", "", "", 10))
	f.Add(sector("", "CCCOMA_X64FRE_EN-US_DV9", "MICROSOFT CORPORATION", "", 1)[:702])
	f.Add([]byte("\x01CD001"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Parse(b)
		if err != nil {
			if p != (PVD{}) {
				t.Fatalf("an error with fields: %+v", p)
			}
			return
		}
		for _, s := range []string{p.SystemID, p.VolumeID, p.PublisherID, p.ApplicationID} {
			for i := 0; i < len(s); i++ {
				if s[i] < 0x20 || s[i] > 0x7e {
					t.Fatalf("unprintable byte in %q", s)
				}
			}
			if len(s) > 0 && (s[0] == ' ' || s[len(s)-1] == ' ') {
				t.Fatalf("untrimmed %q", s)
			}
		}
		if p.VolumeSize < 0 {
			t.Fatalf("negative size %d", p.VolumeSize)
		}
	})
}
