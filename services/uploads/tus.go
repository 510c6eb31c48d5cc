package uploads

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"

	tusd "github.com/tus/tusd/v2/pkg/handler"

	"github.com/virtportal/virtportal/store"
)

// Call is one tus request's view of the service: what the handler
// resolved before tusd ran, and what happened while it ran (the service's
// own error, whether the upload completed or was cancelled).
type Call struct {
	Upload    store.Upload
	Err       error
	Completed bool
	Cancelled bool
	// Interrupt, set by the handler, unblocks the request's body read
	// (a deadline of now); it may be called from another goroutine, also
	// after the request ended.
	Interrupt func()

	stopped atomic.Bool
}

// ErrInterrupted ends the body of a request another one on the same
// upload asked to stop.
var ErrInterrupted = errors.New("uploads: interrupted by a newer request on the same upload")

// stop asks the request to end: its body reads fail from now on. tusd's
// own request-release (a context cancel) is not used: tusd reads the
// request's body field from another goroutine without a lock.
func (c *Call) stop() {
	c.stopped.Store(true)
	if c.Interrupt != nil {
		c.Interrupt()
	}
}

// Interrupted reports whether another request stopped this one.
func (c *Call) Interrupted() bool { return c.stopped.Load() }

// stoppable is a request body that fails once its call is stopped.
type stoppable struct {
	r    io.Reader
	call *Call
}

func (s stoppable) Read(p []byte) (int, error) {
	if s.call.stopped.Load() {
		return 0, ErrInterrupted
	}
	return s.r.Read(p)
}

type callKey struct{}

// WithCall attaches a request's Call; tusd's context keeps it.
func WithCall(ctx context.Context, c *Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

func callOf(ctx context.Context) *Call {
	c, _ := ctx.Value(callKey{}).(*Call)
	if c == nil {
		c = &Call{}
	}
	return c
}

// remember keeps the first service error of the call for the handler,
// which renders it as the API's error rather than tusd's text.
func (c *Call) remember(err error) error {
	if err != nil && c.Err == nil {
		c.Err = err
	}
	return err
}

// Composer is tusd's view of the service: the data store (uploads are
// created by Create, not through tusd), termination and the lock.
func (s *Service) Composer() *tusd.StoreComposer {
	c := tusd.NewStoreComposer()
	c.UseCore(tusStore{s})
	c.UseTerminater(tusStore{s})
	c.UseLocker(tusStore{s})
	return c
}

type tusStore struct{ s *Service }

// NewUpload implements tusd.DataStore; creation goes through Create.
func (t tusStore) NewUpload(context.Context, tusd.FileInfo) (tusd.Upload, error) {
	return nil, tusd.ErrNotImplemented
}

// GetUpload implements tusd.DataStore: the record as it is now, read
// under the upload's lock.
func (t tusStore) GetUpload(ctx context.Context, id string) (tusd.Upload, error) {
	call := callOf(ctx)
	u, err := t.s.Get(ctx, call.Upload.Pool, id)
	if err != nil {
		return nil, call.remember(err)
	}
	call.Upload = u
	return &tusUpload{s: t.s, u: u, call: call}, nil
}

// AsTerminatableUpload implements tusd.TerminaterDataStore.
func (t tusStore) AsTerminatableUpload(u tusd.Upload) tusd.TerminatableUpload {
	return u.(*tusUpload)
}

// NewLock implements tusd.Locker.
func (t tusStore) NewLock(id string) (tusd.Lock, error) {
	return &tusLock{s: t.s, id: id}, nil
}

type tusLock struct {
	s       *Service
	id      string
	release func()
}

// Lock implements tusd.Lock: a waiter asks the holder to stop (through
// the holder's Call, not tusd's requestRelease).
func (l *tusLock) Lock(ctx context.Context, _ func()) error {
	release, err := l.s.locks.lock(ctx, l.id, callOf(ctx).stop)
	if err != nil {
		return tusd.ErrLockTimeout
	}
	l.release = release
	return nil
}

// Unlock implements tusd.Lock.
func (l *tusLock) Unlock() error {
	if l.release != nil {
		l.release()
		l.release = nil
	}
	return nil
}

type tusUpload struct {
	s    *Service
	u    store.Upload
	call *Call
}

// GetInfo implements tusd.Upload.
func (t *tusUpload) GetInfo(context.Context) (tusd.FileInfo, error) {
	return tusd.FileInfo{ID: t.u.ID, Size: t.u.Size, Offset: t.u.Offset,
		MetaData: tusd.MetaData{"name": t.u.Volume, "format": t.u.Format}}, nil
}

// WriteChunk implements tusd.Upload: one host upload stream per request.
func (t *tusUpload) WriteChunk(ctx context.Context, offset int64, src io.Reader) (int64, error) {
	n, err := t.s.Write(ctx, t.u, offset, stoppable{src, t.call})
	t.u.Offset = offset + n
	if err != nil && !isClientGone(err) {
		t.call.remember(err)
	}
	return n, err
}

// isClientGone reports a body read that failed because the client went
// away or was asked to stop: tusd's errors, rendered as tusd renders them.
func isClientGone(err error) bool {
	var te tusd.Error
	return errors.As(err, &te) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled) ||
		errors.Is(err, ErrInterrupted) || errors.Is(err, os.ErrDeadlineExceeded)
}

// GetReader implements tusd.Upload; downloads go through the volume's
// content route instead.
func (t *tusUpload) GetReader(context.Context) (io.ReadCloser, error) {
	return nil, tusd.ErrNotImplemented
}

// FinishUpload implements tusd.Upload.
func (t *tusUpload) FinishUpload(ctx context.Context) error {
	if err := t.s.Finish(ctx, t.u); err != nil {
		return t.call.remember(err)
	}
	t.call.Completed = true
	return nil
}

// Terminate implements tusd.TerminatableUpload: the partial volume goes.
func (t *tusUpload) Terminate(ctx context.Context) error {
	if err := t.s.Cancel(ctx, t.u); err != nil {
		return t.call.remember(err)
	}
	t.call.Cancelled = true
	return nil
}
