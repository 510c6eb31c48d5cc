package virt

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"libvirt.org/go/libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
)

// The error codes of snapshots. libvirt 9.0 with QEMU here takes internal
// snapshots of qcow2 disks (with the memory of a running guest, always)
// and cannot revert or delete external ones, nor snapshot a guest with
// pflash (UEFI) firmware internally: those are refused up front.
var (
	CodeSnapshotNotFound    = fault.Define("snapshot_not_found", fault.NotFound)
	CodeSnapshotExists      = fault.Define("snapshot_exists", fault.Conflict)
	CodeSnapshotUEFI        = fault.Define("snapshot_uefi_unsupported", fault.Conflict)
	CodeSnapshotDiskFormat  = fault.Define("snapshot_disk_format_unsupported", fault.Conflict)
	CodeSnapshotNoDisk      = fault.Define("snapshot_no_disk", fault.Conflict)
	CodeSnapshotNeedsMemory = fault.Define("snapshot_memory_required", fault.Conflict)
	CodeSnapshotNoMemory    = fault.Define("snapshot_memory_unsupported", fault.Conflict)
	CodeSnapshotExternal    = fault.Define("snapshot_external_unsupported", fault.Conflict)
	CodeSnapshotFailed      = fault.Define("snapshot_failed", fault.Conflict)
	CodeInvalidDescription  = fault.Define("invalid_description", fault.Invalid)
)

// MaxSnapshotNameLen bounds a snapshot's name; MaxSnapshotDescLen its description.
const (
	MaxSnapshotNameLen = 64
	MaxSnapshotDescLen = 1000
)

// ValidateSnapshotName checks a snapshot name with the portable-name rule.
func ValidateSnapshotName(name string) error {
	return validateIdent("snapshot", name, MaxSnapshotNameLen)
}

// snapshotCaps decides what snapshots d (running or not) allows here.
func (m *Manager) snapshotCaps(d *libvirtxml.Domain, running bool) api.SnapshotCaps {
	if m.isTestDriver() {
		return api.SnapshotCaps{Create: true, Note: "test_driver"}
	}
	return snapshotCapsOf(d, running)
}

// snapshotCapsOf is what QEMU with this host's libvirt allows d.
func snapshotCapsOf(d *libvirtxml.Domain, running bool) api.SnapshotCaps {
	refuse := func(code fault.Code, msg string) api.SnapshotCaps {
		return api.SnapshotCaps{Reason: code.Name, Message: msg}
	}
	if d.OS != nil && (d.OS.Firmware == "efi" || (d.OS.Loader != nil && d.OS.Loader.Type == "pflash")) {
		return refuse(CodeSnapshotUEFI, "this host's libvirt takes no internal snapshot of a guest with UEFI (pflash) firmware, and cannot revert external ones")
	}
	qcow2 := 0
	if d.Devices != nil {
		for _, disk := range d.Devices.Disks {
			if disk.Device == "cdrom" || disk.Device == "floppy" || disk.ReadOnly != nil || disk.Source == nil {
				continue // QEMU skips read-only and empty drives
			}
			format := ""
			if disk.Driver != nil {
				format = disk.Driver.Type
			}
			if format != "qcow2" {
				target := ""
				if disk.Target != nil {
					target = disk.Target.Dev
				}
				if format == "" {
					format = "raw"
				}
				return refuse(CodeSnapshotDiskFormat, "disk "+target+" is "+format+": internal snapshots need qcow2 disks, and this host's libvirt cannot revert external ones")
			}
			qcow2++
		}
	}
	if running && qcow2 == 0 {
		return refuse(CodeSnapshotNoDisk, "a running guest's snapshot keeps its memory in a qcow2 disk, and this guest has none")
	}
	return api.SnapshotCaps{Create: true, Memory: running, MemoryRequired: running}
}

// snapshotRefusal turns caps into the error of a refused create.
func snapshotRefusal(c api.SnapshotCaps) error {
	for _, code := range []fault.Code{CodeSnapshotUEFI, CodeSnapshotDiskFormat, CodeSnapshotNoDisk} {
		if code.Name == c.Reason {
			return code.New("%s", c.Message)
		}
	}
	return CodeSnapshotFailed.New("%s", c.Message)
}

// Snapshots lists a guest's snapshots as a tree (parents first) with the
// current one marked and what a new one may be.
func (m *Manager) Snapshots(ctx context.Context, name string) (api.SnapshotList, error) {
	g, err := m.openGuest(ctx, name)
	if err != nil {
		return api.SnapshotList{}, err
	}
	defer g.close()
	out := api.SnapshotList{Items: []api.Snapshot{}, Capabilities: m.snapshotCaps(g.cfg, g.active)}
	snaps, err := g.dom.ListAllSnapshots(0)
	if err != nil {
		return out, m.fail("list snapshots", name, err)
	}
	byName := map[string]*api.Snapshot{}
	var all []api.Snapshot
	for _, sn := range snaps {
		s, err := snapshotOf(&sn)
		_ = sn.Free()
		if err != nil {
			return out, m.fail("read snapshot", name, err)
		}
		all = append(all, s)
	}
	// Oldest first (then by name: the creation time has seconds only), so
	// that a depth-first walk from the roots puts parents before children.
	slices.SortFunc(all, func(a, b api.Snapshot) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	for i := range all {
		byName[all[i].Name] = &all[i]
		if all[i].Current {
			out.Current = all[i].Name
		}
	}
	for _, s := range all {
		if p := byName[s.Parent]; p != nil {
			p.Children = append(p.Children, s.Name)
		}
	}
	var walk func(s *api.Snapshot)
	seen := map[string]bool{}
	walk = func(s *api.Snapshot) {
		if seen[s.Name] {
			return
		}
		seen[s.Name] = true
		slices.SortFunc(s.Children, func(a, b string) int {
			if c := byName[a].Created.Compare(byName[b].Created); c != 0 {
				return c
			}
			return strings.Compare(a, b)
		})
		out.Items = append(out.Items, *s)
		for _, c := range s.Children {
			walk(byName[c])
		}
	}
	for i := range all {
		if byName[all[i].Parent] == nil {
			walk(byName[all[i].Name])
		}
	}
	for i := range out.Items {
		out.Items[i].Children = append([]string{}, byName[out.Items[i].Name].Children...)
	}
	return out, nil
}

// snapshotOf reads one snapshot's summary.
func snapshotOf(sn *libvirt.DomainSnapshot) (api.Snapshot, error) {
	doc, err := sn.GetXMLDesc(0)
	if err != nil {
		return api.Snapshot{}, err
	}
	var x libvirtxml.DomainSnapshot
	if err := x.Unmarshal(doc); err != nil {
		return api.Snapshot{}, err
	}
	s := api.Snapshot{Name: x.Name, Description: x.Description, State: x.State, Children: []string{}, Kind: "internal"}
	if x.Parent != nil {
		s.Parent = x.Parent.Name
	}
	if sec, err := strconv.ParseInt(x.CreationTime, 10, 64); err == nil {
		s.Created = time.Unix(sec, 0).UTC()
	}
	switch {
	case x.Memory != nil:
		s.Memory = x.Memory.Snapshot == "internal" || x.Memory.Snapshot == "external"
		if x.Memory.Snapshot == "external" {
			s.Kind = "external"
		}
	default:
		s.Memory = x.State == "running" || x.State == "paused"
	}
	if x.State == "disk-snapshot" {
		s.Kind = "external"
	}
	if x.Disks != nil {
		for _, d := range x.Disks.Disks {
			if d.Snapshot == "external" {
				s.Kind = "external"
			}
		}
	}
	s.Current, _ = sn.IsCurrent(0)
	return s, nil
}

// CheckSnapshot validates a create request against the guest as it is
// now, so a refusal is an answer and not a failed task.
func (m *Manager) CheckSnapshot(ctx context.Context, name string, req api.SnapshotRequest) error {
	if err := ValidateSnapshotName(req.Name); err != nil {
		return err
	}
	if len(req.Description) > MaxSnapshotDescLen || !utf8.ValidString(req.Description) || strings.ContainsRune(req.Description, 0) {
		return CodeInvalidDescription.New("a description is at most %d bytes of text", MaxSnapshotDescLen)
	}
	g, err := m.openGuest(ctx, name)
	if err != nil {
		return err
	}
	defer g.close()
	if sn, err := g.dom.SnapshotLookupByName(req.Name, 0); err == nil {
		_ = sn.Free()
		return CodeSnapshotExists.New("guest %q already has a snapshot named %q", name, req.Name)
	}
	caps := m.snapshotCaps(g.cfg, g.active)
	switch {
	case !caps.Create:
		return snapshotRefusal(caps)
	case req.Memory != nil && *req.Memory && !g.active:
		return CodeSnapshotNoMemory.New("guest %q is shut off: there is no memory to keep", name)
	case req.Memory != nil && !*req.Memory && caps.MemoryRequired:
		return CodeSnapshotNeedsMemory.New("a running guest's snapshot includes its memory on this host; shut the guest off for a disk-only one")
	}
	return nil
}

// CreateSnapshot takes an internal snapshot (with the memory of a running guest).
func (m *Manager) CreateSnapshot(ctx context.Context, name string, req api.SnapshotRequest) error {
	if err := m.CheckSnapshot(ctx, name, req); err != nil {
		return err
	}
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return err
	}
	defer release(c)
	defer dom.Free()
	doc, err := (&libvirtxml.DomainSnapshot{Name: req.Name, Description: req.Description}).Marshal()
	if err != nil {
		return fault.Internalf(err)
	}
	sn, err := dom.CreateSnapshotXML(doc, libvirt.DOMAIN_SNAPSHOT_CREATE_VALIDATE)
	if err != nil && isUnsupportedFlags(err) && libvirtCode(err) != libvirt.ERR_OPERATION_UNSUPPORTED {
		sn, err = dom.CreateSnapshotXML(doc, 0)
	}
	if err != nil {
		return m.snapshotFail("create snapshot", name, err)
	}
	_ = sn.Free()
	return nil
}

// snapshotOn finds a guest's snapshot; the caller frees both.
func (m *Manager) snapshotOn(ctx context.Context, name, snap string) (*libvirt.Connect, *libvirt.Domain, *libvirt.DomainSnapshot, error) {
	if err := ValidateSnapshotName(snap); err != nil {
		return nil, nil, nil, err
	}
	c, dom, err := m.lookup(ctx, name)
	if err != nil {
		return nil, nil, nil, err
	}
	sn, err := dom.SnapshotLookupByName(snap, 0)
	if err != nil {
		_ = dom.Free()
		release(c)
		if libvirtCode(err) == libvirt.ERR_NO_DOMAIN_SNAPSHOT {
			return nil, nil, nil, CodeSnapshotNotFound.New("guest %q has no snapshot %q", name, snap)
		}
		return nil, nil, nil, m.fail("look up snapshot", name, err)
	}
	return c, dom, sn, nil
}

// RevertSnapshot returns the guest to a snapshot: its disks, and for a
// snapshot with memory the running guest as it was.
func (m *Manager) RevertSnapshot(ctx context.Context, name, snap string) (api.VM, error) {
	c, dom, sn, err := m.snapshotOn(ctx, name, snap)
	if err != nil {
		return api.VM{}, err
	}
	defer release(c)
	defer dom.Free()
	defer sn.Free()
	if s, err := snapshotOf(sn); err == nil && s.Kind == "external" {
		return api.VM{}, CodeSnapshotExternal.New("this host's libvirt cannot revert to the external snapshot %q", snap)
	}
	if err := sn.RevertToSnapshot(0); err != nil {
		if libvirtCode(err) != libvirt.ERR_SNAPSHOT_REVERT_RISKY {
			return api.VM{}, m.snapshotFail("revert snapshot", name, err)
		}
		// Risky: the guest's current configuration differs in a way QEMU
		// cannot carry over live; the user confirmed the revert.
		if err := sn.RevertToSnapshot(libvirt.DOMAIN_SNAPSHOT_REVERT_FORCE); err != nil {
			return api.VM{}, m.snapshotFail("revert snapshot", name, err)
		}
	}
	if err := m.refreshDom(dom, name, refreshFull); err != nil {
		m.log.Warn("refresh after a revert failed", "guest", name, "err", err)
	}
	vm, _, _ := m.vm(name)
	return vm, nil
}

// DeleteSnapshot deletes one snapshot; libvirt re-parents its children.
func (m *Manager) DeleteSnapshot(ctx context.Context, name, snap string) error {
	c, dom, sn, err := m.snapshotOn(ctx, name, snap)
	if err != nil {
		return err
	}
	defer release(c)
	defer dom.Free()
	defer sn.Free()
	if s, err := snapshotOf(sn); err == nil && s.Kind == "external" {
		return CodeSnapshotExternal.New("this host's libvirt cannot delete the external snapshot %q (only its metadata)", snap)
	}
	if err := sn.Delete(0); err != nil {
		return m.snapshotFail("delete snapshot", name, err)
	}
	return nil
}

// DeleteSnapshotIfAny is the undo of a create: a snapshot already gone is success.
func (m *Manager) DeleteSnapshotIfAny(ctx context.Context, name, snap string) error {
	err := m.DeleteSnapshot(context.WithoutCancel(ctx), name, snap)
	if fault.Is(err, CodeSnapshotNotFound) || fault.Is(err, CodeGuestNotFound) {
		return nil
	}
	return err
}

// snapshotFail keeps libvirt's reason for a refused snapshot operation.
func (m *Manager) snapshotFail(op, name string, err error) error {
	switch libvirtCode(err) {
	case libvirt.ERR_OPERATION_UNSUPPORTED, libvirt.ERR_CONFIG_UNSUPPORTED, libvirt.ERR_OPERATION_FAILED,
		libvirt.ERR_SNAPSHOT_REVERT_RISKY, libvirt.ERR_INVALID_ARG:
		return CodeSnapshotFailed.Wrap(err, "%s", libvirtMessage(err))
	}
	return m.fail(op, name, err)
}
