// Import: a guest around a volume that exists, used in place (the task
// undoes only the definition; the volume is never deleted).

package vmcreate

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/virt"
)

// Codes of imports.
var (
	// CodeImportFormat: the volume is neither a qcow2 or raw disk nor an ISO.
	CodeImportFormat = fault.Define("import_format", fault.Unprocessable)
	// CodeImportInvalid: vCPUs, memory or firmware this host cannot give.
	CodeImportInvalid = fault.Define("import_invalid", fault.Invalid)
)

// OSDefaults gives the devices an OS wants; the templates service is one.
type OSDefaults interface {
	Defaults(ctx context.Context, os string) (api.OSDefaults, error)
}

// SubmitPlanned queues a creation planned by Plan or PlanImport (after
// the caller's own checks, such as CheckPools).
func (s *Service) SubmitPlanned(ctx context.Context, owner string, a Args) (tasks.Info, string, error) {
	return s.submit(ctx, owner, a)
}

// PlanImport turns an import into the task's arguments, refusing a
// volume another guest uses, a bad or taken name, an unknown network.
func (s *Service) PlanImport(ctx context.Context, creator *api.Grant, req api.VMImport) (Args, error) {
	defs, ok := s.templates.(OSDefaults)
	if !ok {
		return Args{}, CodeNoTemplates.New("OS defaults are not available on this server")
	}
	if err := virt.ValidatePoolName(req.Pool); err != nil {
		return Args{}, err
	}
	if err := virt.ValidateVolumeName(req.Volume); err != nil {
		return Args{}, err
	}
	vol, err := s.h.Volume(ctx, req.Pool, req.Volume)
	if err != nil {
		return Args{}, err
	}
	ident := req.Pool + "/" + req.Volume
	if len(vol.UsedBy) > 0 {
		return Args{}, virt.CodeVolumeInUse.New("volume %q is used by guest %s", ident, strings.Join(vol.UsedBy, ", "))
	}
	iso := vol.Format == "iso" || strings.EqualFold(path.Ext(req.Volume), ".iso")
	if !iso && vol.Format != "qcow2" && vol.Format != "raw" {
		return Args{}, CodeImportFormat.New("volume %q is %q: a qcow2 or raw disk, or an ISO, can be imported", ident, vol.Format)
	}
	osID := req.OS
	if osID == "" && iso {
		// Detection reads the ISO's descriptor; disk images are not read.
		if vos, err := s.h.VolumeOS(ctx, req.Pool, req.Volume); err == nil && vos.OS != nil {
			osID = vos.OS.ID
		}
	}
	d, err := defs.Defaults(ctx, osID)
	if err != nil {
		return Args{}, err
	}
	name := req.Name
	if name == "" {
		// The volume's name when free, else <name>-N.
		base := strings.Trim(unsafeName.ReplaceAllString(strings.TrimSuffix(req.Volume, path.Ext(req.Volume)), "-"), "-._")
		taken := virt.ValidateName(base) != nil || s.isBusy(base)
		if !taken {
			if taken, err = s.h.GuestExists(ctx, base); err != nil {
				return Args{}, err
			}
		}
		name = base
		if taken {
			if name, err = s.freeName(ctx, base); err != nil {
				return Args{}, err
			}
		}
	} else {
		if err := virt.ValidateName(name); err != nil {
			return Args{}, err
		}
		if ok, err := s.h.GuestExists(ctx, name); err != nil {
			return Args{}, err
		} else if ok {
			return Args{}, virt.CodeGuestExists.New("a guest named %q exists", name)
		}
	}
	if req.Network != "" {
		if _, err := s.h.Network(ctx, req.Network); err != nil {
			return Args{}, err
		}
	}
	typ, err := s.h.DomainType(ctx)
	if err != nil {
		return Args{}, err
	}
	spec := virt.GuestSpec{
		Name: name, Type: typ, Description: "imported from " + ident, OS: d.OS,
		VCPUs: pick(req.VCPUs, max(d.VCPUs, 1)), MemoryMiB: pick(req.MemoryMiB, max(d.MemoryMiB, 512)),
		Firmware: pick(req.Firmware, d.Firmware), Machine: d.Machine,
		DiskBus: d.DiskBus, NICModel: d.NICModel, Graphics: "vnc",
	}
	if err := fitHost(&spec, req, d.Host); err != nil {
		return Args{}, err
	}
	spec.SecureBoot = spec.Firmware == "uefi" && d.SecureBoot
	spec.SerialBIOS = spec.Firmware != "uefi"
	if spec.DiskBus == "ide" {
		spec.CDROMBus = "ide"
	}
	if iso {
		spec.Disks = []virt.SpecDisk{{Device: "cdrom", Pool: req.Pool, Volume: req.Volume}}
		spec.BootOrder = []string{"cdrom"}
	} else {
		spec.Disks = []virt.SpecDisk{{Pool: req.Pool, Volume: req.Volume, Format: vol.Format}}
		spec.BootOrder = []string{"hd"}
	}
	if req.Network != "" {
		// A placeholder MAC for validation; the task picks a free one.
		spec.NICs = []virt.SpecNIC{{Network: req.Network, MAC: "52:54:00:00:00:01"}}
	}
	if creator != nil {
		spec.Grants = []api.Grant{*creator}
	}
	if err := virt.ValidateSpec(&spec); err != nil {
		return Args{}, err
	}
	for i := range spec.NICs {
		spec.NICs[i].MAC = ""
	}
	return Args{Spec: spec, Start: req.Start, Uses: ident}, nil
}

// CodePoolNotAllowed: a creator who is not an admin named a pool outside
// their realm's creator_pools.
var CodePoolNotAllowed = fault.Define("pool_not_allowed", fault.Forbidden)

// Pools are the pools the creation places or uses disks in, each once.
func (a Args) Pools() []string {
	var out []string
	for _, k := range append(a.made(), a.Uses) {
		if pool, _, ok := strings.Cut(k, "/"); ok && !slices.Contains(out, pool) {
			out = append(out, pool)
		}
	}
	return out
}

// CheckPools refuses a creation with a disk outside allowed (nil: any).
func CheckPools(a Args, allowed []string) error {
	if allowed == nil {
		return nil
	}
	for _, p := range a.Pools() {
		if !slices.Contains(allowed, p) {
			return CodePoolNotAllowed.New("creators may not place disks in pool %q", p).
				WithDetails([]fault.Detail{{Field: "pool:" + p, Message: "allowed pools: " + strings.Join(allowed, ", ")}})
		}
	}
	return nil
}

// fitHost refuses what the host cannot give; an OS's UEFI default falls
// back to BIOS where OVMF is missing (asked for, it is refused).
func fitHost(spec *virt.GuestSpec, req api.VMImport, l *api.HostLimits) error {
	if l == nil {
		return nil
	}
	var det []fault.Detail
	if l.MaxVCPUs > 0 && spec.VCPUs > l.MaxVCPUs {
		det = append(det, fault.Detail{Field: "vcpus", Message: fmt.Sprintf("at most %d on this host", l.MaxVCPUs)})
	}
	if l.MaxMemoryMiB > 0 && spec.MemoryMiB > l.MaxMemoryMiB {
		det = append(det, fault.Detail{Field: "memory_mib", Message: fmt.Sprintf("at most %d MiB on this host", l.MaxMemoryMiB)})
	}
	if spec.Firmware == "uefi" && !l.UEFI {
		if req.Firmware == "" {
			spec.Firmware = "bios"
		} else {
			det = append(det, fault.Detail{Field: "firmware", Message: "UEFI firmware (OVMF) is not installed on this host"})
		}
	}
	if len(det) > 0 {
		return CodeImportInvalid.New("%s: %s", det[0].Field, det[0].Message).WithDetails(det)
	}
	return nil
}

// pick is v, or def when v is the zero value.
func pick[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
