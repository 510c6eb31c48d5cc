package procstat

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// maxNames bounds the caches of device decisions.
const maxNames = 1024

// Sample is the local host's cumulative counters at one instant.
type Sample struct {
	At     time.Time
	CPU    CPU
	Memory Memory
	Disks  []Counter // physical disks
	NICs   []Counter // physical network interfaces
}

// Reader reads Samples from a root (normally "/"), reusing its buffers.
type Reader struct {
	root  string
	buf   []byte
	files map[string]*os.File // kept open: /proc files read again from offset 0

	keepDisk, keepNIC func([]byte) bool // the method values, made once

	mu       sync.Mutex
	physDisk map[string]bool // name → physical, decided once per name
	physNIC  map[string]bool
}

// NewReader reads from root ("/" on a real host; a fixture tree in tests).
func NewReader(root string) *Reader {
	r := &Reader{root: root, buf: make([]byte, 0, 64<<10), files: map[string]*os.File{}, physDisk: map[string]bool{}, physNIC: map[string]bool{}}
	r.keepDisk, r.keepNIC = r.isDisk, r.isNIC
	return r
}

// Read fills s (reusing its slices) with the counters now.
func (r *Reader) Read(s *Sample) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s.At = time.Now()
	var err error
	if err = r.load("proc/stat"); err != nil {
		return err
	}
	if s.CPU, err = ParseCPU(r.buf); err != nil {
		return err
	}
	if err = r.load("proc/meminfo"); err != nil {
		return err
	}
	if s.Memory, err = ParseMemory(r.buf); err != nil {
		return err
	}
	if err = r.load("proc/diskstats"); err != nil {
		return err
	}
	if s.Disks, err = ParseDiskStats(r.buf, r.keepDisk, s.Disks[:0]); err != nil {
		return err
	}
	if err = r.load("proc/net/dev"); err != nil {
		return err
	}
	s.NICs, err = ParseNetDev(r.buf, r.keepNIC, s.NICs[:0])
	return err
}

func (r *Reader) load(name string) error {
	f := r.files[name]
	if f == nil {
		var err error
		if f, err = os.Open(filepath.Join(r.root, name)); err != nil {
			return err
		}
		r.files[name] = f
	}
	r.buf = r.buf[:0]
	for {
		if len(r.buf) == cap(r.buf) {
			r.buf = append(r.buf, 0)[:len(r.buf)]
		}
		n, err := f.ReadAt(r.buf[len(r.buf):cap(r.buf)], int64(len(r.buf)))
		r.buf = r.buf[:len(r.buf)+n]
		if err != nil || n == 0 {
			return nil
		}
	}
}

// Close closes the files kept open.
func (r *Reader) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, f := range r.files {
		_ = f.Close()
		delete(r.files, k)
	}
	return nil
}

// isDisk keeps whole physical disks: those of /sys/block with a device
// behind them (not loop, ram, zram, device-mapper; partitions are not in
// /sys/block, so nothing is counted twice).
func (r *Reader) isDisk(name []byte) bool {
	if v, ok := r.physDisk[string(name)]; ok {
		return v
	}
	if len(r.physDisk) > maxNames {
		clear(r.physDisk)
	}
	n := string(name)
	_, err := os.Stat(filepath.Join(r.root, "sys/block", n, "device"))
	v := err == nil && !strings.HasPrefix(n, "loop") && !strings.HasPrefix(n, "zram")
	r.physDisk[n] = v
	return v
}

// isNIC keeps interfaces backed by a device: not lo, bridges, tap, vnet,
// veth, bonds' virtual members or tunnels (all under /sys/devices/virtual).
func (r *Reader) isNIC(name []byte) bool {
	if v, ok := r.physNIC[string(name)]; ok {
		return v
	}
	if len(r.physNIC) > maxNames {
		clear(r.physNIC) // tap and vnet names come and go
	}
	n := string(name)
	v := PhysicalNIC(n, r.root)
	r.physNIC[n] = v
	return v
}

// PhysicalNIC reports whether the interface is a physical one.
func PhysicalNIC(name, root string) bool {
	for _, p := range []string{"lo", "virbr", "vnet", "tap", "veth", "docker", "br-"} {
		if name == p || strings.HasPrefix(name, p) && p != "lo" {
			return false
		}
	}
	link, err := os.Readlink(filepath.Join(root, "sys/class/net", name))
	if err != nil {
		return false
	}
	return !bytes.Contains([]byte(link), []byte("/virtual/"))
}
