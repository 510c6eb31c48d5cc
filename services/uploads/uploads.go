// Package uploads holds resumable volume uploads (tus): creation with its
// size checks and space reservation, the per-upload lock, the writes into
// the volume through the host's upload stream, the record of progress in
// the store (so a resume works after a restart), and the expiry sweep that
// deletes abandoned partial volumes.
package uploads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// Codes of uploads.
var (
	CodeTooLarge   = fault.Define("upload_too_large", fault.TooLarge)
	CodeNoSpace    = fault.Define("upload_insufficient_space", fault.TooLarge)
	CodeNotFound   = store.CodeUploadNotFound
	CodeBusy       = fault.Define("upload_busy", fault.Conflict)
	CodeWrongPlace = fault.Define("upload_wrong_pool", fault.NotFound)
)

// Host is what the service needs of a host; *virt.Manager is one.
type Host interface {
	Pool(ctx context.Context, name string) (api.Pool, error)
	CreateUploadVolume(ctx context.Context, pool, name, format string, size uint64) error
	DeleteUploadVolume(ctx context.Context, pool, name string) error
	UploadVolume(ctx context.Context, pool, name string, offset, length uint64, src io.Reader) (int64, error)
	// CheckImageSafe refuses an image whose header names other files.
	CheckImageSafe(ctx context.Context, pool, name string) error
}

// Options configure the service.
type Options struct {
	MaxSize    int64         // largest upload; default 64 GiB
	Expiry     time.Duration // an upload untouched this long is deleted; default 24 h
	SweepEvery time.Duration // how often expired uploads are looked for; default Expiry/4, at most 10 min
	// Demo: the host's driver keeps no volume contents (libvirt's test
	// driver), so bytes are counted and dropped; the volume is still made.
	Demo bool
}

// Service is the uploads of one host.
type Service struct {
	host  string
	h     Host
	st    store.Uploads
	opt   Options
	log   *slog.Logger
	now   func() time.Time
	locks lockTable
	// create serialises creations, so that the space check and the
	// reservation it makes (the row) are one step: parallel creations
	// cannot together exceed a pool's free space.
	create sync.Mutex
}

// New returns the upload service of host h.
func New(host string, h Host, st store.Uploads, opt Options, log *slog.Logger) *Service {
	if opt.MaxSize <= 0 {
		opt.MaxSize = 64 << 30
	}
	if opt.Expiry <= 0 {
		opt.Expiry = 24 * time.Hour
	}
	if opt.SweepEvery <= 0 {
		opt.SweepEvery = min(opt.Expiry/4, 10*time.Minute)
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{host: host, h: h, st: st, opt: opt, log: log, now: time.Now, locks: lockTable{m: map[string]*idLock{}}}
}

// Host names the host the service uploads to.
func (s *Service) Host() string { return s.host }

// StoresContents reports whether bytes reach the volume (false in demo mode).
func (s *Service) StoresContents() bool { return !s.opt.Demo }

// MaxSize is the largest upload accepted.
func (s *Service) MaxSize() int64 { return s.opt.MaxSize }

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Create checks a creation request and makes the upload: the row (its
// record and reservation) first, then the volume, so that a crash between
// the two leaves a row the sweep clears, never an unrecorded volume.
func (s *Service) Create(ctx context.Context, pool, owner string, req Request) (store.Upload, error) {
	if err := virt.ValidateVolumeName(req.Name); err != nil {
		return store.Upload{}, err
	}
	if req.Size <= 0 {
		return store.Upload{}, CodeBadLength.New("an upload must have at least 1 byte")
	}
	if req.Size > s.opt.MaxSize {
		return store.Upload{}, CodeTooLarge.New("the upload is %d bytes; the most allowed is %d", req.Size, s.opt.MaxSize)
	}
	s.create.Lock()
	defer s.create.Unlock()
	p, err := s.h.Pool(ctx, pool)
	if err != nil {
		return store.Upload{}, err
	}
	if p.State != api.PoolRunning {
		return store.Upload{}, virt.CodePoolInactive.New("pool %q is not running; start it to upload into it", pool)
	}
	reserved, err := s.reserved(ctx, pool)
	if err != nil {
		return store.Upload{}, err
	}
	free := int64(p.Available) - reserved
	if req.Size > free {
		return store.Upload{}, CodeNoSpace.New("pool %q has %d bytes free for uploads; the upload is %d bytes", pool, max(free, 0), req.Size)
	}
	now := s.now().UTC()
	u := store.Upload{ID: newID(), Host: s.host, Pool: pool, Volume: req.Name, Format: ResolveFormat(req, p.Type),
		Size: req.Size, Owner: owner, Stored: !s.opt.Demo, Created: now, Updated: now, Expires: now.Add(s.opt.Expiry)}
	if err := s.st.CreateUpload(ctx, u); err != nil {
		return store.Upload{}, err
	}
	if err := s.h.CreateUploadVolume(ctx, pool, u.Volume, u.Format, uint64(u.Size)); err != nil {
		if derr := s.st.DeleteUpload(context.WithoutCancel(ctx), u.ID); derr != nil {
			s.log.Error("upload: remove the record of a volume not made", "upload", u.ID, "err", derr)
		}
		return store.Upload{}, err
	}
	return u, nil
}

// reserved is what the pool's unfinished uploads have yet to write.
func (s *Service) reserved(ctx context.Context, pool string) (int64, error) {
	us, err := s.st.ListUploads(ctx, s.host, "")
	if err != nil {
		return 0, err
	}
	var n int64
	for _, u := range us {
		if u.Pool == pool {
			n += u.Size - u.Offset
		}
	}
	return n, nil
}

// Get returns an upload of pool; one of another pool or host is not found.
func (s *Service) Get(ctx context.Context, pool, id string) (store.Upload, error) {
	if !ValidID(id) {
		return store.Upload{}, CodeNotFound.New("no such upload")
	}
	u, err := s.st.GetUpload(ctx, id)
	if fault.Is(err, store.CodeUploadNotFound) {
		return store.Upload{}, CodeNotFound.New("no such upload")
	}
	if err != nil {
		return store.Upload{}, err
	}
	if u.Host != s.host || (pool != "" && u.Pool != pool) {
		return store.Upload{}, CodeNotFound.New("no such upload")
	}
	return u, nil
}

// ValidID reports whether id has the form of an upload id.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}

// Lock waits for the upload's lock (asking a running request to stop);
// the returned func releases it.
func (s *Service) Lock(ctx context.Context, id string) (func(), error) {
	return s.locks.lock(ctx, id, nil)
}

// List returns the unfinished uploads of the host (owner "" for all).
func (s *Service) List(ctx context.Context, owner string) ([]store.Upload, error) {
	return s.st.ListUploads(ctx, s.host, owner)
}

// Write writes what src yields into the upload at offset (which the
// caller, holding the upload's lock, has checked) and records the new
// offset: exactly the bytes the host has written, also when src fails.
func (s *Service) Write(ctx context.Context, u store.Upload, offset int64, src io.Reader) (int64, error) {
	var n int64
	var err error
	if u.Stored {
		n, err = s.h.UploadVolume(ctx, u.Pool, u.Volume, uint64(offset), uint64(u.Size-offset), io.LimitReader(src, u.Size-offset))
	} else {
		n, err = io.Copy(io.Discard, io.LimitReader(src, u.Size-offset))
	}
	if n > 0 {
		now := s.now().UTC()
		// Recorded even when the client hung up: the bytes are written.
		if aerr := s.st.AdvanceUpload(context.WithoutCancel(ctx), u.ID, offset+n, now, now.Add(s.opt.Expiry)); aerr != nil {
			return 0, errors.Join(err, aerr)
		}
	}
	return n, err
}

// Finish ends a complete upload: the record goes, the volume stays;
// unless the image names files outside itself (a qcow2 backing file, say),
// which a guest using it would open: then the volume goes too. A header
// that cannot be read now refuses as well: a client that has sent every
// byte does not retry the end, and the sweep would take the volume later
// without a word.
func (s *Service) Finish(ctx context.Context, u store.Upload) error {
	ctx = context.WithoutCancel(ctx)
	if u.Stored {
		if err := s.h.CheckImageSafe(ctx, u.Pool, u.Volume); err != nil {
			if cerr := s.Cancel(ctx, u); cerr != nil {
				return errors.Join(err, cerr)
			}
			s.log.Warn("upload refused at its end", "pool", u.Pool, "volume", u.Volume, "owner", u.Owner, "kind", fault.KindOf(err).String())
			return err
		}
	}
	return s.st.DeleteUpload(ctx, u.ID)
}

// Cancel deletes an unfinished upload's volume and then its record.
func (s *Service) Cancel(ctx context.Context, u store.Upload) error {
	ctx = context.WithoutCancel(ctx)
	if err := s.h.DeleteUploadVolume(ctx, u.Pool, u.Volume); err != nil {
		return err
	}
	if err := s.st.DeleteUpload(ctx, u.ID); err != nil && !fault.Is(err, store.CodeUploadNotFound) {
		return err
	}
	return nil
}

// Run sweeps expired uploads every SweepEvery until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.opt.SweepEvery)
	defer t.Stop()
	for {
		s.Sweep(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep deletes the uploads that expired, volume first; one being written
// just now is left for the next sweep. It returns how many went.
func (s *Service) Sweep(ctx context.Context) int {
	us, err := s.st.ExpiredUploads(ctx, s.now())
	if err != nil {
		s.log.Error("upload sweep: list expired", "err", err)
		return 0
	}
	n := 0
	for _, u := range us {
		if u.Host != s.host {
			continue
		}
		unlock, ok := s.locks.tryLock(u.ID)
		if !ok {
			continue
		}
		err := s.Cancel(ctx, u)
		unlock()
		if err != nil {
			s.log.Error("upload sweep: delete an expired upload", "upload", u.ID, "pool", u.Pool, "volume", u.Volume, "err", err)
			continue
		}
		s.log.Info("upload expired: partial volume deleted", "upload", u.ID, "pool", u.Pool, "volume", u.Volume, "offset", u.Offset, "size", u.Size)
		n++
	}
	return n
}
