package uploads

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/virtportal/virtportal/fault"
	"github.com/virtportal/virtportal/virt"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseCreate(t *testing.T) {
	for _, tc := range []struct {
		name, length, meta string
		want               Request
		code               string
	}{
		{"plain", "1024", "name " + b64("disk.img"), Request{Size: 1024, Name: "disk.img"}, ""},
		{"format and extras", "5", "filetype " + b64("x/y") + ",name " + b64("a.iso") + ",format " + b64("raw"), Request{Size: 5, Name: "a.iso", Format: "raw"}, ""},
		{"spaces around pairs", "5", " name " + b64("a.img") + " , k ", Request{Size: 5, Name: "a.img"}, ""},
		{"key without value", "5", "name " + b64("a.img") + ",flag", Request{Size: 5, Name: "a.img"}, ""},
		{"leading zeros", "007", "name " + b64("a.img"), Request{Size: 7, Name: "a.img"}, ""},
		{"no length", "", "name " + b64("a.img"), Request{}, "upload_bad_length"},
		{"plus sign", "+5", "name " + b64("a.img"), Request{}, "upload_bad_length"},
		{"overflow", "9223372036854775808", "name " + b64("a.img"), Request{}, "upload_bad_length"},
		{"no metadata", "5", "", Request{}, "upload_bad_metadata"},
		{"unpadded base64", "5", "name YS5pbWc", Request{}, "upload_bad_metadata"},
		{"three words", "5", "name " + b64("a.img") + " x", Request{}, "upload_bad_metadata"},
		{"empty pair", "5", "name " + b64("a.img") + ",,", Request{}, "upload_bad_metadata"},
		{"control in key", "5", "na\tme " + b64("a.img"), Request{}, "upload_bad_metadata"},
		{"path", "5", "name " + b64("../../etc/passwd"), Request{}, "invalid_name"},
		{"empty name", "5", "name ", Request{}, "invalid_name"},
		{"format case", "5", "name " + b64("a.img") + ",format " + b64("QCOW2"), Request{}, "upload_bad_format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCreate(tc.length, tc.meta)
			if tc.code != "" {
				if f := fault.As(err); f == nil || f.Code.Name != tc.code {
					t.Fatalf("err %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestResolveFormat(t *testing.T) {
	for _, tc := range []struct {
		req      Request
		poolType string
		want     string
	}{
		{Request{Name: "a.qcow2"}, "dir", "qcow2"},
		{Request{Name: "A.ISO"}, "netfs", "iso"},
		{Request{Name: "a.img"}, "dir", "raw"},
		{Request{Name: "a.iso"}, "logical", "raw"},
		{Request{Name: "a.img", Format: "qcow2"}, "dir", "qcow2"},
		{Request{Name: "a.qcow2", Format: "qcow2"}, "disk", "raw"},
	} {
		if got := ResolveFormat(tc.req, tc.poolType); got != tc.want {
			t.Errorf("ResolveFormat(%+v, %s) = %s, want %s", tc.req, tc.poolType, got, tc.want)
		}
	}
}

// FuzzUploadMetadata feeds the creation headers to the parser: it never
// panics, and what it accepts is a valid volume name that stays in the
// pool, a known format, a positive size, and a format the pool takes.
func FuzzUploadMetadata(f *testing.F) {
	f.Add("1024", "name "+b64("disk.img"))
	f.Add("1", "name "+b64("a.qcow2")+",format "+b64("qcow2")+",filetype "+b64("application/x-qemu"))
	f.Add("0", "name "+b64("../x"))
	f.Add("-1", "")
	f.Add("99999999999999999999", "name "+b64("/etc/x"))
	f.Add("10", "name "+b64("x\x00y"))
	f.Add("10", "name "+b64("ｘ.img"))
	f.Add("10", "name,name "+b64("a"))
	f.Fuzz(func(t *testing.T, length, meta string) {
		req, err := ParseCreate(length, meta)
		if err != nil {
			if fault.As(err) == nil {
				t.Fatalf("an error without a code: %v", err)
			}
			return
		}
		if req.Size <= 0 {
			t.Fatalf("size %d accepted", req.Size)
		}
		if virt.ValidateVolumeName(req.Name) != nil || strings.ContainsAny(req.Name, "/\x00\\") ||
			req.Name == "." || req.Name == ".." || !utf8.ValidString(req.Name) || len(req.Name) > virt.MaxVolumeNameLen {
			t.Fatalf("name %q accepted", req.Name)
		}
		if req.Format != "" && !isFormat(req.Format) {
			t.Fatalf("format %q accepted", req.Format)
		}
		for _, pt := range []string{"dir", "logical", "disk", "netfs"} {
			f := ResolveFormat(req, pt)
			if !isFormat(f) || (!virt.FilePool(pt) && f != "raw") {
				t.Fatalf("format %q for a %s pool", f, pt)
			}
		}
	})
}
