package virt

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
)

// factsTTL is how long the host's facts are reused: they change with an
// upgrade or a reboot, and domain capabilities cost a QEMU probe.
const factsTTL = time.Minute

// hostFacts reads the facts from libvirt (node info, capabilities, domain
// capabilities) and, for a host on this machine, from /etc and /proc.
func (m *Manager) hostFacts(c *libvirt.Connect) (api.HostFacts, error) {
	m.factsMu.Lock()
	defer m.factsMu.Unlock()
	if m.facts != nil && time.Since(m.factsAt) < factsTTL {
		return *m.facts, nil
	}
	var f api.HostFacts
	ni, err := c.GetNodeInfo()
	if err != nil {
		return f, m.fail("node info", "", err)
	}
	f.CPUMHz, f.Sockets, f.CoresPerSock, f.ThreadsPerCPU, f.NUMANodes = int(ni.MHz), int(ni.Sockets), int(ni.Cores), int(ni.Threads), int(ni.Nodes)
	f.MemoryBytes = ni.Memory << 10
	f.MaxVCPUs = int(ni.Cpus)
	if hv, err := c.GetVersion(); err == nil && hv > 0 {
		f.QEMUVersion = dotted(uint32(hv))
	}
	start := time.Now()
	s, err := c.GetCapabilities()
	m.observe("capabilities", start, err)
	if err != nil {
		return f, m.fail("capabilities", "", err)
	}
	var caps libvirtxml.Caps
	if err := caps.Unmarshal(s); err != nil {
		return f, m.fail("capabilities", "", err)
	}
	virtType := factsFromCaps(&caps, &f)
	if dc, err := c.GetDomainCapabilities("", hostArch(&caps, ni.Model), "", virtType, 0); err == nil {
		var d libvirtxml.DomainCaps
		if d.Unmarshal(dc) == nil {
			factsFromDomainCaps(&d, &f)
		}
	}
	if f.Graphics == nil {
		f.Graphics = []string{}
	}
	if m.OnThisMachine() {
		localFacts("/", &f)
	}
	m.facts, m.factsAt = &f, time.Now()
	return f, nil
}

func hostArch(caps *libvirtxml.Caps, model string) string {
	if caps.Host.CPU != nil && caps.Host.CPU.Arch != "" {
		return caps.Host.CPU.Arch
	}
	return model
}

// factsFromCaps fills the CPU, IOMMU, architectures and machine types, and
// returns the best virtualisation type offered (kvm, else the first).
func factsFromCaps(caps *libvirtxml.Caps, f *api.HostFacts) string {
	if cpu := caps.Host.CPU; cpu != nil {
		f.CPUModel, f.CPUVendor = cpu.Model, cpu.Vendor
		if t := cpu.Topology; t != nil && f.Sockets == 0 {
			f.Sockets, f.CoresPerSock, f.ThreadsPerCPU = t.Sockets, t.Cores, t.Threads
		}
	}
	f.IOMMU = caps.Host.IOMMU != nil && caps.Host.IOMMU.Support == "yes"
	virtType := ""
	f.Architectures, f.Machines = []string{}, []api.HostMachine{}
	for _, g := range caps.Guests {
		if g.OSType != "hvm" && g.OSType != "xen" && g.OSType != "exe" {
			continue
		}
		a := g.Arch.Name
		if !slices.Contains(f.Architectures, a) {
			f.Architectures = append(f.Architectures, a)
		}
		hm := api.HostMachine{Arch: a, Machines: []string{}}
		add := func(ms []libvirtxml.CapsGuestMachine) {
			for _, mc := range ms {
				name := mc.Name
				if mc.Canonical != "" {
					name = mc.Canonical
				}
				if name != "" && !slices.Contains(hm.Machines, name) {
					hm.Machines = append(hm.Machines, name)
				}
			}
		}
		add(g.Arch.Machines)
		for _, d := range g.Arch.Domains {
			if d.Type == "kvm" {
				f.KVM = true
				virtType = "kvm"
			} else if virtType == "" {
				virtType = d.Type
			}
			add(d.Machines)
		}
		if i := slices.IndexFunc(f.Machines, func(x api.HostMachine) bool { return x.Arch == a }); i >= 0 {
			for _, n := range hm.Machines {
				if !slices.Contains(f.Machines[i].Machines, n) {
					f.Machines[i].Machines = append(f.Machines[i].Machines, n)
				}
			}
		} else {
			f.Machines = append(f.Machines, hm)
		}
	}
	slices.Sort(f.Architectures)
	return virtType
}

// factsFromDomainCaps fills the graphics kinds and the largest guest.
func factsFromDomainCaps(d *libvirtxml.DomainCaps, f *api.HostFacts) {
	if d.VCPU != nil && d.VCPU.Max > 0 {
		f.MaxVCPUs = int(d.VCPU.Max)
	}
	if d.Devices != nil && d.Devices.Graphics != nil && d.Devices.Graphics.Supported == "yes" {
		for _, e := range d.Devices.Graphics.Enums {
			if e.Name == "type" {
				f.Graphics = slices.Clone(e.Values)
			}
		}
	}
}

// localFacts reads what libvirt does not say from this machine's files.
func localFacts(root string, f *api.HostFacts) {
	if b, err := os.ReadFile(root + "etc/os-release"); err == nil {
		f.OS = OSReleaseName(b)
	}
	if b, err := os.ReadFile(root + "proc/sys/kernel/osrelease"); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile(root + "proc/cpuinfo"); err == nil {
		if name := cpuModelName(b); name != "" {
			f.CPUModel = name
		}
	}
	if _, err := os.Stat(root + "dev/kvm"); err == nil {
		f.KVM = true
	} else if f.KVM {
		f.KVM = false // offered by a libvirt that cannot open it
	}
	if es, err := os.ReadDir(root + "sys/kernel/iommu_groups"); err == nil && len(es) > 0 {
		f.IOMMU = true
	}
}

// OSReleaseName is PRETTY_NAME of an os-release file, else NAME VERSION.
func OSReleaseName(b []byte) string {
	kv := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok || strings.HasPrefix(k, "#") {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		} else {
			v = strings.Trim(v, `"'`)
		}
		kv[k] = v
	}
	if p := kv["PRETTY_NAME"]; p != "" {
		return p
	}
	return strings.TrimSpace(kv["NAME"] + " " + kv["VERSION"])
}

// cpuModelName is the first "model name" of /proc/cpuinfo.
func cpuModelName(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// HostFacts returns the host's facts (cached for a minute).
func (m *Manager) HostFacts(ctx context.Context) (api.HostFacts, error) {
	if err := ctx.Err(); err != nil {
		return api.HostFacts{}, err
	}
	c, err := m.acquire()
	if err != nil {
		return api.HostFacts{}, err
	}
	defer release(c)
	return m.hostFacts(c)
}
