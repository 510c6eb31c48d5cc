// Package vmdisks edits a guest's disks and CD-ROM drives: attach a pool
// volume, a new volume (a task: the volume is recorded before it is made
// and deleted should the attach fail) or, for administrators, a host path
// inside the configured roots; detach; insert and eject CD-ROM media.
// Which pools a caller may use is decided by the caller (handlers) and
// handed in.
package vmdisks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// KindAttachNew attaches a new volume to a guest.
const KindAttachNew = "vm.disk.attach"

// ResourceVolume is a new disk's volume, recorded before it is made;
// ident "pool/volume".
const ResourceVolume = "vm.disk.volume"

// Codes of disk requests.
var (
	CodeDiskSource      = fault.Define("disk_source", fault.Unprocessable)
	CodePoolNotAllowed  = fault.Define("pool_not_allowed", fault.Forbidden)
	CodeWrongHost       = fault.Define("vmdisks_wrong_host", fault.Unavailable)
	CodeMediaNotISO     = fault.Define("media_not_iso", fault.Unprocessable)
	CodeDeleteNotOwnVol = fault.Define("volume_delete_forbidden", fault.Forbidden)
)

// Host is what disk edits need of a host; *virt.Manager is one.
type Host interface {
	GuestDisks(ctx context.Context, name string) (api.GuestDiskList, error)
	AttachDisk(ctx context.Context, name string, spec virt.DiskSpec) (api.DiskChange, error)
	DetachDisk(ctx context.Context, name, target string, deleteVolume bool) (api.DiskChange, error)
	ChangeMedia(ctx context.Context, name, target, pool, volume string) (api.DiskChange, error)
	CheckDisk(ctx context.Context, name string, spec virt.DiskSpec) error
	ListPools(ctx context.Context) ([]api.Pool, error)
	ListVolumes(ctx context.Context, pool string) ([]api.Volume, error)
	Volume(ctx context.Context, pool, name string) (api.Volume, error)
	CreateVolume(ctx context.Context, pool string, req api.VolumeRequest) (api.Volume, error)
	DeleteVolume(ctx context.Context, ident string) error
	ListISOs(ctx context.Context) (api.ISOList, error)
}

// Caller is who asks, as far as disks care.
type Caller struct {
	// HostPaths: may name host paths (administrators).
	HostPaths bool
	// Pools the caller may take volumes from; nil: any.
	Pools []string
}

func (c Caller) mayUse(pool string) bool { return c.Pools == nil || slices.Contains(c.Pools, pool) }

type attachArgs struct {
	Guest string
	Spec  virt.DiskSpec
	Vol   api.VolumeRequest
	Pool  string
}

// Service edits the disks of one host's guests.
type Service struct {
	h      Host
	host   string
	roots  []string
	attach *tasks.Kind[attachArgs]
}

// New returns the service of host h; roots are the folders administrators
// may attach host paths from (none: host paths are refused).
func New(r *tasks.Runner, host string, h Host, roots []string) *Service {
	s := &Service{h: h, host: host, roots: slices.Clone(roots)}
	r.RegisterCleaner(ResourceVolume, func(ctx context.Context, rec store.TaskResource) error {
		if rec.Host != s.host {
			return CodeWrongHost.New("host %q is not managed here", rec.Host)
		}
		return h.DeleteVolume(ctx, rec.Ident)
	})
	s.attach = tasks.Register(r, KindAttachNew, s.attachSteps)
	return s
}

// HostPathsAllowed reports whether any host path root is configured.
func (s *Service) HostPathsAllowed() bool { return len(s.roots) > 0 }

// List is the guest's disks and CD-ROM drives.
func (s *Service) List(ctx context.Context, name string) (api.GuestDiskList, error) {
	return s.h.GuestDisks(ctx, name)
}

// Attach attaches what req names. A new volume makes it a task (the
// Info); otherwise the change is made at once.
func (s *Service) Attach(ctx context.Context, owner, name string, who Caller, req api.DiskAttach) (*api.DiskChange, *tasks.Info, error) {
	spec := virt.DiskSpec{Device: req.Device, Bus: req.Bus, Target: req.Target, ReadOnly: req.ReadOnly}
	n := 0
	for _, set := range []bool{req.Pool != "" || req.Volume != "", req.NewVolume != nil, req.Path != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return nil, nil, CodeDiskSource.New("name one source: pool and volume, new_volume, or path")
	}
	if n == 0 && req.Device != api.DeviceCDROM {
		return nil, nil, CodeDiskSource.New("a disk needs a source: pool and volume, new_volume, or path")
	}
	switch {
	case req.Path != "":
		if !who.HostPaths {
			return nil, nil, CodeHostPathForbidden.New("only administrators attach host paths; choose a pool volume")
		}
		p, format, err := CheckHostPath(s.roots, req.Path)
		if err != nil {
			return nil, nil, err
		}
		spec.Path, spec.Format = p, format
	case req.NewVolume != nil:
		if req.Device == api.DeviceCDROM {
			return nil, nil, CodeDiskSource.New("a CD-ROM takes an ISO volume, not a new one")
		}
		in, err := s.submitNew(ctx, owner, name, who, spec, *req.NewVolume)
		return nil, in, err
	case n == 1:
		if req.Pool == "" || req.Volume == "" {
			return nil, nil, CodeDiskSource.New("name both the pool and the volume")
		}
		if !who.mayUse(req.Pool) {
			return nil, nil, CodePoolNotAllowed.New("you may not use volumes of pool %q for this guest", req.Pool)
		}
		if err := s.checkShared(ctx, name, who, req.Pool, req.Volume, req.Device == api.DeviceCDROM); err != nil {
			return nil, nil, err
		}
		spec.Pool, spec.Volume = req.Pool, req.Volume
	}
	ch, err := s.h.AttachDisk(ctx, name, spec)
	if err != nil {
		return nil, nil, err
	}
	return &ch, nil, nil
}

// submitNew checks a new volume's request and queues its creation and attach.
func (s *Service) submitNew(ctx context.Context, owner, name string, who Caller, spec virt.DiskSpec, nv api.NewDiskVolume) (*tasks.Info, error) {
	if nv.Pool == "" {
		return nil, CodeDiskSource.New("new_volume needs a pool")
	}
	if !who.mayUse(nv.Pool) {
		return nil, CodePoolNotAllowed.New("you may not make volumes in pool %q for this guest", nv.Pool)
	}
	req := api.VolumeRequest{Name: nv.Name, Capacity: nv.Capacity, Format: nv.Format}
	if req.Format == "" {
		req.Format = "qcow2"
	}
	if req.Name == "" {
		req.Name = s.freeName(ctx, nv.Pool, name, req.Format)
	}
	if err := virt.CheckVolumeRequest(&req); err != nil {
		return nil, err
	}
	p, err := s.poolOf(ctx, nv.Pool)
	if err != nil {
		return nil, err
	}
	if p.State != api.PoolRunning {
		return nil, virt.CodePoolInactive.New("pool %q is not running", nv.Pool)
	}
	if _, err := s.h.Volume(ctx, nv.Pool, req.Name); err == nil {
		return nil, virt.CodeVolumeExists.New("pool %q already has a volume %q", nv.Pool, req.Name)
	} else if !fault.Is(err, virt.CodeVolumeNotFound) {
		return nil, err
	}
	// The disk is checked now, so that a refusal is an answer, not a failed task.
	spec.Device = api.DeviceDisk
	if err := s.h.CheckDisk(ctx, name, spec); err != nil {
		return nil, err
	}
	in, err := s.attach.Submit(ctx, tasks.Spec{Owner: owner, Host: s.host, Target: "vm:" + name},
		attachArgs{Guest: name, Spec: spec, Vol: req, Pool: nv.Pool})
	if err != nil {
		return nil, err
	}
	return &in, nil
}

func (s *Service) poolOf(ctx context.Context, name string) (api.Pool, error) {
	ps, err := s.h.ListPools(ctx)
	if err != nil {
		return api.Pool{}, err
	}
	for _, p := range ps {
		if p.Name == name {
			return p, nil
		}
	}
	return api.Pool{}, virt.CodePoolNotFound.New("pool %q not found", name)
}

// freeName is "<guest>-diskN.<ext>" with the first N the pool lacks.
func (s *Service) freeName(ctx context.Context, pool, guest, format string) string {
	ext := ".qcow2"
	if format == "raw" {
		ext = ".img"
	}
	for i := 1; i < 100; i++ {
		n := fmt.Sprintf("%s-disk%d%s", guest, i, ext)
		if _, err := s.h.Volume(ctx, pool, n); fault.Is(err, virt.CodeVolumeNotFound) {
			return n
		}
	}
	return guest + "-disk" + ext
}

// attachSteps records the volume, makes it, and attaches it; a failed
// attach (or a cancel) deletes the volume again.
func (s *Service) attachSteps(ctx context.Context, t *tasks.T, a attachArgs) error {
	ident := a.Pool + "/" + a.Vol.Name
	t.Progress(0, "recording the volume")
	if err := t.Record(ctx, ResourceVolume, ident); err != nil {
		return err
	}
	t.Progress(20, "creating volume "+ident)
	err := t.Step(ctx, "create volume", func(ctx context.Context) (tasks.Undo, error) {
		if _, err := s.h.CreateVolume(ctx, a.Pool, a.Vol); err != nil {
			if fault.Is(err, virt.CodeVolumeExists) {
				// Someone else's volume: never let the cleaner near it.
				_ = t.Forget(context.WithoutCancel(ctx))
			}
			return nil, err
		}
		return func(ctx context.Context) error { return s.h.DeleteVolume(ctx, ident) }, nil
	})
	if err != nil {
		return err
	}
	t.Progress(70, "attaching "+ident+" to "+a.Guest)
	spec := a.Spec
	spec.Pool, spec.Volume = a.Pool, a.Vol.Name
	ch, err := s.h.AttachDisk(ctx, a.Guest, spec)
	if err != nil {
		return err
	}
	t.SetResult("vm:" + a.Guest)
	msg := "attached as " + ch.Disk.Target
	if ch.Applies == api.AppliesNextBoot {
		msg += " (applies at next boot)"
	}
	t.Progress(100, msg)
	return nil
}

// checkShared keeps one tenant out of another's data. Pools are shared
// (a pool holds every guest's disks), so a caller who is no administrator
// may attach only volumes no other guest uses, and insert only ISO images
// (the library is shared content by intent; libvirt's own probe says ISO,
// not a name ending in .iso). Administrators are held back only from a
// second writer (virt checks that) and from media that are no ISO.
func (s *Service) checkShared(ctx context.Context, name string, who Caller, pool, volume string, media bool) error {
	v, err := s.h.Volume(ctx, pool, volume)
	if err != nil {
		return err
	}
	admin := who.Pools == nil
	if media {
		if v.Format == "iso" || (admin && strings.HasSuffix(strings.ToLower(v.Name), ".iso")) {
			return nil
		}
		return CodeMediaNotISO.New("volume %s/%s is not an ISO image", pool, volume)
	}
	if !admin && slices.ContainsFunc(v.UsedBy, func(g string) bool { return g != name }) {
		return virt.CodeVolumeInUse.New("volume %s/%s is a disk of another guest", pool, volume)
	}
	return nil
}

// Detach removes the drive of target; deleting its volume needs the
// volume's pool to be one the caller may use.
func (s *Service) Detach(ctx context.Context, name, target string, who Caller, deleteVolume bool) (api.DiskChange, error) {
	if deleteVolume && who.Pools != nil {
		l, err := s.h.GuestDisks(ctx, name)
		if err != nil {
			return api.DiskChange{}, err
		}
		for _, d := range l.Items {
			if d.Target == target && d.Volume != "" && !who.mayUse(d.Pool) {
				return api.DiskChange{}, CodeDeleteNotOwnVol.New("you may not delete volumes of pool %q: detach without deleting", d.Pool)
			}
		}
	}
	return s.h.DetachDisk(ctx, name, target, deleteVolume)
}

// Media inserts the ISO m names (nil: ejects) into the drive of target.
func (s *Service) Media(ctx context.Context, name, target string, who Caller, m *api.DiskMedia) (api.DiskChange, error) {
	if m == nil {
		return s.h.ChangeMedia(ctx, name, target, "", "")
	}
	if m.Pool == "" || m.Volume == "" {
		return api.DiskChange{}, CodeDiskSource.New("name both the pool and the ISO volume")
	}
	if !who.mayUse(m.Pool) {
		return api.DiskChange{}, CodePoolNotAllowed.New("you may not use volumes of pool %q for this guest", m.Pool)
	}
	if err := s.checkShared(ctx, name, who, m.Pool, m.Volume, true); err != nil {
		return api.DiskChange{}, err
	}
	return s.h.ChangeMedia(ctx, name, target, m.Pool, m.Volume)
}

// Choices are the pools the caller may use for a guest and their disk
// volumes, or (iso) the ISO library within them.
func (s *Service) Choices(ctx context.Context, who Caller, iso bool) (api.DiskVolumeChoices, error) {
	out := api.DiskVolumeChoices{Pools: []api.Pool{}, Volumes: []api.Volume{}, ISOs: []api.ISO{}}
	ps, err := s.h.ListPools(ctx)
	if err != nil {
		return out, err
	}
	for _, p := range ps {
		if who.mayUse(p.Name) && p.State == api.PoolRunning {
			out.Pools = append(out.Pools, api.Pool{Name: p.Name, Type: p.Type, State: p.State, Available: p.Available, Capacity: p.Capacity})
		}
	}
	if iso {
		l, err := s.h.ListISOs(ctx)
		if err != nil {
			return out, err
		}
		for _, x := range l.Items {
			if who.mayUse(x.Pool) {
				out.ISOs = append(out.ISOs, x)
			}
		}
		return out, nil
	}
	for _, p := range out.Pools {
		vs, err := s.h.ListVolumes(ctx, p.Name)
		if err != nil {
			if fault.IsKind(err, fault.NotFound) || fault.IsKind(err, fault.Conflict) {
				continue // gone or stopped meanwhile
			}
			return out, err
		}
		for _, v := range vs {
			if v.Format == "iso" || strings.HasSuffix(strings.ToLower(v.Name), ".iso") {
				continue
			}
			if who.Pools != nil {
				// Others' disks are neither offered nor named.
				if len(v.UsedBy) > 0 {
					continue
				}
				v.UsedBy = []string{}
			}
			out.Volumes = append(out.Volumes, v)
		}
	}
	return out, nil
}
