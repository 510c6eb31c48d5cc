package osinfo

import (
	"fmt"
	"regexp"
)

// extra is our own table of releases newer than the packaged database
// (Debian 12's osinfo-db ends at Ubuntu 22.10, Debian 11 and RHEL 9.1).
// An entry whose id the loaded database has is left to the database, so
// a newer database takes over without a change here.
var extra = buildExtra()

type extraEntry struct {
	os OS
	re *regexp.Regexp // on the volume id
}

func buildExtra() []extraEntry {
	var out []extraEntry
	add := func(o OS, volumeRE string) {
		o.Source = "portal"
		out = append(out, extraEntry{os: o, re: regexp.MustCompile(volumeRE)})
	}
	for _, v := range []struct{ n, code string }{{"12", "bookworm"}, {"13", "trixie"}} {
		add(OS{ID: "http://debian.org/debian/" + v.n, ShortID: "debian" + v.n, Name: "Debian " + v.n, Vendor: "Debian Project",
			Family: "linux", Distro: "debian", Version: v.n, Parent: "http://debian.org/debian/11"},
			`^Debian `+v.n+`\.\d+\.\d+ `)
	}
	for _, v := range []struct{ n, lts string }{{"23.04", ""}, {"23.10", ""}, {"24.04", " LTS"}, {"24.10", ""}, {"25.04", ""}} {
		name := "Ubuntu " + v.n + v.lts
		add(OS{ID: "http://ubuntu.com/ubuntu/" + v.n, ShortID: "ubuntu" + v.n, Name: name, Vendor: "Canonical Ltd",
			Family: "linux", Distro: "ubuntu", Version: v.n, Parent: "http://ubuntu.com/ubuntu/22.10"},
			`^Ubuntu(-Server)? `+regexp.QuoteMeta(v.n)+`(\.\d+)?`+v.lts+` `)
	}
	for n := 38; n <= 42; n++ {
		add(OS{ID: fmt.Sprintf("http://fedoraproject.org/fedora/%d", n), ShortID: fmt.Sprintf("fedora%d", n), Name: fmt.Sprintf("Fedora Linux %d", n),
			Vendor: "Fedora Project", Family: "linux", Distro: "fedora", Version: fmt.Sprint(n), Parent: "http://fedoraproject.org/fedora/37"},
			fmt.Sprintf(`^Fedora-[A-Za-z0-9_-]*-%d(-[0-9.-]+)?$`, n))
	}
	for minor := 2; minor <= 6; minor++ {
		v := fmt.Sprintf("9.%d", minor)
		add(OS{ID: "http://redhat.com/rhel/" + v, ShortID: "rhel" + v, Name: "Red Hat Enterprise Linux " + v, Vendor: "Red Hat, Inc",
			Family: "linux", Distro: "rhel", Version: v, Parent: "http://redhat.com/rhel/9.1"},
			fmt.Sprintf(`^RHEL-9-%d-\d+-BaseOS-`, minor))
		add(OS{ID: "http://rockylinux.org/rocky/" + v, ShortID: "rocky" + v, Name: "Rocky Linux " + v, Vendor: "Rocky Enterprise Software Foundation",
			Family: "linux", Distro: "rocky", Version: v, Parent: "http://redhat.com/rhel/" + v},
			fmt.Sprintf(`^Rocky-9-%d-`, minor))
		add(OS{ID: "http://almalinux.org/almalinux/" + v, ShortID: "almalinux" + v, Name: "AlmaLinux " + v, Vendor: "AlmaLinux OS Foundation",
			Family: "linux", Distro: "almalinux", Version: v, Parent: "http://redhat.com/rhel/" + v},
			fmt.Sprintf(`^AlmaLinux-9-%d-`, minor))
	}
	return out
}

// matchExtra matches our table, skipping entries the database has.
func matchExtra(m Media, inDB map[string]int) (OS, bool) {
	if m.VolumeID == "" {
		return OS{}, false
	}
	for _, e := range extra {
		if _, ok := inDB[e.os.ID]; ok {
			continue
		}
		if e.re.MatchString(m.VolumeID) {
			return e.os, true
		}
	}
	return OS{}, false
}
