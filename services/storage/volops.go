// Volume operations as tasks: clone (within or across pools) and wipe.
// A copy is recorded before libvirt starts it, so a failure, a cancel
// or a crash of the portal leaves no partial volume.

package storage

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// The kinds of volume operations.
const (
	KindCloneVolume   = "volume.clone"
	KindWipeVolume    = "volume.wipe"
	KindVolumeFromURL = "volume.from_url"
)

// ResourceVolumeCopy records a volume libvirt fills (a clone, a
// download); ident "pool/volume". Its cleaner waits while libvirt still
// fills it, which a clone does on its own after the portal died.
const ResourceVolumeCopy = "storage.volume.copy"

// OpsHost is what volume operations need of a host; *virt.Manager is one.
type OpsHost interface {
	Volume(ctx context.Context, pool, name string) (api.Volume, error)
	Pool(ctx context.Context, name string) (api.Pool, error)
	CheckClone(ctx context.Context, req virt.CloneRequest) (virt.CloneCheck, error)
	CloneVolume(ctx context.Context, req virt.CloneRequest, progress func(done uint64)) (api.Volume, error)
	CheckWipe(ctx context.Context, pool, name string) error
	WipeVolume(ctx context.Context, pool, name string) error
	CreateVolume(ctx context.Context, pool string, req api.VolumeRequest) (api.Volume, error)
	FillVolume(ctx context.Context, pool, name string, r io.Reader, length uint64, progress func(done uint64)) error
	DeleteBuiltVolume(ctx context.Context, ident string) error
	// WaitReady waits until the host's libvirt connection is up.
	WaitReady(ctx context.Context) error
	// CheckImageSafe refuses an image whose header names other files.
	CheckImageSafe(ctx context.Context, pool, name string) error
}

// OpsOptions tune volume operations.
type OpsOptions struct {
	// URLMaxSize bounds a download from a URL; 0: 64 GiB.
	URLMaxSize uint64
	// URLAllow lists networks downloads may reach although they are
	// loopback, private or link-local (none by default).
	URLAllow []netip.Prefix
}

// Ops runs the volume operations of one host.
type Ops struct {
	s     *Service // for its claims on names being made
	h     OpsHost
	host  string
	opt   OpsOptions
	guard urlGuard
	web   *http.Client // the guarded client of downloads

	clone   *tasks.Kind[cloneArgs]
	wipe    *tasks.Kind[wipeArgs]
	fromURL *tasks.Kind[fromURLArgs]
}

type cloneArgs struct {
	Req  virt.CloneRequest
	Need uint64
}

type wipeArgs struct{ Pool, Name string }

// NewOps registers the volume operation kinds and the cleaner of copies
// on r; s is the host's storage service (whose claims on names it shares).
func NewOps(r *tasks.Runner, s *Service, host string, h OpsHost, opt OpsOptions) *Ops {
	if opt.URLMaxSize == 0 {
		opt.URLMaxSize = 64 << 30
	}
	o := &Ops{s: s, h: h, host: host, opt: opt, guard: urlGuard{allow: opt.URLAllow}}
	o.web = o.guard.client()
	r.RegisterCleaner(ResourceVolumeCopy, func(ctx context.Context, rec store.TaskResource) error {
		if rec.Host != host {
			return CodeWrongHost.New("host %q is not managed here", rec.Host)
		}
		// At start libvirt may not be connected yet, and may still be
		// filling the copy the killed process asked for: wait, then delete.
		wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := h.WaitReady(wctx); err != nil {
			return err
		}
		return h.DeleteBuiltVolume(ctx, rec.Ident)
	})
	o.clone = tasks.Register(r, KindCloneVolume, o.cloneSteps)
	o.wipe = tasks.Register(r, KindWipeVolume, o.wipeSteps)
	o.fromURL = tasks.Register(r, KindVolumeFromURL, o.fromURLSteps)
	return o
}

// SubmitClone checks the clone (names, source not written by a running
// guest, target pool running, name free, space) and submits it: every
// refusal is an immediate answer and nothing is created.
func (o *Ops) SubmitClone(ctx context.Context, owner, pool, name string, req api.VolumeClone) (tasks.Info, error) {
	cr := virt.CloneRequest{Pool: pool, Name: name, TargetPool: req.Pool, NewName: req.Name, Format: req.Format}
	chk, err := o.h.CheckClone(ctx, cr)
	if err != nil {
		return tasks.Info{}, err
	}
	if cr.TargetPool == "" {
		cr.TargetPool = pool
	}
	return o.clone.Submit(ctx, tasks.Spec{Owner: owner, Host: o.host, Target: "volume:" + cr.TargetPool + "/" + cr.NewName},
		cloneArgs{Req: cr, Need: chk.Need})
}

// claimNew claims "pool/name" for this task and checks again that the
// name is free: it may have been taken while the task was queued, and a
// record of it would let the cleaner remove a volume the task never made.
func (o *Ops) claimNew(ctx context.Context, pool, name string) (release func(), err error) {
	ident := pool + "/" + name
	if !o.s.claim(ident) {
		return nil, CodeVolumeBusy.New("volume %q is being created by another task", ident)
	}
	switch _, err := o.h.Volume(ctx, pool, name); {
	case err == nil:
		o.s.unclaim(ident)
		return nil, virt.CodeVolumeExists.New("pool %q already has a volume %q", pool, name)
	case !fault.Is(err, virt.CodeVolumeNotFound):
		o.s.unclaim(ident)
		return nil, err
	}
	return func() { o.s.unclaim(ident) }, nil
}

// bytesProgress reports done of total as a percentage below 100 (the end
// says 100) with a readable message.
func bytesProgress(t *tasks.T, verb string, done, total uint64) {
	pct := 99
	if total > 0 && done < total {
		pct = int(done * 99 / total)
	}
	t.Progress(pct, fmt.Sprintf("%s %s of %s", verb, mib(done), mib(total)))
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// makeCopy records the new volume, then runs fill, whose undo (and the
// cleaner, after a crash) deletes it. A name libvirt says exists was not
// made by this task: its record is dropped so the cleaner leaves it.
func (o *Ops) makeCopy(ctx context.Context, t *tasks.T, pool, name string, fill func(ctx context.Context) error) error {
	ident := pool + "/" + name
	if err := t.Record(ctx, ResourceVolumeCopy, ident); err != nil {
		return err
	}
	return t.Step(ctx, "copy into "+ident, func(ctx context.Context) (tasks.Undo, error) {
		undo := func(ctx context.Context) error { return o.h.DeleteBuiltVolume(ctx, ident) }
		if err := fill(ctx); err != nil {
			if fault.Is(err, virt.CodeVolumeExists) {
				if ferr := t.Forget(context.WithoutCancel(ctx)); ferr != nil {
					return nil, fmt.Errorf("%w (and forgetting its record: %v)", err, ferr)
				}
				return nil, err
			}
			// Whatever was made is removed by the cleaner of the record.
			return nil, err
		}
		return undo, nil
	})
}

// cloneSteps copies the volume; cancel is noticed when libvirt's copy
// ends (it cannot be interrupted), and the copy is then deleted.
func (o *Ops) cloneSteps(ctx context.Context, t *tasks.T, a cloneArgs) error {
	release, err := o.claimNew(ctx, a.Req.TargetPool, a.Req.NewName)
	if err != nil {
		return err
	}
	defer release()
	ident := a.Req.TargetPool + "/" + a.Req.NewName
	t.Progress(0, "cloning "+a.Req.Pool+"/"+a.Req.Name+" to "+ident)
	err = o.makeCopy(ctx, t, a.Req.TargetPool, a.Req.NewName, func(ctx context.Context) error {
		_, err := o.h.CloneVolume(ctx, a.Req, func(done uint64) { bytesProgress(t, "copied", done, a.Need) })
		return err
	})
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err // cancelled while libvirt copied: the undo deletes the copy
	}
	t.SetResult("volume:" + ident)
	t.Progress(100, "cloned")
	return nil
}

// SubmitWipe checks that the driver can wipe and no running guest uses
// the volume, then submits the wipe.
func (o *Ops) SubmitWipe(ctx context.Context, owner, pool, name string) (tasks.Info, error) {
	if err := o.h.CheckWipe(ctx, pool, name); err != nil {
		return tasks.Info{}, err
	}
	return o.wipe.Submit(ctx, tasks.Spec{Owner: owner, Host: o.host, Target: "volume:" + pool + "/" + name}, wipeArgs{Pool: pool, Name: name})
}

// wipeSteps overwrites the volume with zeros. libvirt's wipe cannot be
// interrupted: a cancel ends the task once it returns (the volume may
// then be wiped in part or in whole; nothing can be restored).
func (o *Ops) wipeSteps(ctx context.Context, t *tasks.T, a wipeArgs) error {
	t.Progress(0, "wiping "+a.Pool+"/"+a.Name)
	if err := o.h.WipeVolume(ctx, a.Pool, a.Name); err != nil {
		return err
	}
	t.SetResult("volume:" + a.Pool + "/" + a.Name)
	t.Progress(100, "wiped")
	return nil
}
