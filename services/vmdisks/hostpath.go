package vmdisks

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/virt/diskimage"
)

// Codes of host paths; each refusal is a 422 with its own code.
var (
	CodeHostPathForbidden = fault.Define("host_path_forbidden", fault.Forbidden)
	CodeHostPathInvalid   = fault.Define("host_path_invalid", fault.Unprocessable)
	CodeHostPathOutside   = fault.Define("host_path_outside_roots", fault.Unprocessable)
	CodeHostPathNotFound  = fault.Define("host_path_not_found", fault.Unprocessable)
	CodeHostPathNotImage  = fault.Define("host_path_not_image", fault.Unprocessable)
	CodeHostPathRefs      = fault.Define("host_path_image_references", fault.Unprocessable)
)

// maxPathLen bounds a host path (PATH_MAX).
const maxPathLen = 4096

// CheckPathText refuses a path whose text alone is suspect: not
// absolute, not clean (., .., //), too long, not UTF-8, NUL or control
// characters, bidirectional overrides or other format characters, or
// not in Unicode normalization form C (two spellings of one name).
func CheckPathText(p string) error {
	switch {
	case p == "":
		return CodeHostPathInvalid.New("the path is empty")
	case len(p) > maxPathLen:
		return CodeHostPathInvalid.New("the path is longer than %d bytes", maxPathLen)
	case !utf8.ValidString(p):
		return CodeHostPathInvalid.New("the path is not valid UTF-8")
	}
	for _, r := range p {
		switch {
		case r == 0:
			return CodeHostPathInvalid.New("the path holds a NUL character")
		case unicode.IsControl(r):
			return CodeHostPathInvalid.New("the path holds a control character (U+%04X)", r)
		case unicode.Is(unicode.Cf, r):
			// Bidi overrides and isolates, zero-width joiners: names
			// that read as another name.
			return CodeHostPathInvalid.New("the path holds an invisible formatting character (U+%04X)", r)
		case r == utf8.RuneError:
			return CodeHostPathInvalid.New("the path holds a replacement character")
		}
	}
	if !norm.NFC.IsNormalString(p) {
		return CodeHostPathInvalid.New("the path is not in Unicode normalization form C")
	}
	if !filepath.IsAbs(p) {
		return CodeHostPathInvalid.New("the path is not absolute")
	}
	for _, el := range strings.Split(p[1:], "/") {
		if el == ".." || el == "." || el == "" {
			return CodeHostPathInvalid.New("the path holds %q elements: name the file directly", map[bool]string{true: "empty", false: el}[el == ""])
		}
	}
	return nil
}

// within reports whether p lies strictly inside root (both clean).
func within(root, p string) bool {
	return root != "" && strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/")
}

// CheckHostPath allows p when it is clean text, lies inside one of roots
// both as written and with its symbolic links resolved, and is a regular
// file or block device. It answers the resolved path (attached instead of
// p, so that a link changed afterwards is not followed) and the image's
// format: qcow2 when its header says so and it names no other file, else
// raw; an image that names other files (a backing file, extents) is
// refused, since libvirt would open them too.
func CheckHostPath(roots []string, p string) (resolved, format string, err error) {
	if len(roots) == 0 {
		return "", "", CodeHostPathOutside.New("no host path roots are configured (storage.host_path_roots): attach pool volumes")
	}
	if err := CheckPathText(p); err != nil {
		return "", "", err
	}
	inside := func(x string, resolve bool) bool {
		for _, r := range roots {
			r = filepath.Clean(r)
			if resolve {
				rr, err := filepath.EvalSymlinks(r)
				if err != nil {
					continue
				}
				r = rr
			}
			if within(r, x) {
				return true
			}
		}
		return false
	}
	if !inside(p, false) {
		return "", "", CodeHostPathOutside.New("the path is outside the allowed roots (%s)", strings.Join(roots, ", "))
	}
	resolved, err = filepath.EvalSymlinks(p)
	if err != nil {
		return "", "", CodeHostPathNotFound.New("the path does not exist or cannot be read")
	}
	if !inside(resolved, true) {
		return "", "", CodeHostPathOutside.New("the path leads outside the allowed roots through a symbolic link")
	}
	st, err := os.Stat(resolved)
	if err != nil {
		return "", "", CodeHostPathNotFound.New("the path does not exist or cannot be read")
	}
	if !st.Mode().IsRegular() && st.Mode()&os.ModeDevice == 0 {
		return "", "", CodeHostPathNotImage.New("the path is neither a file nor a block device")
	}
	format = "raw"
	if f, err := os.Open(resolved); err == nil {
		head := make([]byte, diskimage.HeaderSize)
		n, _ := io.ReadFull(f, head)
		_ = f.Close()
		rep := diskimage.Inspect(head[:n])
		if !rep.Safe() {
			return "", "", CodeHostPathRefs.New("the image (%s) names other files (%s), which the guest would open too", rep.Format, rep.References)
		}
		if rep.Format == "qcow2" {
			format = "qcow2"
		}
	}
	return resolved, format, nil
}
