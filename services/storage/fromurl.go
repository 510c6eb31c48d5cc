// A volume downloaded from a URL: the body streamed into the volume
// through libvirt's upload stream, so any pool type and a remote host
// work and the portal stores nothing on its own disk.

package storage

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/services/tasks"
	"github.com/virtportal/virtportal/virt"
)

// CodeURLChanged: the file's size changed between the check and the download.
var CodeURLChanged = fault.Define("url_changed", fault.Conflict)

type fromURLArgs struct {
	Pool, Name, Format string
	URL                string
	Length             uint64
}

// probeTimeout bounds the check of a URL made before the task is submitted.
const probeTimeout = 30 * time.Second

// open requests the URL through the guarded client and checks the answer:
// 200, a declared length within the size limit.
func (o *Ops) open(ctx context.Context, raw string) (*http.Response, uint64, error) {
	u, err := o.guard.parseURL(raw)
	if err != nil {
		return nil, 0, err
	}
	if err := o.guard.resolveCheck(ctx, u); err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, CodeURLInvalid.New("not a URL that can be requested")
	}
	req.Header.Set("Accept-Encoding", "identity") // the length must be the file's
	res, err := o.web.Do(req)
	if err != nil {
		return nil, 0, fetchError(err)
	}
	fail := func(err error) (*http.Response, uint64, error) {
		_ = res.Body.Close()
		return nil, 0, err
	}
	if res.StatusCode != http.StatusOK {
		return fail(CodeURLStatus.New("the server answered %d %s", res.StatusCode, http.StatusText(res.StatusCode)))
	}
	if res.ContentLength <= 0 {
		return fail(CodeURLSizeUnknown.New("the server does not say how large the file is (no Content-Length); it cannot be checked against the pool's free space"))
	}
	n := uint64(res.ContentLength)
	if n > o.opt.URLMaxSize {
		return fail(CodeURLTooLarge.New("the file has %d bytes; the limit is %d", n, o.opt.URLMaxSize))
	}
	return res, n, nil
}

// fitsPool refuses a length beyond the pool's free space.
func (o *Ops) fitsPool(ctx context.Context, pool string, n uint64) error {
	p, err := o.h.Pool(ctx, pool)
	if err != nil {
		return err
	}
	if p.State != api.PoolRunning {
		return virt.CodePoolInactive.New("pool %q is not running; start it to download into it", pool)
	}
	if n > p.Available {
		return virt.CodeInsufficientSpace.New("pool %q has %d bytes free, the file has %d", pool, p.Available, n)
	}
	return nil
}

// SubmitFromURL checks the request, requests the URL once (following and
// checking redirects, reading its length, then closing it), checks the
// length against the limit and the pool, and submits the download.
func (o *Ops) SubmitFromURL(ctx context.Context, owner, pool string, req api.VolumeFromURL) (tasks.Info, error) {
	if err := virt.ValidatePoolName(pool); err != nil {
		return tasks.Info{}, err
	}
	if err := virt.ValidateVolumeName(req.Name); err != nil {
		return tasks.Info{}, err
	}
	if req.Format == "" {
		req.Format = "raw"
	}
	if !slices.Contains(virt.VolumeFormats, req.Format) {
		return tasks.Info{}, virt.CodeUnknownVolFormat.New("volume format must be one of %s", strings.Join(virt.VolumeFormats, ", "))
	}
	if _, err := o.guard.parseURL(req.URL); err != nil {
		return tasks.Info{}, err
	}
	switch _, err := o.h.Volume(ctx, pool, req.Name); {
	case err == nil:
		return tasks.Info{}, virt.CodeVolumeExists.New("pool %q already has a volume %q", pool, req.Name)
	case !fault.Is(err, virt.CodeVolumeNotFound):
		return tasks.Info{}, err
	}
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	res, n, err := o.open(pctx, req.URL)
	if err != nil {
		return tasks.Info{}, err
	}
	_ = res.Body.Close()
	if err := o.fitsPool(ctx, pool, n); err != nil {
		return tasks.Info{}, err
	}
	return o.fromURL.Submit(ctx, tasks.Spec{Owner: owner, Host: o.host, Target: "volume:" + pool + "/" + req.Name},
		fromURLArgs{Pool: pool, Name: req.Name, Format: req.Format, URL: req.URL, Length: n})
}

// fromURLSteps requests the URL again (each redirect checked again),
// records and creates the volume, and streams the body into it.
func (o *Ops) fromURLSteps(ctx context.Context, t *tasks.T, a fromURLArgs) error {
	release, err := o.claimNew(ctx, a.Pool, a.Name)
	if err != nil {
		return err
	}
	defer release()
	t.Progress(0, "requesting the file")
	res, n, err := o.open(ctx, a.URL)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if n != a.Length {
		return CodeURLChanged.New("the file had %d bytes when checked and has %d now", a.Length, n)
	}
	if err := o.fitsPool(ctx, a.Pool, n); err != nil {
		return err
	}
	err = o.makeCopy(ctx, t, a.Pool, a.Name, func(ctx context.Context) error {
		if _, err := o.h.CreateVolume(ctx, a.Pool, api.VolumeRequest{Name: a.Name, Capacity: n, Format: a.Format}); err != nil {
			return err
		}
		err := o.h.FillVolume(ctx, a.Pool, a.Name, res.Body, n, func(done uint64) { bytesProgress(t, "downloaded", done, n) })
		if err != nil && ctx.Err() == nil && fault.As(err) == nil {
			return fetchError(err) // the body broke off
		}
		if err != nil {
			return err
		}
		// An image from elsewhere that names files outside itself (a qcow2
		// backing file) is refused; the copy is deleted with the failure.
		return o.h.CheckImageSafe(ctx, a.Pool, a.Name)
	})
	if err != nil {
		return err
	}
	t.SetResult("volume:" + a.Pool + "/" + a.Name)
	t.Progress(100, "downloaded")
	return nil
}
