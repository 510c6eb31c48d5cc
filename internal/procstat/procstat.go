// Package procstat reads the local host's counters from /proc and /sys:
// CPU time, memory, disk sectors and network bytes. The parsers take the
// files' bytes, so they are tested on fixtures and fuzzed; Reader adds the
// file reads and the choice of physical devices.
package procstat

import (
	"bytes"
	"errors"
)

// CPU is the aggregate "cpu" line of /proc/stat, in clock ticks.
type CPU struct {
	Busy, Total uint64
}

// Memory is what /proc/meminfo says, in bytes.
type Memory struct {
	Total, Available uint64
}

// Counter is one device's cumulative byte counters: read and written for a
// disk, received and sent for a network interface.
type Counter struct {
	Name string
	In   uint64 // bytes read (disk) or received (network)
	Out  uint64 // bytes written (disk) or sent (network)
}

// ErrFormat is returned for input that is not the file it should be.
var ErrFormat = errors.New("procstat: unexpected format")

// ParseCPU reads the first "cpu " line of /proc/stat. Busy is everything
// but idle and iowait; guest time is already inside user and nice.
func ParseCPU(b []byte) (CPU, error) {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		var arr [maxFields][]byte
		f := fields(line, arr[:0])
		if len(f) < 5 || string(f[0]) != "cpu" {
			continue
		}
		var c CPU
		for i, v := range f[1:] {
			if i >= 8 { // guest and guest_nice are counted in user and nice
				break
			}
			n, err := parseUint(v)
			if err != nil {
				return CPU{}, ErrFormat
			}
			c.Total += n
			if i != 3 && i != 4 { // idle, iowait
				c.Busy += n
			}
		}
		return c, nil
	}
	return CPU{}, ErrFormat
}

// ParseMemory reads MemTotal and MemAvailable (kB) from /proc/meminfo.
func ParseMemory(b []byte) (Memory, error) {
	var m Memory
	var seen int
	for len(b) > 0 && seen < 2 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var dst *uint64
		switch string(key) {
		case "MemTotal":
			dst = &m.Total
		case "MemAvailable":
			dst = &m.Available
		default:
			continue
		}
		var arr [maxFields][]byte
		f := fields(val, arr[:0])
		if len(f) == 0 {
			return Memory{}, ErrFormat
		}
		n, err := parseUint(f[0])
		if err != nil || n > 1<<53 {
			return Memory{}, ErrFormat
		}
		*dst = n * 1024
		seen++
	}
	if seen < 2 || m.Available > m.Total {
		return Memory{}, ErrFormat
	}
	return m, nil
}

// sectorBytes is the unit of /proc/diskstats whatever the device's own
// sector size.
const sectorBytes = 512

// ParseDiskStats appends to dst the devices of /proc/diskstats for which
// keep answers true, with bytes read and written.
func ParseDiskStats(b []byte, keep func(name []byte) bool, dst []Counter) ([]Counter, error) {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		var arr [maxFields][]byte
		f := fields(line, arr[:0])
		if len(f) == 0 {
			continue
		}
		if len(f) < 10 {
			return dst, ErrFormat
		}
		if keep != nil && !keep(f[2]) {
			continue
		}
		rd, err1 := parseUint(f[5])
		wr, err2 := parseUint(f[9])
		if err1 != nil || err2 != nil || rd > 1<<54 || wr > 1<<54 {
			return dst, ErrFormat
		}
		dst = appendCounter(dst, f[2], rd*sectorBytes, wr*sectorBytes)
	}
	return dst, nil
}

// ParseNetDev appends to dst the interfaces of /proc/net/dev for which keep
// answers true, with bytes received and sent.
func ParseNetDev(b []byte, keep func(name []byte) bool, dst []Counter) ([]Counter, error) {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		b = rest
		name, vals, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue // the two header lines
		}
		name = bytes.TrimSpace(name)
		if len(name) == 0 {
			return dst, ErrFormat
		}
		if keep != nil && !keep(name) {
			continue
		}
		var arr [maxFields][]byte
		f := fields(vals, arr[:0])
		if len(f) < 9 {
			return dst, ErrFormat
		}
		rx, err1 := parseUint(f[0])
		tx, err2 := parseUint(f[8])
		if err1 != nil || err2 != nil {
			return dst, ErrFormat
		}
		dst = appendCounter(dst, name, rx, tx)
	}
	return dst, nil
}

// appendCounter reuses dst's spare capacity, and the name already there
// when it is the same device, so a steady state allocates nothing.
func appendCounter(dst []Counter, name []byte, in, out uint64) []Counter {
	if len(dst) < cap(dst) {
		dst = dst[:len(dst)+1]
		c := &dst[len(dst)-1]
		if c.Name != string(name) {
			c.Name = string(name)
		}
		c.In, c.Out = in, out
		return dst
	}
	return append(dst, Counter{Name: string(name), In: in, Out: out})
}

// maxCounter bounds every number read, so sums of a few cannot wrap.
const maxCounter = 1 << 56

// parseUint reads a decimal counter without allocating (strconv's error
// would).
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 17 {
		return 0, ErrFormat
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, ErrFormat
		}
		n = n*10 + uint64(c-'0')
	}
	if n > maxCounter {
		return 0, ErrFormat
	}
	return n, nil
}

// maxFields is more than any line of these files has.
const maxFields = 24

// fields is bytes.Fields into dst's room (on the caller's stack), up to
// its capacity: what lies beyond is not read by any parser.
func fields(b []byte, dst [][]byte) [][]byte {
	for len(b) > 0 && len(dst) < cap(dst) {
		i := 0
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r') {
			i++
		}
		b = b[i:]
		if len(b) == 0 {
			break
		}
		j := 0
		for j < len(b) && b[j] != ' ' && b[j] != '\t' && b[j] != '\r' {
			j++
		}
		dst = append(dst, b[:j])
		b = b[j:]
	}
	return dst
}
