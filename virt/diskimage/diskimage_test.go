package diskimage

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// The headers in testdata/images are the first 4 KiB of images qemu-img
// 7.2 made (see each name); the expectations are what QEMU would follow.
func TestInspectQemuImages(t *testing.T) {
	cases := []struct {
		file, format, refs string
	}{
		{"plain.qcow2.head", "qcow2", ""},
		{"v2.qcow2.head", "qcow2", ""},
		{"backing.qcow2.head", "qcow2", "backing file"},
		{"backing-v2.qcow2.head", "qcow2", "backing file"},
		{"datafile.qcow2.head", "qcow2", "external data file"},
		{"plain.qed.head", "qed", ""},
		{"backing.qed.head", "qed", "backing file"},
		{"plain.vmdk.head", "vmdk", "extents"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "images", c.file))
			if err != nil {
				t.Fatal(err)
			}
			r := Inspect(b)
			if r.Format != c.format || r.References != c.refs || r.Safe() != (c.refs == "") {
				t.Fatalf("Inspect = %+v, want format %q references %q", r, c.format, c.refs)
			}
		})
	}
}

func TestInspectCrafted(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join("testdata", "images", "plain.qcow2.head"))
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte)) []byte {
		b := append([]byte(nil), plain...)
		f(b)
		return b
	}
	be := binary.BigEndian
	cases := []struct {
		name string
		in   []byte
		safe bool
	}{
		{"raw zeros", make([]byte, 4096), true},
		{"ISO-like", append(make([]byte, 32769), "CD001"...), true},
		{"empty", nil, true},
		{"qcow2 magic alone", []byte("QFI\xfb"), false},
		{"qcow2 v3 cut before the features", plain[:90], false},
		{"backing name size without offset", mod(func(b []byte) { be.PutUint32(b[16:], 5) }), false},
		{"data file bit", mod(func(b []byte) { be.PutUint64(b[72:], be.Uint64(b[72:])|4) }), false},
		{"data file extension without the bit", mod(func(b []byte) {
			off := be.Uint32(b[100:])
			be.PutUint32(b[off:], extDataFile)
			be.PutUint32(b[off+4:], 4)
		}), false},
		{"extension length past the window", mod(func(b []byte) {
			off := be.Uint32(b[100:])
			be.PutUint32(b[off:], 0x6803f857)
			be.PutUint32(b[off+4:], 0xffffffff)
		}), true},
		{"header length past the window", mod(func(b []byte) { be.PutUint32(b[100:], 0xfffffff0) }), true},
		{"qed cut short", []byte("QED\x00\x00\x00"), false},
		{"vmdk text descriptor", []byte("# Disk DescriptorFile\nRW 8 FLAT \"/etc/shadow\" 0\n"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Inspect(c.in).Safe(); got != c.safe {
				t.Fatalf("Safe = %v, want %v (%+v)", got, c.safe, Inspect(c.in))
			}
		})
	}
}

// FuzzInspect: any bytes give a report, never a panic, and a qcow2 whose
// backing-file offset is set is never called safe.
func FuzzInspect(f *testing.F) {
	entries, err := os.ReadDir(filepath.Join("testdata", "images"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", "images", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := Inspect(b)
		if len(b) >= 16 && r.Format == "qcow2" && binary.BigEndian.Uint64(b[8:]) != 0 && r.Safe() {
			t.Fatalf("a qcow2 with a backing file offset passed: %+v", r)
		}
	})
}
