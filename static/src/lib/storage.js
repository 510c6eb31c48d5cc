// Storage as the Storage page shows it: how full a pool is, and the
// checks of the new-volume form (the server's rules, said early). Pure.

/** Pool states (api.Pool). */
export const POOL_STATES = Object.freeze(['inactive', 'building', 'running', 'degraded', 'inaccessible']);

/** Why an ISO's operating system is unknown (api.ISO.reason). */
export const ISO_REASONS = Object.freeze(['not_iso', 'unrecognised', 'osinfo_unavailable', 'unreadable', 'volume_read_not_supported']);

/**
 * What the ISO library shows for an ISO's OS: its name, or a catalog key
 * (with a hint key saying why it is unknown).
 * @param {{status?: string, os?: {name?: string}|null, reason?: string}} iso
 * @returns {{name?: string, key?: string, hint?: string}}
 */
export function isoOS(iso) {
  if (iso?.status === 'detected' && iso.os?.name) return { name: iso.os.name };
  if (iso?.status === 'unavailable') return { key: 'storage.iso.status.unavailable' };
  const hint = ISO_REASONS.includes(iso?.reason) ? `storage.iso.reason.${iso.reason}` : undefined;
  return { key: 'storage.iso.status.unknown', hint };
}

/** Volume formats the server creates; the first is the default. */
export const VOLUME_FORMATS = Object.freeze(['qcow2', 'raw']);

/** The longest volume name the server accepts, in bytes. */
export const VOLUME_NAME_MAX = 128;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;
const GIB = 1024 ** 3;

/**
 * How full a pool is, 0–1 (0 when its capacity is unknown).
 * @param {{capacity?: number, allocation?: number}} pool
 */
export function usedFraction(pool) {
  const cap = Number(pool?.capacity);
  const used = Number(pool?.allocation);
  if (!(cap > 0) || !(used >= 0)) return 0;
  return Math.min(1, used / cap);
}

/**
 * The tone of a pool's bar: warn from 80 %, danger from 95 %.
 * @param {number} fraction
 */
export function usageTone(fraction) {
  return fraction >= 0.95 ? 'danger' : fraction >= 0.8 ? 'warn' : 'ok';
}

/**
 * What is wrong with a volume name (a catalog key), or null.
 * @param {string} name
 */
export function volumeNameProblem(name) {
  if (!name) return 'storage.create.nameRequired';
  if (new TextEncoder().encode(name).length > VOLUME_NAME_MAX) return 'storage.create.nameTooLong';
  if (!NAME_RE.test(name)) return 'storage.create.nameInvalid';
  return null;
}

/**
 * A size typed in GiB ("20", "0.5", "1,5") as bytes, or null when it is not
 * a positive number.
 * @param {string} text
 */
export function parseGiB(text) {
  const s = String(text ?? '').trim().replace(',', '.');
  if (!/^\d+(\.\d+)?$/.test(s)) return null;
  const bytes = Math.round(Number(s) * GIB);
  return bytes > 0 ? bytes : null;
}

/**
 * The pools with what the page needs to know first: the selected one (by
 * name, else the first running one, else the first).
 * @param {Array<{name: string, state?: string}>} pools
 * @param {string} wanted
 */
export function pickPool(pools, wanted) {
  if (!pools.length) return '';
  if (wanted && pools.some((p) => p.name === wanted)) return wanted;
  return (pools.find((p) => p.state === 'running') ?? pools[0]).name;
}
