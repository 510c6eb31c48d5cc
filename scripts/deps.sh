#!/usr/bin/env bash
# Installs the Debian packages a make target needs, only those missing.
# Usage: scripts/deps.sh GROUP...   (groups: build libvirt browser ldap websockify)
# Quick and silent when everything is present.
set -euo pipefail

declare -A groups=(
  [build]="pkg-config libvirt-dev libpam0g-dev osinfo-db"
  [libvirt]="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients qemu-system-x86 qemu-utils dnsmasq-base iptables lvm2"
  [browser]="chromium fonts-wqy-microhei"
  [ldap]="slapd ldap-utils"
  [websockify]="websockify"
)

missing=()
for g in "$@"; do
  [[ -n "${groups[$g]:-}" ]] || { echo "deps.sh: unknown group $g" >&2; exit 2; }
  for p in ${groups[$g]}; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "deps.sh: missing Debian packages: ${missing[*]}" >&2
  echo "deps.sh: run as root, or: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
