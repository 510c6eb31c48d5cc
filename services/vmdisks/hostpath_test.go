package vmdisks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/virtportal/virtportal/fault"
)

func TestCheckHostPath(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, filepath.Join(root, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "disk.img"), make([]byte, 4096))
	write(filepath.Join(outside, "secret.img"), make([]byte, 4096))
	qcow := append([]byte{'Q', 'F', 'I', 0xfb, 0, 0, 0, 3}, make([]byte, 200)...)
	write(filepath.Join(root, "plain.qcow2"), qcow)
	backed := append([]byte(nil), qcow...)
	backed[15] = 104 // backing file offset
	backed[19] = 4   // backing file size
	copy(backed[104:], "/etc")
	write(filepath.Join(root, "backed.qcow2"), backed)
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink(filepath.Join(outside, "secret.img"), filepath.Join(root, "leak.img")))
	must(os.Symlink(filepath.Join(root, "disk.img"), filepath.Join(root, "sub", "ok.img")))
	roots := []string{root}

	for _, tc := range []struct {
		name, path string
		roots      []string
		code       fault.Code
		format     string
	}{
		{"a file inside", filepath.Join(root, "disk.img"), roots, fault.Code{}, "raw"},
		{"a link staying inside", filepath.Join(root, "sub", "ok.img"), roots, fault.Code{}, "raw"},
		{"qcow2 without references", filepath.Join(root, "plain.qcow2"), roots, fault.Code{}, "qcow2"},
		{"no roots configured", filepath.Join(root, "disk.img"), nil, CodeHostPathOutside, ""},
		{"outside", filepath.Join(outside, "secret.img"), roots, CodeHostPathOutside, ""},
		{"the root itself", root, roots, CodeHostPathOutside, ""},
		{"a sibling sharing the prefix", root + "x/disk.img", roots, CodeHostPathOutside, ""},
		{"dot dot", root + "/sub/../disk.img", roots, CodeHostPathInvalid, ""},
		{"dot dot leaving", root + "/../outside/secret.img", roots, CodeHostPathInvalid, ""},
		{"double slash", root + "//disk.img", roots, CodeHostPathInvalid, ""},
		{"relative", "disk.img", roots, CodeHostPathInvalid, ""},
		{"NUL", root + "/disk.img\x00.iso", roots, CodeHostPathInvalid, ""},
		{"newline", root + "/disk\n.img", roots, CodeHostPathInvalid, ""},
		{"bidi override", root + "/\u202egmi.ksid", roots, CodeHostPathInvalid, ""},
		{"zero width joiner", root + "/dis\u200dk.img", roots, CodeHostPathInvalid, ""},
		{"not NFC", root + "/cafe\u0301.img", roots, CodeHostPathInvalid, ""},
		{"not UTF-8", root + "/\xff.img", roots, CodeHostPathInvalid, ""},
		{"too long", "/" + strings.Repeat("a", 5000), roots, CodeHostPathInvalid, ""},
		{"a link leaving the root", filepath.Join(root, "leak.img"), roots, CodeHostPathOutside, ""},
		{"missing", filepath.Join(root, "nope.img"), roots, CodeHostPathNotFound, ""},
		{"a folder", filepath.Join(root, "sub"), roots, CodeHostPathNotImage, ""},
		{"qcow2 with a backing file", filepath.Join(root, "backed.qcow2"), roots, CodeHostPathRefs, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, format, err := CheckHostPath(tc.roots, tc.path)
			if tc.code.Name == "" {
				if err != nil {
					t.Fatal(err)
				}
				if format != tc.format || !within(root, got) {
					t.Fatalf("got %q %q", got, format)
				}
				return
			}
			if !fault.Is(err, tc.code) {
				t.Fatalf("want %s, got %v", tc.code.Name, err)
			}
			if fault.KindOf(err) != fault.Unprocessable {
				t.Fatalf("kind %v", fault.KindOf(err))
			}
		})
	}
}

// FuzzHostPath: whatever the text, an allowed path is clean, absolute,
// valid UTF-8 without control characters, and inside the root.
func FuzzHostPath(f *testing.F) {
	root := f.TempDir()
	if err := os.WriteFile(filepath.Join(root, "a.img"), []byte("x"), 0o644); err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"a.img", "../a.img", "./a.img", "a.img\x00", "\u202ea.img", "x/../../etc/passwd", "", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rel string) {
		p := root + "/" + rel
		got, _, err := CheckHostPath([]string{root}, p)
		if err != nil {
			if fault.As(err) == nil {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		if !within(root, got) || filepath.Clean(p) != p || !utf8.ValidString(p) || strings.ContainsAny(p, "\x00\n\r") {
			t.Fatalf("allowed %q → %q", p, got)
		}
		if CheckPathText(p) != nil {
			t.Fatalf("allowed text %q", p)
		}
	})
}
