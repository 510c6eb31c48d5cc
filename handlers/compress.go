package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"

	"github.com/klauspost/compress/gzhttp"

	"github.com/virtportal/virtportal/static"
)

// compressible says which responses are worth compressing: not what is
// compressed already (PNG screenshots, archives) and not event streams,
// whose events must leave at once.
func compressible(ct string) bool {
	ct = strings.ToLower(strings.TrimSpace(ct))
	switch {
	case strings.HasPrefix(ct, "text/event-stream"):
		return false
	case strings.HasPrefix(ct, "image/") && !strings.HasPrefix(ct, "image/svg+xml"):
		return false
	case strings.HasPrefix(ct, "application/octet-stream"):
		return false // volume downloads: large, ranged, mostly incompressible
	}
	return gzhttp.DefaultContentTypeFilter(ct)
}

// compressor wraps h with gzip and zstd compression for clients that
// accept it. HEAD requests are left alone (the library's choice: some
// proxies mishandle them), and so are WebSocket handshakes, whose
// connection is taken over by the handler, and event streams: the
// compressor holds back headers flushed before the first bytes, which
// would keep an EventSource from opening.
func compressor(h http.Handler) (http.Handler, error) {
	wrap, err := gzhttp.NewWrapper(gzhttp.ContentTypeFilter(compressible))
	if err != nil {
		return nil, err
	}
	gz := wrap(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" || strings.HasPrefix(r.Header.Get("Accept"), "text/event-stream") {
			h.ServeHTTP(w, r)
			return
		}
		gz.ServeHTTP(w, r)
	}), nil
}

// assetETags hashes each bundled file once, for conditional requests. The
// tags are weak: a compressed and a plain copy are the same content.
func assetETags() map[string]string {
	tags := map[string]string{}
	_ = fs.WalkDir(static.FS, "dist", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := fs.ReadFile(static.FS, path); err == nil {
				sum := sha256.Sum256(b)
				tags[path] = `W/"` + hex.EncodeToString(sum[:12]) + `"`
			}
		}
		return nil
	})
	return tags
}
