package handlers

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	tusd "github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"github.com/virtportal/virtportal/api"
	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/rbac"
	"github.com/virtportal/virtportal/services/uploads"
	"github.com/virtportal/virtportal/store"
	"github.com/virtportal/virtportal/virt"
)

// Resumable uploads (tus 1.0.0, issue 9) and volume downloads. Creation
// and HEAD are answered here; PATCH and DELETE run tusd's handler behind
// the route table's guard, over the uploads service's store and lock.

// Codes of the tus protocol as tusd refuses a request.
var (
	CodeUploadOffset   = fault.Define("upload_offset_mismatch", fault.Conflict)
	CodeUploadProtocol = fault.Define("upload_protocol", fault.Invalid)
	CodeUploadLocked   = fault.Define("upload_locked", fault.Conflict)
	CodeUploadOverrun  = fault.Define("upload_size_exceeded", fault.TooLarge)
	CodeUploadGone     = fault.Define("upload_interrupted", fault.Conflict)
	// CodeBadRange is answered with 416 Range Not Satisfiable.
	CodeBadRange = fault.Define("range_not_satisfiable", fault.Invalid)
)

const tusVersion = "1.0.0"

// initUploads builds the uploads service and tusd's handler over it, and
// starts the expiry sweep (stopped by CloseTasks).
func (s *Server) initUploads() error {
	if s.d.Store == nil || s.d.Virt == nil {
		return nil // a route-table-only server (tests)
	}
	if s.d.Uploads == nil {
		s.d.Uploads = uploads.New(s.opt.Host, s.d.Virt, s.d.Store, s.opt.Uploads, s.log)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); s.d.Uploads.Run(ctx) }()
		s.stopUploads = func() { cancel(); <-done }
	}
	h, err := tusd.NewUnroutedHandler(tusd.Config{
		StoreComposer:      s.d.Uploads.Composer(),
		BasePath:           "/api/v1/uploads/", // unused: ids come from the route
		DisableDownload:    true,
		Cors:               &tusd.CorsConfig{Disable: true},
		Logger:             quietLogger(),
		NetworkTimeout:     s.opt.ReadTimeout,
		AcquireLockTimeout: 20 * time.Second,
	})
	if err != nil {
		return err
	}
	s.tus = h
	return nil
}

func (s *Server) uploadsService() (*uploads.Service, error) {
	if s.d.Uploads == nil || s.tus == nil {
		return nil, fault.CodeUnavailable.New("uploads are not available on this server")
	}
	return s.d.Uploads, nil
}

// uploadView is the wire form of an upload.
func (s *Server) uploadView(u store.Upload) api.Upload {
	return api.Upload{ID: u.ID, Host: u.Host, Pool: u.Pool, Name: u.Volume, Format: u.Format, Size: u.Size, Offset: u.Offset,
		Owner: u.Owner, Location: uploadLocation(u), Created: u.Created, Updated: u.Updated, Expires: u.Expires, ContentsStored: u.Stored}
}

func uploadLocation(u store.Upload) string {
	return "/api/v1/hosts/" + u.Host + "/pools/" + u.Pool + "/uploads/" + u.ID
}

// createUpload is tus creation: checks before any byte, the volume made.
func (s *Server) createUpload(c *gin.Context) error {
	svc, err := s.uploadsService()
	if err != nil {
		return err
	}
	ref, _ := objectOf[poolRef](c)
	if v := c.GetHeader("Tus-Resumable"); v != "" && v != tusVersion {
		return CodeUploadProtocol.New("Tus-Resumable must be %s", tusVersion)
	}
	if c.GetHeader("Upload-Defer-Length") != "" || c.GetHeader("Upload-Concat") != "" {
		return uploads.CodeBadLength.New("deferred lengths and concatenation are not accepted: send Upload-Length")
	}
	req, err := uploads.ParseCreate(c.GetHeader("Upload-Length"), c.GetHeader("Upload-Metadata"))
	if err != nil {
		return err
	}
	c.Set(keyTarget, "volume:"+ref.Name+"/"+req.Name)
	sess, _ := sessionOf(c)
	u, err := svc.Create(c.Request.Context(), ref.Name, sess.Principal().ID(), req)
	if err != nil {
		return err
	}
	c.Header("Tus-Resumable", tusVersion)
	c.Header("Location", uploadLocation(u))
	c.Header("Upload-Offset", "0")
	c.JSON(http.StatusCreated, s.uploadView(u))
	return nil
}

func uploadScope(param string) Scope { return Scope{Kind: "upload", Param: param} }

func validUploadID(id string) bool { return uploads.ValidID(id) }

// resolveUpload validates the names, decides perm and finds the upload
// in the route's pool; those who may not see pools get 404.
func (s *Server) resolveUpload(c *gin.Context, p rbac.Principal, perm rbac.Permission, id string) (any, error) {
	if err := s.checkHostParam(c); err != nil {
		return nil, err
	}
	pool := c.Param("pool")
	if err := virt.ValidatePoolName(pool); err != nil {
		return nil, err
	}
	if !validUploadID(id) {
		return nil, fault.CodeInvalidName.New("an upload id is 32 hexadecimal digits")
	}
	svc, err := s.uploadsService()
	if err != nil {
		return nil, err
	}
	var u store.Upload
	err = s.decideStorage(p, perm, uploads.CodeNotFound.New("no such upload"), func() error {
		u, err = svc.Get(c.Request.Context(), pool, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.Set(keyTarget, "volume:"+u.Pool+"/"+u.Volume)
	return u, nil
}

// upload is the route's upload, as its scope found it.
func (s *Server) upload(c *gin.Context) (*uploads.Service, store.Upload, error) {
	svc, err := s.uploadsService()
	if err != nil {
		return nil, store.Upload{}, err
	}
	u, _ := objectOf[store.Upload](c)
	return svc, u, nil
}

// headUpload is tus HEAD (and GET: the same headers with the upload as
// JSON). It waits for the upload's lock, asking a PATCH still running for
// a client that gave up to stop, so the offset it gives is final.
func (s *Server) headUpload(c *gin.Context) error {
	svc, u, err := s.upload(c)
	if err != nil {
		return err
	}
	unlock, err := svc.Lock(c.Request.Context(), u.ID)
	if err != nil {
		return CodeUploadLocked.New("the upload is busy; try again")
	}
	u, err = svc.Get(c.Request.Context(), u.Pool, u.ID)
	unlock()
	if err != nil {
		return err
	}
	c.Header("Tus-Resumable", tusVersion)
	c.Header("Cache-Control", "no-store")
	c.Header("Upload-Offset", strconv.FormatInt(u.Offset, 10))
	c.Header("Upload-Length", strconv.FormatInt(u.Size, 10))
	c.Header("Upload-Metadata", tusd.SerializeMetadataHeader(map[string]string{"name": u.Volume, "format": u.Format}))
	c.JSON(http.StatusOK, s.uploadView(u))
	return nil
}

// patchUpload is tus PATCH: tusd checks the offset and reads the body
// into the service under the upload's lock. Only the chunk that completes
// the upload (or fails) reaches the audit log.
func (s *Server) patchUpload(c *gin.Context) error {
	call, err := s.runTus(c, s.tus.PatchFile)
	if err == nil && !call.Completed {
		c.Set(keySkipAudit, true)
	}
	if call.Completed {
		c.Set(keyReason, fmt.Sprintf("size=%d", call.Upload.Size))
	}
	return err
}

// deleteUpload is tus termination: the partial volume is deleted.
func (s *Server) deleteUpload(c *gin.Context) error {
	_, err := s.runTus(c, s.tus.DelFile)
	return err
}

// runTus runs one tusd handler for the route's upload. tusd's error
// answers are turned into the API's JSON errors: the service's own error
// when it had one, else a code for tusd's.
func (s *Server) runTus(c *gin.Context, h http.HandlerFunc) (*uploads.Call, error) {
	_, u, err := s.upload(c)
	call := &uploads.Call{Upload: u}
	if err != nil {
		return call, err
	}
	r := c.Request.WithContext(uploads.WithCall(c.Request.Context(), call))
	u2 := *c.Request.URL
	r.URL = &u2
	r.URL.Path, r.URL.RawPath = "/"+u.ID, ""
	w := &tusWriter{ResponseWriter: c.Writer}
	call.Interrupt = func() { _ = w.SetReadDeadline(time.Now()) }
	s.tus.Middleware(h).ServeHTTP(w, r)
	w.end()
	if w.status < 400 {
		return call, nil
	}
	if call.Err != nil {
		return call, call.Err
	}
	if call.Interrupted() {
		return call, CodeUploadGone.New("the request was interrupted by a newer one on the same upload")
	}
	return call, tusFault(w.status, w.body.String())
}

// tusFault turns tusd's "ERR_CODE: message" answer into a fault.
func tusFault(status int, body string) error {
	code, msg, _ := strings.Cut(strings.TrimSpace(body), ": ")
	switch {
	case code == "ERR_MISMATCHED_OFFSET":
		return CodeUploadOffset.New("Upload-Offset does not match the upload's offset; ask with HEAD and resume from there")
	case code == "ERR_UPLOAD_LOCKED" || code == "ERR_LOCK_TIMEOUT":
		return CodeUploadLocked.New("another request is writing this upload; try again")
	case code == "ERR_UPLOAD_SIZE_EXCEEDED" || status == http.StatusRequestEntityTooLarge:
		return CodeUploadOverrun.New("the chunk goes past the upload's length")
	case code == "ERR_UPLOAD_INTERRUPTED" || code == "ERR_UPLOAD_STOPPED":
		return CodeUploadGone.New("the request was interrupted by a newer one on the same upload")
	case code == "ERR_READ_TIMEOUT" || code == "ERR_CONNECTION_RESET":
		return CodeUploadGone.New("the connection ended before the chunk did")
	case status == http.StatusNotFound:
		return uploads.CodeNotFound.New("no such upload")
	case status < 500 || code == "ERR_NOT_IMPLEMENTED": // e.g. Upload-Length on a PATCH (no deferred lengths here)
		return CodeUploadProtocol.New("%s", strings.TrimSpace(msg))
	}
	return fault.Internalf(fmt.Errorf("tusd %d: %s", status, body))
}

// tusWriter passes tusd's successful answers through and keeps its error
// answers (plain text) for runTus to render as JSON. It also takes tusd's
// deadline calls: tusd makes them from a goroutine of its own, also after
// the request ended (when a newer request interrupted this one), when the
// writers below (compression's, pooled) may already serve another
// request; once end has run they do nothing.
type tusWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer

	mu    sync.Mutex
	ended bool
}

func (w *tusWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if code >= 400 {
		w.Header().Del("Content-Type")
		w.Header().Del("Content-Length")
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *tusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.status >= 400 {
		return w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// SetReadDeadline is what http.ResponseController calls.
func (w *tusWriter) SetReadDeadline(t time.Time) error {
	return w.deadline(func(rc *http.ResponseController) error { return rc.SetReadDeadline(t) })
}

// SetWriteDeadline is what http.ResponseController calls.
func (w *tusWriter) SetWriteDeadline(t time.Time) error {
	return w.deadline(func(rc *http.ResponseController) error { return rc.SetWriteDeadline(t) })
}

func (w *tusWriter) deadline(f func(*http.ResponseController) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ended {
		return http.ErrNotSupported
	}
	return f(http.NewResponseController(w.ResponseWriter))
}

// end stops the deadline calls; the request is over.
func (w *tusWriter) end() {
	w.mu.Lock()
	w.ended = true
	w.mu.Unlock()
}

// listUploads lists the host's unfinished uploads (every owner's: only
// those who may manage volumes reach it).
func (s *Server) listUploads(c *gin.Context) error {
	svc, err := s.uploadsService()
	if err != nil {
		return err
	}
	us, err := svc.List(c.Request.Context(), "")
	if err != nil {
		return err
	}
	out := api.UploadList{Items: make([]api.Upload, 0, len(us)), MaxSize: svc.MaxSize(), ContentsStored: svc.StoresContents()}
	for _, u := range us {
		out.Items = append(out.Items, s.uploadView(u))
	}
	c.JSON(http.StatusOK, out)
	return nil
}

// volumeContent streams a volume's contents through libvirt's download
// stream, one byte range when asked (RFC 9110: one range; others whole).
func (s *Server) volumeContent(c *gin.Context) error {
	ref, _ := objectOf[volumeRef](c)
	ctx := c.Request.Context()
	size, err := s.d.Virt.VolumeContentSize(ctx, ref.Pool, ref.Name)
	if err != nil {
		return err
	}
	start, length, partial, err := parseRange(c.GetHeader("Range"), size)
	if err != nil {
		c.Header("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
		e := s.wireError(c, err)
		e.Status = http.StatusRequestedRangeNotSatisfiable
		c.AbortWithStatusJSON(e.Status, api.ErrorBody{Error: e})
		return nil
	}
	var body *virt.VolumeReader
	if length > 0 { // opened for HEAD too: the same answer, no bytes read
		body, err = s.d.Virt.OpenVolume(ctx, ref.Pool, ref.Name, uint64(start), uint64(length))
		if err != nil {
			return err
		}
		defer body.Close()
	}
	h := c.Writer.Header()
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": ref.Name}))
	h.Set("Content-Length", strconv.FormatInt(length, 10))
	h.Set("Cache-Control", "no-store")
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+length-1, size))
		status = http.StatusPartialContent
	}
	c.Status(status)
	c.Writer.WriteHeaderNow()
	if body == nil || isHead(c.Request) {
		return nil
	}
	buf := make([]byte, 1<<20)
	for sent := int64(0); sent < length; {
		n, rerr := body.Read(buf)
		if n > 0 {
			if _, werr := c.Writer.Write(buf[:n]); werr != nil {
				return nil // the client left; the reader aborts the stream
			}
			sent += int64(n)
		}
		if rerr != nil {
			if sent < length {
				// The length was promised: the server cuts the connection.
				s.log.Error("volume download ended early", "request_id", c.GetString(keyReqID), "pool", ref.Pool, "volume", ref.Name, "sent", sent, "want", length, "err", rerr)
			}
			break
		}
	}
	return nil
}

// parseRange reads a Range header for a body of size bytes: one
// "bytes=a-b", "bytes=a-" or "bytes=-n". No header or another unit: the
// whole body. Several ranges are answered whole (allowed by RFC 9110).
func parseRange(h string, size int64) (start, length int64, partial bool, err error) {
	if h == "" {
		return 0, size, false, nil
	}
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return 0, size, false, nil
	}
	bad := CodeBadRange.New("the range %q does not fit the volume's %d bytes", h, size)
	a, b, ok := strings.Cut(strings.TrimSpace(spec), "-")
	if !ok {
		return 0, 0, false, bad
	}
	num := func(s string) (int64, bool) {
		if s == "" || len(s) > 19 || strings.TrimLeft(s, "0123456789") != "" {
			return 0, false
		}
		n, err := strconv.ParseInt(s, 10, 64)
		return n, err == nil
	}
	switch {
	case a == "": // the last b bytes
		n, ok := num(b)
		if !ok || n == 0 || size == 0 {
			return 0, 0, false, bad
		}
		n = min(n, size)
		return size - n, n, true, nil
	default:
		first, ok := num(a)
		if !ok || first >= size {
			return 0, 0, false, bad
		}
		last := size - 1
		if b != "" {
			l, ok := num(b)
			if !ok || l < first {
				return 0, 0, false, bad
			}
			last = min(l, size-1)
		}
		return first, last - first + 1, true, nil
	}
}

// quietLogger is tusd's logger (x/exp/slog, not log/slog): silent. Its
// lines per request repeat the access log; the errors that matter are the
// service's, logged there or rendered by runTus.
func quietLogger() *xslog.Logger {
	return xslog.New(xslog.NewTextHandler(io.Discard, nil))
}
