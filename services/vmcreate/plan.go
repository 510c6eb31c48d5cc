// The plan of a creation: the template and overrides made into a guest
// spec, the volumes to create, and the cloud-init seed.

package vmcreate

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/virt"
	"github.com/virtportal/virtportal/virt/cidata"
)

// CodeBadOverride: an override the template cannot take.
var CodeBadOverride = fault.Define("vm_create_bad_override", fault.Unprocessable)

func (s *Service) plan(ctx context.Context, tm api.Template, name string, creator *api.Grant, req api.VMCreate) (Args, error) {
	typ, err := s.h.DomainType(ctx)
	if err != nil {
		return Args{}, err
	}
	spec := virt.GuestSpec{
		Name: name, Type: typ, Description: "from template " + tm.Name, OS: tm.OS,
		VCPUs: tm.VCPUs, MaxVCPUs: tm.MaxVCPUs, Topology: tm.Topology,
		MemoryMiB: tm.MemoryMiB, MaxMemMiB: tm.MaxMemoryMiB,
		Firmware: tm.Firmware, SecureBoot: tm.SecureBoot, Machine: tm.Machine,
		Graphics: tm.Graphics, Listen: tm.Listen, BootOrder: tm.BootOrder,
		// SeaBIOS's messages on the serial console too, where the portal's
		// serial console shows them (UEFI has no such switch).
		SerialBIOS: tm.Firmware != "uefi",
	}
	ci := tm.CloudInit
	if o := req.Overrides; o != nil {
		if o.VCPUs > 0 {
			spec.VCPUs = o.VCPUs
			if spec.MaxVCPUs < o.VCPUs {
				if spec.Topology != nil {
					return Args{}, CodeBadOverride.New("%d vCPUs is more than the template's topology allows (%d)", o.VCPUs, spec.MaxVCPUs).
						WithDetails([]fault.Detail{{Field: "overrides.vcpus", Message: fmt.Sprintf("at most %d", spec.MaxVCPUs)}})
				}
				spec.MaxVCPUs = o.VCPUs
			}
		}
		if o.MemoryMiB > 0 {
			spec.MemoryMiB = o.MemoryMiB
			spec.MaxMemMiB = max(spec.MaxMemMiB, o.MemoryMiB)
		}
		if o.CloudInit != nil {
			ci = o.CloudInit
		}
	}
	// The OS defaults: the bus and model the template's first disk and
	// NIC use (the templates service filled them from osinfo).
	for _, d := range tm.Disks {
		if d.Bus != "" {
			spec.DiskBus = d.Bus
			break
		}
	}
	for _, n := range tm.NICs {
		if n.Model != "" {
			spec.NICModel = n.Model
			break
		}
	}
	if spec.DiskBus == "ide" {
		spec.CDROMBus = "ide"
	}
	if creator != nil {
		spec.Grants = []api.Grant{*creator}
	}
	if len(spec.BootOrder) == 0 && tm.Source.Kind == api.SourceISO {
		spec.BootOrder = []string{"hd", "cdrom"}
	}

	var a Args
	for i, d := range tm.Disks {
		vol := name + ".qcow2"
		if i > 0 {
			vol = fmt.Sprintf("%s-disk%d.qcow2", name, i)
		}
		format := d.Format
		if format == "" {
			format = "qcow2"
		}
		if format == "raw" {
			vol = strings.TrimSuffix(vol, ".qcow2") + ".img"
		}
		nv := NewVolume{Pool: d.Pool, Name: vol, Size: d.Size, Format: format}
		if i == 0 && (tm.Source.Kind == api.SourceCloudImage || tm.Source.Kind == api.SourceDisk) {
			nv.From = tm.Source.Pool + "/" + tm.Source.Volume
			nv.Linked = tm.Source.Linked
			if nv.Linked {
				nv.Format = "qcow2"
			}
		}
		a.Volumes = append(a.Volumes, nv)
		spec.Disks = append(spec.Disks, virt.SpecDisk{Pool: d.Pool, Volume: vol, Format: nv.Format, Bus: d.Bus})
	}
	if tm.Source.Kind == api.SourceISO {
		spec.Disks = append(spec.Disks, virt.SpecDisk{Device: "cdrom", Pool: tm.Source.Pool, Volume: tm.Source.Volume})
	}
	if ci != nil && (tm.Source.Kind == api.SourceCloudImage || req.Overrides != nil && req.Overrides.CloudInit != nil) {
		seed, err := cidata.Build(*ci, hostname(ci.HostnamePattern, name), "iid-"+name)
		if err != nil {
			return Args{}, err
		}
		iso, err := seed.ISO()
		if err != nil {
			return Args{}, fault.Internalf(err)
		}
		pool := tm.Source.Pool
		if len(tm.Disks) > 0 {
			pool = tm.Disks[0].Pool
		}
		a.Seed, a.SeedVol = iso, pool+"/"+name+"-cidata.iso"
		spec.Disks = append(spec.Disks, virt.SpecDisk{Device: "cdrom", Pool: pool, Volume: name + "-cidata.iso"})
	}
	for _, n := range tm.NICs {
		// Placeholder MACs for validation; the task picks free ones.
		spec.NICs = append(spec.NICs, virt.SpecNIC{Network: n.Network, Model: n.Model, MAC: "52:54:00:00:00:01"})
	}
	if err := virt.ValidateSpec(&spec); err != nil {
		return Args{}, err
	}
	for i := range spec.NICs {
		spec.NICs[i].MAC = ""
	}
	a.Spec, a.Start = spec, req.Start
	return a, nil
}

// hostname is the pattern with {name} replaced by the guest's name (the
// guest's name when there is no pattern), kept to what a hostname allows.
func hostname(pattern, name string) string {
	h := name
	if pattern != "" {
		h = strings.ReplaceAll(pattern, "{name}", name)
	}
	var b strings.Builder
	for _, c := range strings.ToLower(h) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		case c == '.', c == '_':
			b.WriteRune('-')
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 63 {
		out = strings.TrimRight(out[:63], "-")
	}
	if out == "" {
		out = "guest"
	}
	return out
}

// steps makes the guest: volumes, seed, domain, start; each recorded
// before it is made and undone in reverse should a later step fail.
func (s *Service) steps(ctx context.Context, t *tasks.T, a Args) error {
	name := a.Spec.Name
	keys := a.keys()
	if a.claim == nil { // submitted without Submit (tests): hold the names now
		if a.claim = s.claim(keys...); a.claim == nil {
			return CodeGuestNameBusy.New("guest %q or one of its volumes is being created by another task", name)
		}
	}
	defer s.release(a.claim)
	// Checked again: the name or a volume may have been taken while the
	// task was queued, and a record of someone else's would let the
	// cleaner remove it.
	if ok, err := s.h.GuestExists(ctx, name); err != nil {
		return err
	} else if ok {
		return virt.CodeGuestExists.New("a guest named %q exists", name)
	}
	if a.Uses != "" {
		pool, vol, _ := strings.Cut(a.Uses, "/")
		v, err := s.h.Volume(ctx, pool, vol)
		if err != nil {
			return err
		}
		if len(v.UsedBy) > 0 {
			return virt.CodeVolumeInUse.New("volume %q is used by guest %s", a.Uses, strings.Join(v.UsedBy, ", "))
		}
	}
	for _, k := range a.made() {
		pool, vol, _ := strings.Cut(k, "/")
		if _, err := s.h.Volume(ctx, pool, vol); err == nil {
			return virt.CodeVolumeExists.New("pool %q already has a volume %q", pool, vol)
		} else if !fault.Is(err, virt.CodeVolumeNotFound) {
			return err
		}
	}
	steps := len(a.Volumes) + 3
	done := 0
	progress := func(msg string) {
		t.Progress(5+90*done/steps, msg)
		done++
	}
	for _, v := range a.Volumes {
		ident := v.Pool + "/" + v.Name
		progress("creating disk " + ident)
		if err := t.Record(ctx, ResourceVolume, ident); err != nil {
			return err
		}
		if err := t.Step(ctx, "volume "+ident, func(ctx context.Context) (tasks.Undo, error) {
			if err := s.makeVolume(ctx, t, v); err != nil {
				return nil, s.forgetIfTaken(ctx, t, err)
			}
			return func(ctx context.Context) error { return s.h.DeleteVolume(ctx, ident) }, nil
		}); err != nil {
			return err
		}
		if a.failAfter == "volume" {
			return fault.CodeConflict.New("failing on purpose after a volume")
		}
	}
	note := ""
	if a.SeedVol != "" {
		progress("writing the cloud-init seed")
		if err := t.Record(ctx, ResourceVolume, a.SeedVol); err != nil {
			return err
		}
		pool, vol, _ := strings.Cut(a.SeedVol, "/")
		if err := t.Step(ctx, "seed "+a.SeedVol, func(ctx context.Context) (tasks.Undo, error) {
			undo := func(ctx context.Context) error { return s.h.DeleteVolume(ctx, a.SeedVol) }
			if err := s.h.CreateUploadVolume(ctx, pool, vol, "raw", uint64(len(a.Seed))); err != nil {
				return nil, s.forgetIfTaken(ctx, t, err)
			}
			err := s.h.FillVolume(ctx, pool, vol, bytes.NewReader(a.Seed), uint64(len(a.Seed)), nil)
			if ErrIsWriteUnsupported(err) {
				note = "; the cloud-init seed volume is empty: this host's libvirt driver cannot write volume contents"
				return undo, nil
			}
			return undo, err
		}); err != nil {
			return err
		}
	}
	progress("defining the guest")
	macs, err := s.h.NewMACs(ctx, len(a.Spec.NICs))
	if err != nil {
		return err
	}
	spec := a.Spec
	spec.NICs = append([]virt.SpecNIC(nil), a.Spec.NICs...)
	for i := range spec.NICs {
		spec.NICs[i].MAC = macs[i]
	}
	dom, err := virt.BuildDomain(spec)
	if err != nil {
		return err
	}
	if err := t.Record(ctx, ResourceGuest, name); err != nil {
		return err
	}
	if err := t.Step(ctx, "define "+name, func(ctx context.Context) (tasks.Undo, error) {
		if err := s.h.DefineGuest(ctx, dom); err != nil {
			return nil, s.forgetIfTaken(ctx, t, err)
		}
		return func(ctx context.Context) error { return s.h.RemoveGuest(ctx, name) }, nil
	}); err != nil {
		return err
	}
	if a.failAfter == "define" {
		return fault.CodeConflict.New("failing on purpose after define")
	}
	if a.Start {
		progress("starting the guest")
		if err := t.Step(ctx, "start "+name, func(ctx context.Context) (tasks.Undo, error) {
			_, err := s.h.Action(ctx, name, "start")
			return nil, err
		}); err != nil {
			return err
		}
	}
	t.SetResult("vm:" + name)
	t.Progress(100, "created "+name+note)
	return nil
}

// forgetIfTaken drops the task's records when err says the thing was
// made by someone else meanwhile, so the cleaner never removes what this
// task did not make (the undos of earlier steps still remove those).
func (s *Service) forgetIfTaken(ctx context.Context, t *tasks.T, err error) error {
	if fault.Is(err, virt.CodeVolumeExists) || fault.Is(err, virt.CodeGuestExists) {
		if ferr := t.Forget(context.WithoutCancel(ctx)); ferr != nil {
			return fmt.Errorf("%w (and forgetting its records: %v)", err, ferr)
		}
	}
	return err
}

// makeVolume creates one disk: blank, a linked clone (qcow2 overlay on
// the image) or a full copy grown to the disk's size.
func (s *Service) makeVolume(ctx context.Context, t *tasks.T, v NewVolume) error {
	if v.From == "" {
		_, err := s.h.CreateVolume(ctx, v.Pool, api.VolumeRequest{Name: v.Name, Capacity: v.Size, Format: v.Format})
		return err
	}
	srcPool, srcVol, _ := strings.Cut(v.From, "/")
	if v.Linked {
		_, err := s.h.CreateOverlayVolume(ctx, v.Pool, v.Name, srcPool, srcVol, v.Size)
		return err
	}
	src, err := s.h.Volume(ctx, srcPool, srcVol)
	if err != nil {
		return err
	}
	out, err := s.h.CloneVolume(ctx, virt.CloneRequest{Pool: srcPool, Name: srcVol, TargetPool: v.Pool, NewName: v.Name, Format: v.Format}, func(done uint64) {
		if src.Allocation > 0 {
			t.Progress(5+int(40*min(done, src.Allocation)/src.Allocation), fmt.Sprintf("copying %s: %d of %d bytes", v.From, done, src.Allocation))
		}
	})
	if err != nil {
		return err
	}
	if v.Size > out.Capacity {
		_, err = s.h.ResizeVolume(ctx, v.Pool, v.Name, v.Size)
	}
	return err
}
