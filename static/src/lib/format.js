// Number, size, rate, percent and time formatting through Intl, in the
// active locale. Sizes use binary units (KiB, MiB, GiB …) like libvirt does;
// the unit words come from the catalog.

import { getLocale, t } from './i18n.js';

const cache = new Map();

/**
 * The formatter kept under name for the active locale, made once by make.
 * @template T
 * @param {string} name
 * @param {(locale: string) => T} make
 * @returns {T}
 */
function cached(name, make) {
  const key = getLocale() + ':' + name;
  let f = cache.get(key);
  if (!f) {
    f = make(getLocale());
    cache.set(key, f);
  }
  return f;
}

/** A cached Intl.NumberFormat for the active locale. */
function nf(options) {
  return cached(JSON.stringify(options), (l) => new Intl.NumberFormat(l, options));
}

function finite(n) {
  return typeof n === 'number' && Number.isFinite(n);
}

/** The placeholder shown when a value is unknown or not meaningful. */
export function none() {
  return t('common.none');
}

/**
 * A plain number with grouping.
 * @param {number} n
 * @param {Intl.NumberFormatOptions} [options]
 */
export function formatNumber(n, options = {}) {
  if (!finite(n)) return none();
  return nf(options).format(n);
}

/**
 * A percentage given on a 0–100 scale: one decimal below 10, none above.
 * @param {number} p
 */
export function formatPercent(p) {
  if (!finite(p)) return none();
  const v = Math.max(0, p);
  const digits = v > 0 && v < 10 ? 1 : 0;
  return nf({ style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: 0 }).format(v / 100);
}

export const BYTE_UNITS = ['b', 'kib', 'mib', 'gib', 'tib', 'pib'];

/**
 * A byte count in binary units: "0 B", "512 B", "1.5 KiB", "2 GiB", "12 GiB".
 * @param {number} bytes
 */
export function formatBytes(bytes) {
  if (!finite(bytes) || bytes < 0) return none();
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  // Keep at most three significant digits: 1.5, 15, 150 (never "1,024").
  let digits = i === 0 ? 0 : v < 10 ? 1 : 0;
  let rounded = Number(v.toFixed(digits));
  if (rounded >= 1024 && i < BYTE_UNITS.length - 1) {
    rounded = 1;
    i++;
    digits = 0;
  }
  const n = nf({ maximumFractionDigits: digits }).format(rounded);
  return t(`unit.${BYTE_UNITS[i]}`, { n });
}

/**
 * A size given in MiB (as the API reports memory).
 * @param {number} mib
 */
export function formatMiB(mib) {
  if (!finite(mib) || mib < 0) return none();
  return formatBytes(mib * 1024 * 1024);
}

/**
 * A byte rate: "0 B/s", "1.2 MiB/s".
 * @param {number} bps bytes per second
 */
export function formatRate(bps) {
  if (!finite(bps) || bps < 0) return none();
  return t('unit.rate', { size: formatBytes(bps) });
}

/**
 * Clock time of a Date (for "updated at …").
 * @param {Date} date
 */
export function formatTime(date) {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) return none();
  const f = cached('time', (l) => new Intl.DateTimeFormat(l, { hour: '2-digit', minute: '2-digit', second: '2-digit' }));
  return f.format(date);
}

/**
 * Date and time (for session expiry and the like).
 * @param {Date|string} value
 */
export function formatDateTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return none();
  const f = cached('datetime', (l) => new Intl.DateTimeFormat(l, { dateStyle: 'medium', timeStyle: 'short' }));
  return f.format(date);
}

/**
 * A list of words joined for the locale: "admin, auditor and user".
 * @param {string[]} items
 */
export function formatList(items) {
  if (!items || items.length === 0) return none();
  const f = cached('list', (l) => new Intl.ListFormat(l, { style: 'long', type: 'conjunction' }));
  return f.format(items);
}

// Display names of well-known distributions as osinfo short ids spell them.
// These are proper names, the same in every language.
const DISTROS = {
  alma: 'AlmaLinux', almalinux: 'AlmaLinux', alpine: 'Alpine', arch: 'Arch Linux',
  archlinux: 'Arch Linux', centos: 'CentOS', 'centos-stream': 'CentOS Stream', debian: 'Debian',
  fedora: 'Fedora', freebsd: 'FreeBSD', netbsd: 'NetBSD', openbsd: 'OpenBSD', opensuse: 'openSUSE',
  rhel: 'RHEL', rocky: 'Rocky Linux', rockylinux: 'Rocky Linux', sles: 'SLES', ubuntu: 'Ubuntu',
  win: 'Windows', windows: 'Windows', cirros: 'CirrOS', gentoo: 'Gentoo', nixos: 'NixOS',
};

/**
 * The OS of a guest from its metadata: "Debian 12", "Ubuntu 24.04", or the
 * placeholder when unknown.
 * @param {{distro?: string, version?: string}|null|undefined} os
 */
export function formatOS(os) {
  if (!os || !os.distro) return none();
  const id = String(os.distro).toLowerCase();
  const name = DISTROS[id] ?? os.distro;
  return os.version ? `${name} ${os.version}` : name;
}

const RELATIVE_STEPS = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
  ['week', 4.35],
  ['month', 12],
  ['year', Infinity],
];

/**
 * How long ago (or ahead) a time is, in words: "now", "5 minutes ago",
 * "yesterday", "3 weeks ago".
 * @param {Date|string} value
 * @param {Date|number} [now]
 */
export function formatRelative(value, now = Date.now()) {
  const date = value instanceof Date ? value : new Date(value);
  const ref = now instanceof Date ? now.getTime() : now;
  if (Number.isNaN(date.getTime()) || !Number.isFinite(ref)) return none();
  const f = cached('relative', (l) => new Intl.RelativeTimeFormat(l, { numeric: 'auto', style: 'long' }));
  let v = (date.getTime() - ref) / 1000;
  if (Math.abs(v) < 45) return f.format(0, 'second');
  for (const [unit, size] of RELATIVE_STEPS) {
    if (Math.abs(v) < size) return f.format(Math.round(v), unit);
    v /= size;
  }
  return none();
}

/**
 * Date and time with seconds and the zone's name, for a title attribute.
 * @param {Date|string} value
 */
export function formatFullDateTime(value) {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) return none();
  const f = cached('fulldatetime', (l) => new Intl.DateTimeFormat(l, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
  }));
  return f.format(date);
}
