// A minimal ISO 9660 writer and reader for seeds: one root directory of a
// few small files, with a Joliet tree so the names keep their case and
// dashes ("user-data"), as genisoimage -joliet -rock makes them. The
// library writers seen (github.com/kdomanski/iso9660) mangle names to
// 8.3 upper case and stage files on disk, which cloud-init cannot use.

package cidata

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf16"
)

const sector = 2048

// File is one file of the image's root directory.
type File struct {
	Name string
	Data []byte
}

// MaxFiles and MaxFileName bound what WriteISO takes: one directory sector.
const (
	MaxFiles    = 8
	MaxFileName = 30
)

// WriteISO renders files in the root directory of an ISO 9660 image with
// a Joliet supplementary descriptor; volumeID labels both.
func WriteISO(volumeID string, files []File) ([]byte, error) {
	if len(files) == 0 || len(files) > MaxFiles {
		return nil, fmt.Errorf("iso: between 1 and %d files", MaxFiles)
	}
	if volumeID == "" || len(volumeID) > 16 {
		return nil, errors.New("iso: volume id of 1 to 16 characters")
	}
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	for i, f := range files {
		if f.Name == "" || len(f.Name) > MaxFileName || (i > 0 && files[i-1].Name == f.Name) {
			return nil, fmt.Errorf("iso: bad or repeated file name %q", f.Name)
		}
		for _, c := range f.Name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
				return nil, fmt.Errorf("iso: file name %q: only letters, digits, '-', '_', '.'", f.Name)
			}
		}
	}
	// Sectors: 16 PVD, 17 Joliet SVD, 18 terminator, 19–22 path tables
	// (L and M of each tree), 23 primary root, 24 Joliet root, 25… data.
	const pvdAt, svdAt, termAt, ptAt, rootAt, jrootAt, dataAt = 16, 17, 18, 19, 23, 24, 25
	lba := make([]uint32, len(files))
	next := uint32(dataAt)
	for i, f := range files {
		lba[i] = next
		next += uint32((len(f.Data) + sector - 1) / sector)
		if len(f.Data) == 0 {
			lba[i] = 0 // empty files point nowhere, as mkisofs does
		}
	}
	total := next
	img := make([]byte, int(total)*sector)
	at := func(s uint32) []byte { return img[int(s)*sector : int(s+1)*sector] }

	// Directories.
	primaryName := func(n string) []byte {
		n = strings.ToUpper(strings.ReplaceAll(n, "-", "_"))
		if !strings.Contains(n, ".") {
			n += "."
		}
		return []byte(n + ";1")
	}
	writeDir := func(s, parent uint32, name func(string) []byte) {
		d := at(s)
		off := 0
		off += dirRecord(d[off:], []byte{0}, s, sector, true)
		off += dirRecord(d[off:], []byte{1}, parent, sector, true)
		for i, f := range files {
			off += dirRecord(d[off:], name(f.Name), lba[i], uint32(len(f.Data)), false)
		}
	}
	writeDir(rootAt, rootAt, primaryName)
	writeDir(jrootAt, jrootAt, ucs2)
	for i, f := range files {
		if len(f.Data) > 0 {
			copy(img[int(lba[i])*sector:], f.Data)
		}
	}
	// Path tables: the root alone.
	pathTable := func(s, root uint32, big bool) {
		d := at(s)
		d[0] = 1
		if big {
			binary.BigEndian.PutUint32(d[2:], root)
			binary.BigEndian.PutUint16(d[6:], 1)
		} else {
			binary.LittleEndian.PutUint32(d[2:], root)
			binary.LittleEndian.PutUint16(d[6:], 1)
		}
	}
	pathTable(ptAt, rootAt, false)
	pathTable(ptAt+1, rootAt, true)
	pathTable(ptAt+2, jrootAt, false)
	pathTable(ptAt+3, jrootAt, true)

	descriptor := func(s uint32, kind byte, root, pt uint32, ident func(string, int) []byte) {
		d := at(s)
		d[0] = kind
		copy(d[1:6], "CD001")
		d[6] = 1
		copy(d[8:40], ident("LINUX", 32))
		copy(d[40:72], ident(volumeID, 32))
		both32(d[80:], total)
		both16(d[120:], 1)
		both16(d[124:], 1)
		both16(d[128:], sector)
		both32(d[132:], 10)
		binary.LittleEndian.PutUint32(d[140:], pt)
		binary.BigEndian.PutUint32(d[148:], pt+1)
		dirRecord(d[156:190], []byte{0}, root, sector, true)
		copy(d[190:318], ident("", 128))
		copy(d[318:446], ident("", 128))
		copy(d[446:574], ident("", 128))
		copy(d[574:702], ident("VIRTPORTAL", 128))
		copy(d[702:739], ident("", 37))
		copy(d[739:776], ident("", 37))
		copy(d[776:813], ident("", 37))
		for _, o := range []int{813, 830, 847, 864} { // dates: unspecified
			copy(d[o:o+16], "0000000000000000")
		}
		d[881] = 1
	}
	descriptor(pvdAt, 1, rootAt, ptAt, padA)
	descriptor(svdAt, 2, jrootAt, ptAt+2, padUCS2)
	copy(at(svdAt)[88:91], "%/E") // Joliet, UCS-2 level 3
	t := at(termAt)
	t[0] = 255
	copy(t[1:6], "CD001")
	t[6] = 1
	return img, nil
}

// dirRecord writes one directory record into d and returns its length.
func dirRecord(d []byte, name []byte, extent, size uint32, dir bool) int {
	n := 33 + len(name)
	if n%2 == 1 {
		n++
	}
	d[0] = byte(n)
	both32(d[2:], extent)
	both32(d[10:], size)
	d[18], d[19], d[20] = 126, 1, 1 // 2026-01-01: a fixed date, so seeds are reproducible
	if dir {
		d[25] = 2
	}
	both16(d[28:], 1)
	d[32] = byte(len(name))
	copy(d[33:], name)
	return n
}

func both16(d []byte, v uint16) {
	binary.LittleEndian.PutUint16(d, v)
	binary.BigEndian.PutUint16(d[2:], v)
}

func both32(d []byte, v uint32) {
	binary.LittleEndian.PutUint32(d, v)
	binary.BigEndian.PutUint32(d[4:], v)
}

func padA(s string, n int) []byte {
	return []byte((s + strings.Repeat(" ", n))[:n])
}

func ucs2(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.BigEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func padUCS2(s string, n int) []byte {
	b := ucs2(s)
	for len(b)+2 <= n {
		b = append(b, 0, ' ')
	}
	return append(b, make([]byte, n-len(b))...)[:n]
}

// Image is what ReadISO found: the volume id and the root's files.
type Image struct {
	VolumeID string
	Joliet   bool
	Files    map[string][]byte
}

// ReadISO reads the root directory of an ISO 9660 image, through its
// Joliet tree when it has one (names as written), else the primary one
// (names lower-cased, version and trailing dot dropped).
func ReadISO(img []byte) (Image, error) {
	var pvd, joliet []byte
	for s := 16; (s+1)*sector <= len(img) && s < 64; s++ {
		d := img[s*sector : (s+1)*sector]
		if string(d[1:6]) != "CD001" {
			return Image{}, errors.New("iso: no volume descriptor set")
		}
		if d[0] == 255 {
			break
		}
		switch {
		case d[0] == 1 && pvd == nil:
			pvd = d
		case d[0] == 2 && d[88] == '%' && d[89] == '/' && bytes.ContainsAny(d[90:91], "@CE"):
			joliet = d
		}
	}
	if pvd == nil {
		return Image{}, errors.New("iso: no primary volume descriptor")
	}
	desc := pvd
	if joliet != nil {
		desc = joliet
	}
	out := Image{Joliet: joliet != nil, Files: map[string][]byte{}}
	if joliet != nil {
		out.VolumeID = strings.TrimRight(fromUCS2(desc[40:72]), " ")
	} else {
		out.VolumeID = strings.TrimRight(string(desc[40:72]), " ")
	}
	root := desc[156:190]
	extent, size := binary.LittleEndian.Uint32(root[2:]), binary.LittleEndian.Uint32(root[10:])
	dir, err := slice(img, extent, size)
	if err != nil {
		return Image{}, err
	}
	for off := 0; off < len(dir); {
		n := int(dir[off])
		if n == 0 { // records do not cross sectors: skip to the next one
			off = (off/sector + 1) * sector
			continue
		}
		if off+n > len(dir) || n < 34 || 33+int(dir[off+32]) > n {
			return Image{}, errors.New("iso: bad directory record")
		}
		r := dir[off : off+n]
		off += n
		nameLen := int(r[32])
		raw := r[33 : 33+nameLen]
		if r[25]&2 != 0 || (nameLen == 1 && raw[0] <= 1) {
			continue
		}
		var name string
		if joliet != nil {
			name = fromUCS2(raw)
		} else {
			name = strings.ToLower(string(raw))
		}
		name, _, _ = strings.Cut(name, ";")
		if joliet == nil {
			name = strings.TrimSuffix(name, ".")
		}
		data, err := slice(img, binary.LittleEndian.Uint32(r[2:]), binary.LittleEndian.Uint32(r[10:]))
		if err != nil {
			return Image{}, err
		}
		out.Files[name] = data
	}
	return out, nil
}

func slice(img []byte, extent, size uint32) ([]byte, error) {
	start := uint64(extent) * sector
	end := start + uint64(size)
	if end > uint64(len(img)) {
		return nil, errors.New("iso: extent beyond the image")
	}
	return img[start:end], nil
}

func fromUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
