#!/usr/bin/env bash
# Builds the Debian package from the binaries `make build` made.
# Usage: mkdeb.sh VERSION OUT.deb   (run from the repository's root)
set -euo pipefail

version=$1 out=$2
arch=$(dpkg --print-architecture)
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"

install -D -m 0755 bin/virtportal "$root/usr/bin/virtportal"
install -D -m 0755 bin/virtportal-helper "$root/usr/sbin/virtportal-helper"
install -D -m 0644 packaging/virtportal.service "$root/lib/systemd/system/virtportal.service"
install -D -m 0644 packaging/virtportal-helper.service "$root/lib/systemd/system/virtportal-helper.service"
install -D -m 0644 packaging/virtportal.pam "$root/etc/pam.d/virtportal"
install -D -m 0640 packaging/config.yaml "$root/etc/virtportal/config.yaml"
doc=$root/usr/share/doc/virtportal
install -D -m 0644 README.md "$doc/README.md"
install -D -m 0644 virtportal.example.yaml "$doc/virtportal.example.yaml"
install -D -m 0644 packaging/virtportal.pam "$doc/virtportal.pam"
{
	echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
	echo "Upstream-Name: virtportal"
	echo "Source: https://github.com/virtportal/virtportal"
	echo
	echo "Files: *"
	echo "Copyright: the virtportal developers"
	echo "License: Apache-2.0"
	echo " On Debian systems the full text of the license is in"
	echo " /usr/share/common-licenses/Apache-2.0."
} > "$doc/copyright"
chmod 0644 "$doc/copyright"
printf 'virtportal (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- virtportal developers <dev@virtportal.invalid>  %s\n' \
	"$version" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" "$(date -R)" | gzip -9n > "$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"

install -d -m 0755 "$root/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
printf '/etc/pam.d/virtportal\n/etc/virtportal/config.yaml\n' > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print0 | sort -z | xargs -0 md5sum | sed 's# \./# #') > "$root/DEBIAN/md5sums"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: virtportal
Version: $version
Architecture: $arch
Maintainer: virtportal developers <dev@virtportal.invalid>
Installed-Size: $size
Depends: libc6 (>= 2.34), libvirt0 (>= 9.0.0), libpam0g (>= 1.4), passwd
Recommends: libvirt-daemon-system, qemu-system-x86, osinfo-db
Section: admin
Priority: optional
Homepage: https://github.com/virtportal/virtportal
Description: multi-tenant web portal for KVM hosts
 virtportal lets people log in from a browser with their system (PAM) or
 directory (LDAP / Active Directory) accounts and use the KVM guests an
 administrator assigned to them: power, consoles in the browser, disks,
 networks, templates, storage. The server runs as the unprivileged user
 virtportal in group libvirt; virtportal-helper (root) only checks
 passwords with PAM.
CONTROL
mkdir -p "$(dirname "$out")"
rm -f "$(dirname "$out")"/virtportal_*.deb
dpkg-deb --root-owner-group -Zgzip --build "$root" "$out" >/dev/null
echo "$out"
