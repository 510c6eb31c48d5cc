package uploads

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/virt"
)

// Codes of an upload's creation request.
var (
	CodeBadLength   = fault.Define("upload_bad_length", fault.Invalid)
	CodeBadMetadata = fault.Define("upload_bad_metadata", fault.Invalid)
	CodeBadFormat   = fault.Define("upload_bad_format", fault.Invalid)
)

// Formats an upload may declare.
var Formats = []string{"raw", "qcow2", "iso"}

// MaxMetadataLen bounds the Upload-Metadata header, in bytes.
const MaxMetadataLen = 4096

// Request is a parsed tus creation request.
type Request struct {
	Size   int64
	Name   string // the volume name, checked as every volume name is
	Format string // raw, qcow2, iso; "": from the name and the pool type
}

// ParseCreate reads a creation request's Upload-Length and Upload-Metadata
// headers (tus 1.0.0): the length a plain decimal above 0, the metadata
// "key base64value" pairs separated by commas, with a name that is a valid
// volume name and an optional known format. Keys other than name and
// format are ignored (clients send their own, e.g. filetype).
func ParseCreate(length, metadata string) (Request, error) {
	var req Request
	if length == "" || len(length) > 19 || strings.TrimLeft(length, "0123456789") != "" {
		return req, CodeBadLength.New("Upload-Length must be the size in bytes (deferred lengths are not accepted)")
	}
	n, err := strconv.ParseInt(length, 10, 64)
	if err != nil || n <= 0 {
		return req, CodeBadLength.New("Upload-Length must be between 1 and %d bytes", int64(1<<63-1))
	}
	req.Size = n
	meta, err := ParseMetadata(metadata)
	if err != nil {
		return req, err
	}
	name, ok := meta["name"]
	if !ok {
		return req, CodeBadMetadata.New("Upload-Metadata must carry the volume's name")
	}
	if err := virt.ValidateVolumeName(name); err != nil {
		return req, err
	}
	req.Name = name
	if f, ok := meta["format"]; ok {
		if !isFormat(f) {
			return req, CodeBadFormat.New("format must be one of %s", strings.Join(Formats, ", "))
		}
		req.Format = f
	}
	return req, nil
}

func isFormat(f string) bool {
	for _, x := range Formats {
		if f == x {
			return true
		}
	}
	return false
}

// ParseMetadata parses a tus Upload-Metadata header strictly: a malformed
// pair, a repeated key or a value that is not standard base64 is refused
// rather than skipped, so what is checked is what was sent.
func ParseMetadata(h string) (map[string]string, error) {
	out := map[string]string{}
	if len(h) > MaxMetadataLen {
		return nil, CodeBadMetadata.New("Upload-Metadata is longer than %d bytes", MaxMetadataLen)
	}
	if strings.TrimSpace(h) == "" {
		return out, nil
	}
	for _, pair := range strings.Split(h, ",") {
		pair = strings.Trim(pair, " ")
		key, val, _ := strings.Cut(pair, " ")
		if key == "" || strings.ContainsAny(val, " ") || !printableKey(key) {
			return nil, CodeBadMetadata.New("Upload-Metadata holds a malformed pair")
		}
		if _, dup := out[key]; dup {
			return nil, CodeBadMetadata.New("Upload-Metadata repeats the key %q", key)
		}
		b, err := base64.StdEncoding.Strict().DecodeString(val)
		if err != nil {
			return nil, CodeBadMetadata.New("the value of %q in Upload-Metadata is not base64", key)
		}
		out[key] = string(b)
	}
	return out, nil
}

func printableKey(k string) bool {
	for i := 0; i < len(k); i++ {
		if k[i] <= ' ' || k[i] > '~' {
			return false
		}
	}
	return true
}

// ResolveFormat is the format the volume is created with: the declared
// one, else from the name's extension (.qcow2, .iso), else raw. Pools
// that are not folders of files hold raw data only.
func ResolveFormat(req Request, poolType string) string {
	if !virt.FilePool(poolType) {
		return "raw"
	}
	if req.Format != "" {
		return req.Format
	}
	lower := strings.ToLower(req.Name)
	switch {
	case strings.HasSuffix(lower, ".qcow2"):
		return "qcow2"
	case strings.HasSuffix(lower, ".iso"):
		return "iso"
	}
	return "raw"
}
