#!/usr/bin/env bash
# Starts or stops a system libvirtd (qemu:///system with KVM) without systemd,
# for the end-to-end suite. Usage: libvirtd.sh status|start|stop.
# The Makefile asks "status" first and stops only a libvirtd its own run
# started, so a daemon someone else runs is used and left alone.
set -euo pipefail

state=/run/virtportal-e2e
uri=qemu:///system

status() { virsh -c "$uri" version >/dev/null 2>&1; }

start() {
  if status; then
    echo "libvirtd.sh: a libvirtd already answers on $uri" >&2
    exit 1
  fi
  [[ $(id -u) -eq 0 ]] || { echo "libvirtd.sh: starting libvirtd needs root" >&2; exit 1; }
  if [[ ! -e /dev/kvm ]]; then
    # The same QEMU and libvirtd, without acceleration: the suites' guests
    # (SeaBIOS only) boot under TCG too; e2e picks the domain type the same way.
    echo "libvirtd.sh: WARNING: /dev/kvm is missing on this machine; guests run under QEMU's TCG emulation, not KVM" >&2
  fi
  for g in kvm libvirt libvirt-qemu; do getent group "$g" >/dev/null || groupadd -r "$g"; done
  id libvirt-qemu >/dev/null 2>&1 || useradd -r -g kvm -G libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu
  mkdir -p /var/log/libvirt /var/lib/libvirt/images /var/run/libvirt "$state"
  if [[ -e /dev/kvm ]]; then chgrp kvm /dev/kvm && chmod 660 /dev/kvm; fi
  # Members of group libvirt (the portal's service user) may connect without polkit.
  cat > "$state/libvirtd.conf" <<CONF
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0770"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
CONF
  pgrep -x virtlogd >/dev/null || { virtlogd -d; touch "$state/virtlogd.ours"; }
  # QEMU guests cannot start until virtlogd listens.
  for _ in $(seq 1 40); do [[ -S /run/libvirt/virtlogd-sock ]] && break; sleep 0.25; done
  [[ -S /run/libvirt/virtlogd-sock ]] || { echo "libvirtd.sh: virtlogd did not listen within 10 s" >&2; exit 1; }
  # One core: the two cores report different CPUID, which throws away the
  # capability cache and makes every start cold.
  taskset -c 0 libvirtd -d -f "$state/libvirtd.conf"
  for _ in $(seq 1 120); do
    virsh -c "$uri" version >/dev/null 2>&1 && { echo "libvirtd.sh: libvirtd is up"; return 0; }
    sleep 0.5
  done
  echo "libvirtd.sh: libvirtd did not answer within 60 s; /var/log/libvirt:" >&2
  tail -n 20 /var/log/libvirt/*.log >&2 || true
  exit 1
}

stop() {
  # Guests outlive libvirtd: stop the test guests first.
  for d in $(virsh -c "$uri" list --name 2>/dev/null | grep '^vpe2e-' || true); do
    virsh -c "$uri" destroy "$d" >/dev/null 2>&1 || true
  done
  pkill -x libvirtd || true
  for _ in $(seq 1 40); do pgrep -x libvirtd >/dev/null || break; sleep 0.25; done
  if [[ -e "$state/virtlogd.ours" ]]; then
    pkill -x virtlogd || true
    # Wait for it to go: a start right after would otherwise see the dying
    # one, start none, and find no socket when it has gone.
    for _ in $(seq 1 40); do pgrep -x virtlogd >/dev/null || break; sleep 0.25; done
    rm -f "$state/virtlogd.ours"
  fi
  echo "libvirtd.sh: stopped"
}

case "${1:-}" in
  status) status ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 status|start|stop" >&2; exit 2 ;;
esac
