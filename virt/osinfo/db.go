// Package osinfo reads the osinfo database (Debian package osinfo-db, the
// data virt-install and cockpit-machines use) from the system, and
// recognises an installer ISO by its volume descriptor the way libosinfo
// does. The data files are GPL: they are read where the system keeps
// them, never copied into this repository.
package osinfo

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// DefaultPath is where Debian's osinfo-db installs the database.
const DefaultPath = "/usr/share/osinfo"

// OS is one operating system entry, with what it inherits filled in.
type OS struct {
	ID      string // e.g. http://debian.org/debian/11
	ShortID string // e.g. debian11 (the first short-id)
	Name    string // e.g. Debian 11
	Vendor  string
	Family  string // linux, winnt, freebsd, …
	Distro  string // debian, ubuntu, fedora, win, …
	Version string
	// Parent is the id of the entry this one derives from or clones; "".
	Parent string
	// Source is "osinfo" (the database) or "portal" (our own table).
	Source string
}

// Media is what an ISO's primary volume descriptor says of it.
type Media struct {
	VolumeID, SystemID, PublisherID, ApplicationID string
}

// matcher is one media entry of the database: its regexes, nil where the
// entry says nothing (which matches anything).
type matcher struct {
	os                                 int // index in DB.oses
	volume, system, publisher, applied *regexp.Regexp
}

// DB is a loaded database. It is read-only after Load and safe for
// concurrent use.
type DB struct {
	path     string
	oses     []OS
	byID     map[string]int
	matchers []matcher
	hw       []hardware // parallel to oses: devices, resources, firmware
	// Skipped counts the media regexes Go's regexp cannot compile (the
	// database is written for PCRE); those media never match.
	Skipped int
}

// Path is the folder the database was read from.
func (db *DB) Path() string { return db.path }

// Len is the number of OS entries.
func (db *DB) Len() int { return len(db.oses) }

// ErrNoDatabase: the folder holds no osinfo database.
var ErrNoDatabase = errors.New("osinfo: no database")

// The XML of the database, as far as it is needed.
type xmlDoc struct {
	OS []xmlOS `xml:"os"`
}

type xmlText struct {
	Lang  string `xml:"lang,attr"`
	Value string `xml:",chardata"`
}

type xmlRef struct {
	ID string `xml:"id,attr"`
}

type xmlOS struct {
	ID          string     `xml:"id,attr"`
	ShortIDs    []string   `xml:"short-id"`
	Names       []xmlText  `xml:"name"`
	Vendors     []xmlText  `xml:"vendor"`
	Family      string     `xml:"family"`
	Distro      string     `xml:"distro"`
	Version     string     `xml:"version"`
	DerivesFrom *xmlRef    `xml:"derives-from"`
	Clones      *xmlRef    `xml:"clones"`
	Media       []xmlMedia `xml:"media"`
	// Devices, resources and firmware feed the OS defaults (defaults.go).
	Devices *struct {
		Device []xmlRef `xml:"device"`
	} `xml:"devices"`
	Resources []xmlResources `xml:"resources"`
	Firmware  []xmlFirmware  `xml:"firmware"`
}

type xmlMedia struct {
	ISO *struct {
		VolumeID      string `xml:"volume-id"`
		SystemID      string `xml:"system-id"`
		PublisherID   string `xml:"publisher-id"`
		ApplicationID string `xml:"application-id"`
	} `xml:"iso"`
}

// plain is the text without a language: the English one.
func plain(ts []xmlText) string {
	for _, t := range ts {
		if t.Lang == "" {
			return strings.TrimSpace(t.Value)
		}
	}
	return ""
}

// Load reads every os/**/*.xml below dir, in file name order (the order
// decides which entry wins when two recognise the same ISO).
func Load(dir string) (*DB, error) {
	osDir := filepath.Join(dir, "os")
	var files []string
	err := filepath.WalkDir(osDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".xml") {
			files = append(files, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (install the Debian package osinfo-db, or set osinfo.path)", ErrNoDatabase, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("osinfo: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%w in %s: no os/*.xml files", ErrNoDatabase, dir)
	}
	slices.Sort(files)
	db := &DB{path: dir, byID: map[string]int{}}
	var raw []xmlOS
	compiled := map[string]*regexp.Regexp{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("osinfo: %w", err)
		}
		var doc xmlDoc
		if err := xml.Unmarshal(b, &doc); err != nil {
			return nil, fmt.Errorf("osinfo: %s: %w", f, err)
		}
		raw = append(raw, doc.OS...)
	}
	for _, x := range raw {
		if x.ID == "" {
			continue
		}
		o := OS{ID: x.ID, Name: plain(x.Names), Vendor: plain(x.Vendors), Family: strings.TrimSpace(x.Family),
			Distro: strings.TrimSpace(x.Distro), Version: strings.TrimSpace(x.Version), Source: "osinfo"}
		if len(x.ShortIDs) > 0 {
			o.ShortID = strings.TrimSpace(x.ShortIDs[0])
		}
		if x.DerivesFrom != nil {
			o.Parent = x.DerivesFrom.ID
		} else if x.Clones != nil {
			o.Parent = x.Clones.ID
		}
		idx, seen := db.byID[o.ID]
		if seen {
			// An entry may be spread over files (win-10.xml and
			// win-10.d/*.xml): the parts add up.
			db.oses[idx] = mergeOS(db.oses[idx], o)
			db.hw[idx] = mergeHardware(db.hw[idx], hardwareOf(x))
		} else {
			idx = len(db.oses)
			db.byID[o.ID] = idx
			db.oses = append(db.oses, o)
			db.hw = append(db.hw, hardwareOf(x))
		}
		for _, m := range x.Media {
			if m.ISO == nil {
				continue
			}
			mt, ok := compileMedia(compiled, idx, m.ISO.VolumeID, m.ISO.SystemID, m.ISO.PublisherID, m.ISO.ApplicationID)
			switch {
			case !ok:
				db.Skipped++
			case mt.volume != nil || mt.system != nil || mt.publisher != nil || mt.applied != nil:
				db.matchers = append(db.matchers, mt)
			}
		}
	}
	db.inherit()
	return db, nil
}

// mergeOS fills a's empty fields from b.
func mergeOS(a, b OS) OS {
	for _, f := range []struct {
		dst *string
		src string
	}{{&a.ShortID, b.ShortID}, {&a.Name, b.Name}, {&a.Vendor, b.Vendor},
		{&a.Family, b.Family}, {&a.Distro, b.Distro}, {&a.Version, b.Version}, {&a.Parent, b.Parent}} {
		if *f.dst == "" {
			*f.dst = f.src
		}
	}
	return a
}

// compileMedia compiles a media entry's regexes; ok is false when one
// does not compile.
// Identical regexes (system id LINUX on a thousand media) are compiled once,
// through seen.
func compileMedia(seen map[string]*regexp.Regexp, osIdx int, volume, system, publisher, application string) (matcher, bool) {
	mt := matcher{os: osIdx}
	for _, f := range []struct {
		src string
		dst **regexp.Regexp
	}{{volume, &mt.volume}, {system, &mt.system}, {publisher, &mt.publisher}, {application, &mt.applied}} {
		src := strings.TrimSpace(f.src)
		if src == "" {
			continue
		}
		re, ok := seen[src]
		if !ok {
			var err error
			if re, err = regexp.Compile(src); err != nil {
				re = nil
			}
			seen[src] = re
		}
		if re == nil {
			return mt, false
		}
		*f.dst = re
	}
	return mt, true
}

// inherit fills vendor, family and distro from the entry an OS derives
// from or clones, as libosinfo's derived entries read.
func (db *DB) inherit() {
	for i := range db.oses {
		o := &db.oses[i]
		p := o.Parent
		for depth := 0; p != "" && depth < 16 && (o.Vendor == "" || o.Family == "" || o.Distro == ""); depth++ {
			j, ok := db.byID[p]
			if !ok {
				break
			}
			par := db.oses[j]
			if o.Vendor == "" {
				o.Vendor = par.Vendor
			}
			if o.Family == "" {
				o.Family = par.Family
			}
			if o.Distro == "" {
				o.Distro = par.Distro
			}
			p = par.Parent
		}
	}
}

// Lookup returns the entry of id (a full id or a short id).
func (db *DB) Lookup(id string) (OS, bool) {
	if i, ok := db.byID[id]; ok {
		return db.oses[i], true
	}
	for _, o := range db.oses {
		if o.ShortID == id {
			return o, true
		}
	}
	return OS{}, false
}

// matchField is libosinfo's rule: a media entry without a regex for a
// field accepts anything; one with a regex needs a descriptor value it
// finds anywhere in (unanchored).
func matchField(re *regexp.Regexp, s string) bool {
	return re == nil || (s != "" && re.MatchString(s))
}

// Match returns the OS whose installer media the descriptor names: our own
// table of newer releases first (entries the database already has are
// left to it), then the database in load order; the first match wins.
func (db *DB) Match(m Media) (OS, bool) {
	if db == nil {
		return OS{}, false
	}
	if o, ok := matchExtra(m, db.byID); ok {
		return o, true
	}
	for _, mt := range db.matchers {
		if matchField(mt.volume, m.VolumeID) && matchField(mt.system, m.SystemID) &&
			matchField(mt.publisher, m.PublisherID) && matchField(mt.applied, m.ApplicationID) {
			return db.oses[mt.os], true
		}
	}
	return OS{}, false
}
