// The pre-check of a guest clone: where each disk's copy goes and
// whether it fits, decided before anything is copied.

package virt

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// Codes of guest clones.
var (
	// CodeCloneNoSpace: no pool can hold a disk's copy; nothing was made.
	CodeCloneNoSpace = fault.Define("clone_no_space", fault.Conflict)
)

// ClonePlanRequest asks for the plan of a clone.
type ClonePlanRequest struct {
	Source  string // the guest to clone
	NewName string // "": <source>-clone, -clone2, …
	Pool    string // "": each disk's own pool, else this pool for every copy
	Linked  bool
	// DefaultPool takes the copies whose own pool cannot (config
	// clone.default_pool).
	DefaultPool string
	// Taken are names other clones are making now (not yet defined).
	Taken func(name string) bool
}

// poolsNoCreate are pool types where new volumes cannot be made.
var poolsNoCreate = []string{"iscsi", "iscsi-direct", "scsi", "mpath", "gluster", "rbd", "sheepdog", "zfs", "vstorage"}

// poolsQcow2 are pool types that hold qcow2 files (and so linked clones).
var poolsQcow2 = []string{"dir", "fs", "netfs"}

// overlayNeed is what a linked clone's qcow2 overlay takes at first.
const overlayNeed = 1 << 20

// PlanClone checks that the guest is shut off and answers where each disk
// goes; nothing changes. A plan that does not fit is returned with Fits
// false (no error): the caller decides whether that is a refusal.
func (m *Manager) PlanClone(ctx context.Context, req ClonePlanRequest) (api.ClonePlan, error) {
	if req.NewName != "" {
		if err := ValidateName(req.NewName); err != nil {
			return api.ClonePlan{}, err
		}
	}
	if req.Pool != "" {
		if err := ValidatePoolName(req.Pool); err != nil {
			return api.ClonePlan{}, err
		}
	}
	c, dom, err := m.lookup(ctx, req.Source)
	if err != nil {
		return api.ClonePlan{}, err
	}
	defer release(c)
	defer dom.Free()
	if err := m.shutOff(dom, req.Source); err != nil {
		return api.ClonePlan{}, err
	}
	doc, err := dom.GetXMLDesc(libvirt.DOMAIN_XML_INACTIVE)
	if err != nil {
		return api.ClonePlan{}, m.fail("read guest", req.Source, err)
	}
	var d libvirtxml.Domain
	if err := d.Unmarshal(doc); err != nil {
		return api.ClonePlan{}, m.fail("read guest", req.Source, err)
	}
	plan := api.ClonePlan{Source: req.Source, Disks: []api.CloneDisk{}, Fits: true}
	if plan.Name, err = m.cloneName(c, req); err != nil {
		return api.ClonePlan{}, err
	}
	if info, err := readMeta(dom); err == nil {
		plan.Grants = len(info.grants)
	}
	p := planner{m: m, c: c, req: req, pools: map[string]*api.Pool{}, taken: map[string]uint64{}, test: m.isTestDriver(), names: map[string]bool{}}
	if d.Devices != nil {
		plan.NICs = len(d.Devices.Interfaces)
		for _, disk := range d.Devices.Disks {
			cd := p.disk(ctx, plan.Name, disk)
			plan.Need += cd.Need
			plan.Fits = plan.Fits && cd.Fits
			plan.Disks = append(plan.Disks, cd)
		}
	}
	return plan, nil
}

// shutOff refuses a guest that is not shut off (a copy of disks being
// written is not a clone) and a transient one (it has nothing to copy
// once off).
func (m *Manager) shutOff(dom *libvirt.Domain, name string) error {
	st, _, err := dom.GetState()
	if err != nil {
		return m.fail("get state", name, err)
	}
	active, persistent, err := activity(dom)
	if err != nil {
		return m.fail("get state", name, err)
	}
	if active || !persistent {
		return CodeGuestRunning.New("guest %q is %s; shut it off to clone it", name, describeState(stateName(st)))
	}
	return nil
}

// cloneName checks the asked name is free, or finds the first free
// <source>-clone, <source>-clone2, …
func (m *Manager) cloneName(c *libvirt.Connect, req ClonePlanRequest) (string, error) {
	free := func(n string) (bool, error) {
		if req.Taken != nil && req.Taken(n) {
			return false, nil
		}
		dom, err := c.LookupDomainByName(n)
		if err == nil {
			_ = dom.Free()
			return false, nil
		}
		if libvirtCode(err) != libvirt.ERR_NO_DOMAIN {
			return false, m.fail("lookup guest", n, err)
		}
		return true, nil
	}
	if req.NewName != "" {
		ok, err := free(req.NewName)
		if err != nil {
			return "", err
		}
		if !ok {
			return "", CodeGuestExists.New("a guest named %q exists (or is being made); choose another name", req.NewName)
		}
		return req.NewName, nil
	}
	base := req.Source
	for i := 1; i < 1000; i++ {
		suffix := "-clone"
		if i > 1 {
			suffix = fmt.Sprintf("-clone%d", i)
		}
		n := base
		if len(n)+len(suffix) > MaxNameLen {
			n = n[:MaxNameLen-len(suffix)]
		}
		n += suffix
		ok, err := free(n)
		if err != nil {
			return "", err
		}
		if ok {
			return n, nil
		}
	}
	return "", CodeGuestExists.New("no free name for a clone of %q; give one", req.Source)
}

// planner decides disk by disk, counting what earlier disks of the same
// clone take from each pool.
type planner struct {
	m     *Manager
	c     *libvirt.Connect
	req   ClonePlanRequest
	pools map[string]*api.Pool // nil: not found
	taken map[string]uint64    // pool → bytes earlier disks take
	names map[string]bool      // pool/volume chosen by earlier disks
	test  bool
}

func (p *planner) pool(ctx context.Context, name string) *api.Pool {
	if pl, ok := p.pools[name]; ok {
		return pl
	}
	var out *api.Pool
	if pl, err := p.m.Pool(ctx, name); err == nil {
		out = &pl
	}
	p.pools[name] = out
	return out
}

// disk plans one disk of the new guest newName.
func (p *planner) disk(ctx context.Context, newName string, disk libvirtxml.DomainDisk) api.CloneDisk {
	cd := api.CloneDisk{Device: disk.Device}
	if cd.Device == "" {
		cd.Device = "disk"
	}
	if disk.Target != nil {
		cd.Target = disk.Target.Dev
	}
	if cd.Device != "disk" || disk.ReadOnly != nil || disk.Shareable != nil {
		cd.Action, cd.Fits = api.CloneShare, true
		cd.SourcePath = diskSourcePath(disk)
		cd.Reason = "shared with the source guest (CD-ROM, read-only or shareable)"
		return cd
	}
	if disk.Source == nil || (disk.Source.File == nil && disk.Source.Block == nil && disk.Source.Volume == nil) {
		cd.Action, cd.Fits = api.CloneShare, true
		cd.Reason = "no source: nothing to copy"
		if disk.Source != nil && disk.Source.Network != nil {
			cd.Action, cd.Fits = api.CloneNone, false
			cd.Reason = "a network disk cannot be copied by the portal"
		}
		return cd
	}
	cd.SourcePath = diskSourcePath(disk)
	vol, pool, err := p.resolve(disk)
	if err != nil {
		// A file outside every pool: libvirt can copy volumes only, and
		// sharing a writable disk between two guests corrupts it.
		cd.Action, cd.Fits = api.CloneNone, false
		cd.Reason = "not a volume of any storage pool: put its folder in a pool (or detach it) to clone this guest"
		return cd
	}
	cd.SourcePool, cd.SourceVolume = pool, vol.Name
	cd.Format, cd.Size, cd.Allocation = vol.Format, vol.Capacity, vol.Allocation

	linked := p.req.Linked && (vol.Format == "qcow2" || vol.Format == "raw")
	var reasons []string
	try := func(dest string, fallback bool) bool {
		pl := p.pool(ctx, dest)
		link := linked
		var why string
		switch {
		case pl == nil:
			why = fmt.Sprintf("pool %q does not exist", dest)
		case pl.State != api.PoolRunning:
			why = fmt.Sprintf("pool %q is not running", dest)
		case slices.Contains(poolsNoCreate, pl.Type):
			why = fmt.Sprintf("pool %q is of type %s, where new volumes cannot be made", dest, pl.Type)
		case p.test && dest != pool:
			why = fmt.Sprintf("this host's libvirt driver copies within a pool only, and the disk is in pool %q", pool)
		}
		if why == "" {
			if link && !slices.Contains(poolsQcow2, pl.Type) {
				link = false
				reasons = append(reasons, fmt.Sprintf("pool %q cannot hold a qcow2 overlay: copied in full", dest))
			}
			need := vol.Allocation
			if pl.Type == "logical" || pl.Type == "disk" {
				need = vol.Capacity // no thin volumes there
			}
			if link {
				need = overlayNeed
			}
			if free := pl.Available - min(pl.Available, p.taken[dest]); need > free {
				why = fmt.Sprintf("pool %q has %s free (after this clone's other disks), the copy needs %s", dest, human(free), human(need))
			} else {
				cd.DestPool, cd.Need, cd.Fallback = dest, need, fallback
				cd.DestVolume = p.volName(ctx, dest, newName, cd.Target, vol.Name, link || pl.Type == "dir" || pl.Type == "fs" || pl.Type == "netfs")
				cd.Action, cd.Fits = api.CloneCopy, true
				if link {
					cd.Action = api.CloneLink
					cd.Format = "qcow2"
				}
				p.taken[dest] += need
				p.names[dest+"/"+cd.DestVolume] = true
				return true
			}
		}
		reasons = append(reasons, why)
		return false
	}
	switch {
	case p.req.Pool != "":
		try(p.req.Pool, p.req.Pool != pool)
	case try(pool, false):
	case p.req.DefaultPool != "" && p.req.DefaultPool != pool:
		try(p.req.DefaultPool, true)
	}
	if !cd.Fits {
		cd.Action = api.CloneNone
	}
	cd.Reason = strings.Join(reasons, "; ")
	return cd
}

// resolve finds the storage volume behind a disk and its pool.
func (p *planner) resolve(disk libvirtxml.DomainDisk) (api.Volume, string, error) {
	v, err := p.m.resolveDisk(p.c, disk)
	return v, v.Pool, err
}

// volName names a disk's copy "<guest>-<target>[.qcow2|.img]", adding -2,
// -3… while the pool has the name or an earlier disk took it.
func (p *planner) volName(ctx context.Context, pool, guest, target, srcName string, file bool) string {
	ext := ""
	if file {
		ext = path.Ext(srcName)
		if ext == "" || len(ext) > 6 {
			ext = ".img"
		}
	}
	if target == "" {
		target = "disk"
	}
	for i := 1; ; i++ {
		n := guest + "-" + target
		if i > 1 {
			n += fmt.Sprintf("-%d", i)
		}
		n += ext
		if p.names[pool+"/"+n] {
			continue
		}
		if _, err := p.m.Volume(ctx, pool, n); err != nil && fault.Is(err, CodeVolumeNotFound) {
			return n
		}
		if i > 100 {
			return n // the clone's check of the name refuses it
		}
	}
}

// diskSourcePath is a file or block disk's source path.
func diskSourcePath(d libvirtxml.DomainDisk) string {
	switch {
	case d.Source == nil:
		return ""
	case d.Source.File != nil:
		return d.Source.File.File
	case d.Source.Block != nil:
		return d.Source.Block.Dev
	}
	return ""
}

// human writes bytes in binary units.
func human(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for x := n / unit; x >= unit && exp < 4; x /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
