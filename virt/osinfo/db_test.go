package osinfo

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// The real database, loaded once: a machine without it fails here (scripts/deps.sh
// build installs osinfo-db), it never skips.
var (
	dbOnce sync.Once
	dbReal *DB
	dbErr  error
)

func realDB(t *testing.T) *DB {
	t.Helper()
	dbOnce.Do(func() { dbReal, dbErr = Load(DefaultPath) })
	if dbErr != nil {
		t.Fatalf("the osinfo database is needed (Debian package osinfo-db; scripts/deps.sh build): %v", dbErr)
	}
	return dbReal
}

func TestLoadRealDatabase(t *testing.T) {
	db := realDB(t)
	if db.Len() < 500 {
		t.Fatalf("%d OS entries, want hundreds", db.Len())
	}
	// One PCRE-only regex (a look-ahead) cannot compile in Go; it is
	// skipped, not fatal. More would mean a broken reader.
	if db.Skipped > 5 {
		t.Fatalf("%d media skipped", db.Skipped)
	}
	o, ok := db.Lookup("debian11")
	if !ok || o.ID != "http://debian.org/debian/11" || o.Family != "linux" || o.Distro != "debian" || o.Vendor != "Debian Project" {
		t.Fatalf("debian11: %+v %v", o, ok)
	}
	// Inherited through derives-from/clones where an entry says nothing.
	for _, o := range db.oses {
		if o.Family == "" && o.Parent != "" {
			if _, ok := db.byID[o.Parent]; ok && db.oses[db.byID[o.Parent]].Family != "" {
				t.Errorf("%s did not inherit the family of %s", o.ID, o.Parent)
			}
		}
	}
}

func TestMatch(t *testing.T) {
	db := realDB(t)
	cases := []struct {
		name    string
		media   Media
		shortID string // "": unknown
		family  string
		source  string
	}{
		{"debian 11 netinst", Media{VolumeID: "Debian 11.5.0 amd64 n"}, "debian11", "linux", "osinfo"},
		{"debian 10", Media{VolumeID: "Debian 10.13.0 amd64 n"}, "debian10", "linux", "osinfo"},
		{"ubuntu server 22.04", Media{VolumeID: "Ubuntu-Server 22.04.1 LTS amd64"}, "ubuntu22.04", "linux", "osinfo"},
		{"ubuntu desktop 20.04", Media{VolumeID: "Ubuntu 20.04.5 LTS amd64"}, "ubuntu20.04", "linux", "osinfo"},
		{"fedora 37 server", Media{VolumeID: "Fedora-S-dvd-x86_64-37", SystemID: "LINUX"}, "fedora37", "linux", "osinfo"},
		{"windows 10/11 consumer", Media{VolumeID: "CCCOMA_X64FRE_EN-US_DV9", PublisherID: "MICROSOFT CORPORATION"}, "win10", "winnt", "osinfo"},
		// Windows Server 2016, 2019 and 2022 share one volume id: the
		// first in file order answers, as in libosinfo.
		{"windows server", Media{VolumeID: "SSS_X64FREE_EN-US_DV9", PublisherID: "MICROSOFT CORPORATION"}, "win2k16", "winnt", "osinfo"},
		// Our own table: newer than the packaged database.
		{"debian 12 (ours)", Media{VolumeID: "Debian 12.5.0 amd64 n"}, "debian12", "linux", "portal"},
		{"ubuntu 24.04 (ours)", Media{VolumeID: "Ubuntu-Server 24.04.1 LTS amd64"}, "ubuntu24.04", "linux", "portal"},
		{"fedora 40 live (ours)", Media{VolumeID: "Fedora-WS-Live-40-1-14"}, "fedora40", "linux", "portal"},
		{"rocky 9.4 (ours)", Media{VolumeID: "Rocky-9-4-x86_64-dvd"}, "rocky9.4", "linux", "portal"},
		// Unknown.
		{"publisher required", Media{VolumeID: "CCCOMA_X64FRE_EN-US_DV9"}, "", "", ""},
		{"generic label", Media{VolumeID: "CDROM"}, "", "", ""},
		{"empty", Media{}, "", "", ""},
		{"hostile", Media{VolumeID: "../../etc/passwd???", SystemID: "*"}, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, ok := db.Match(c.media)
			if c.shortID == "" {
				if ok {
					t.Fatalf("matched %+v, want unknown", o)
				}
				return
			}
			if !ok || o.ShortID != c.shortID || o.Family != c.family || o.Source != c.source || o.Name == "" {
				t.Fatalf("got %+v %v, want %s (%s, %s)", o, ok, c.shortID, c.family, c.source)
			}
		})
	}
}

// An entry of our table that the database has is left to the database.
func TestExtraYieldsToDatabase(t *testing.T) {
	m := Media{VolumeID: "Debian 12.5.0 amd64 n"}
	if o, ok := matchExtra(m, map[string]int{}); !ok || o.ShortID != "debian12" {
		t.Fatalf("without the entry: %+v %v", o, ok)
	}
	if o, ok := matchExtra(m, map[string]int{"http://debian.org/debian/12": 0}); ok {
		t.Fatalf("with the entry in the database, ours still answered %+v", o)
	}
}

func TestLoadMissingOrBroken(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nowhere")); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("missing folder: %v", err)
	}
	empty := t.TempDir()
	if err := os.MkdirAll(filepath.Join(empty, "os"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(empty); !errors.Is(err, ErrNoDatabase) {
		t.Fatalf("empty database: %v", err)
	}
	broken := t.TempDir()
	if err := os.MkdirAll(filepath.Join(broken, "os", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "os", "x", "a.xml"), []byte("<libosinfo><os id='x'><name>A"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(broken); err == nil {
		t.Fatal("a broken file loaded")
	}
	var nilDB *DB
	if _, ok := nilDB.Match(Media{VolumeID: "Debian 11.5.0 amd64 n"}); ok {
		t.Fatal("a nil database matched")
	}
}

// A small database of our own making: parts spread over files add up, the
// unanchored regex finds its text anywhere, a regex Go cannot compile is
// skipped, and the first entry (in file order) wins.
func TestLoadSynthetic(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, body string) {
		p := filepath.Join(dir, "os", rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("<libosinfo version='0.0.1'>"+body+"</libosinfo>"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ex.org/a-1.d/extra.xml", `<os id="http://ex.org/a/1"><short-id>a1</short-id><name xml:lang="de">A Eins</name><name>A One</name></os>`)
	write("ex.org/a-1.xml", `<os id="http://ex.org/a/1"><vendor>Ex</vendor><family>linux</family><distro>a</distro>
		<media arch="x86_64"><iso><volume-id>A-1</volume-id><system-id>LINUX</system-id></iso></media></os>`)
	write("ex.org/a-2.xml", `<os id="http://ex.org/a/2"><short-id>a2</short-id><name>A Two</name><derives-from id="http://ex.org/a/1"/>
		<media><iso><volume-id>(?!x)A-2</volume-id></iso></media>
		<media><iso><volume-id>A-</volume-id></iso></media></os>`)
	db, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if db.Len() != 2 || db.Skipped != 1 {
		t.Fatalf("len %d skipped %d", db.Len(), db.Skipped)
	}
	a2, _ := db.Lookup("a2")
	if a2.Vendor != "Ex" || a2.Family != "linux" || a2.Distro != "a" {
		t.Fatalf("a2 did not inherit: %+v", a2)
	}
	for _, c := range []struct {
		m    Media
		want string
	}{
		{Media{VolumeID: "xx A-1 yy", SystemID: "LINUX"}, "a1"}, // unanchored; a-1 first
		{Media{VolumeID: "A-1"}, "a2"},                          // a1 needs its system id; a2's A- matches
		{Media{VolumeID: "A-2"}, "a2"},
		{Media{VolumeID: "B"}, ""},
	} {
		o, ok := db.Match(c.m)
		if o.ShortID != c.want || ok != (c.want != "") {
			t.Errorf("%+v: got %q %v, want %q", c.m, o.ShortID, ok, c.want)
		}
	}
	if o, _ := db.Lookup("a1"); o.Name != "A One" {
		t.Errorf("name %q: the plain (English) one is wanted", o.Name)
	}
}

func TestDefaults(t *testing.T) {
	db := realDB(t)
	cases := []struct {
		id                    string
		known                 bool
		bus, nic, fw, machine string
		secure                bool
		minMemMiB             uint64
	}{
		{"debian11", true, "virtio", "virtio", "bios", "q35", false, 1024},
		{"debian12", true, "virtio", "virtio", "bios", "q35", false, 1024},
		{"http://debian.org/debian/11", true, "virtio", "virtio", "bios", "q35", false, 1024},
		{"win11", true, "sata", "e1000e", "uefi", "q35", true, 4096},
		{"win10", true, "sata", "e1000e", "bios", "q35", false, 1024},
		{"win2k", true, "ide", "rtl8139", "bios", "pc", false, 1},
		{"no-such-os", false, "sata", "e1000e", "bios", "q35", false, 2048},
		{"../../etc/passwd", false, "sata", "e1000e", "bios", "q35", false, 2048},
	}
	for _, tc := range cases {
		t.Run(tc.id, func(t *testing.T) {
			d := db.Defaults(tc.id)
			if d.Known != tc.known || d.DiskBus != tc.bus || d.NICModel != tc.nic || d.Firmware != tc.fw ||
				d.Machine != tc.machine || d.SecureBoot != tc.secure || d.MemoryMiB < tc.minMemMiB || d.DiskSize == 0 || d.VCPUs < 1 {
				t.Fatalf("%+v", d)
			}
		})
	}
}

func TestSearch(t *testing.T) {
	db := realDB(t)
	got := db.Search("debian1", 5)
	if len(got) == 0 || len(got) > 5 {
		t.Fatalf("%v", got)
	}
	for _, o := range got {
		if !strings.HasPrefix(o.ShortID, "debian1") {
			t.Fatalf("%+v", o)
		}
	}
	// Newer versions first, numbers compared as numbers.
	if got := db.Search("debian1", 3); len(got) != 3 || got[0].ShortID != "debian13" || got[1].ShortID != "debian12" || got[2].ShortID != "debian11" {
		t.Fatalf("debian: %+v", got)
	}
	if len(db.Search("zzzz-none", 5)) != 0 {
		t.Fatal("matched nothing expected")
	}
	if o, ok := db.Find("debian13"); !ok || o.Source != "portal" {
		t.Fatalf("%+v", o)
	}
}
