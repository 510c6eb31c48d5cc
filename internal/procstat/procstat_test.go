package procstat

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseCPU(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          string
		busy, total uint64
		bad         bool
	}{
		{name: "full line", in: "cpu  1000 100 500 8000 400 0 50 0 30 0\ncpu0 1 1 1 1\n", busy: 1650, total: 10050},
		{name: "old kernel, four fields", in: "cpu 10 20 30 40\n", busy: 60, total: 100},
		{name: "no cpu line", in: "intr 1\n", bad: true},
		{name: "garbage number", in: "cpu 1 x 3 4 5\n", bad: true},
		{name: "empty", in: "", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ParseCPU([]byte(tc.in))
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want bad=%v", err, tc.bad)
			}
			if c.Busy != tc.busy || c.Total != tc.total {
				t.Fatalf("got %+v, want busy %d total %d", c, tc.busy, tc.total)
			}
		})
	}
}

func TestParseMemory(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want Memory
		bad  bool
	}{
		{name: "both", in: "MemTotal: 100 kB\nMemFree: 5 kB\nMemAvailable: 40 kB\n", want: Memory{Total: 102400, Available: 40960}},
		{name: "no available (kernel < 3.14)", in: "MemTotal: 100 kB\nMemFree: 5 kB\n", bad: true},
		{name: "available above total", in: "MemTotal: 1 kB\nMemAvailable: 40 kB\n", bad: true},
		{name: "no number", in: "MemTotal:\nMemAvailable: 4 kB\n", bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseMemory([]byte(tc.in))
			if (err != nil) != tc.bad || m != tc.want {
				t.Fatalf("got %+v, %v; want %+v bad=%v", m, err, tc.want, tc.bad)
			}
		})
	}
}

func TestParseDevices(t *testing.T) {
	disk, _ := os.ReadFile("testdata/root/proc/diskstats")
	ds, err := ParseDiskStats(disk, func(n []byte) bool { return string(n) == "vda" }, nil)
	if err != nil || len(ds) != 1 || ds[0] != (Counter{Name: "vda", In: 2048 * 512, Out: 4096 * 512}) {
		t.Fatalf("disks %+v, %v", ds, err)
	}
	net, _ := os.ReadFile("testdata/root/proc/net/dev")
	ns, err := ParseNetDev(net, nil, nil)
	if err != nil || len(ns) != 4 || ns[1] != (Counter{Name: "eth0", In: 1130750437, Out: 8803461}) {
		t.Fatalf("nics %+v, %v", ns, err)
	}
	if _, err := ParseNetDev([]byte("eth0: 1 2\n"), nil, nil); err == nil {
		t.Fatal("a short line was accepted")
	}
	if _, err := ParseDiskStats([]byte("8 0 sda 1 2\n"), nil, nil); err == nil {
		t.Fatal("a short line was accepted")
	}
}

// TestReader reads the fixture tree: only the physical disk and interface
// are kept, and a second read into the same Sample allocates nothing.
func TestReader(t *testing.T) {
	r := NewReader(filepath.Join("testdata", "root"))
	var s Sample
	if err := r.Read(&s); err != nil {
		t.Fatal(err)
	}
	if s.CPU != (CPU{Busy: 1650, Total: 10050}) || s.Memory.Total != 16384000*1024 {
		t.Fatalf("cpu %+v memory %+v", s.CPU, s.Memory)
	}
	if len(s.Disks) != 1 || s.Disks[0].Name != "vda" {
		t.Fatalf("disks %+v", s.Disks)
	}
	if len(s.NICs) != 1 || s.NICs[0].Name != "eth0" {
		t.Fatalf("nics %+v", s.NICs)
	}
	defer r.Close()
	if a := testing.AllocsPerRun(20, func() { _ = r.Read(&s) }); a != 0 {
		t.Fatalf("a steady read allocates %v times", a)
	}
}

// FuzzParse feeds every parser the same input: none may panic, and what
// they accept stays within the input's bounds.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"stat", "meminfo", "diskstats", "net/dev"} {
		b, err := os.ReadFile(filepath.Join("testdata", "root", "proc", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseCPU(b); err == nil && c.Busy > c.Total {
			t.Fatalf("busy %d > total %d", c.Busy, c.Total)
		}
		if m, err := ParseMemory(b); err == nil && m.Available > m.Total {
			t.Fatalf("available above total: %+v", m)
		}
		_, _ = ParseDiskStats(b, nil, nil)
		ns, err := ParseNetDev(b, nil, nil)
		for _, n := range ns {
			if err == nil && n.Name == "" {
				t.Fatal("an interface without a name")
			}
		}
	})
}
