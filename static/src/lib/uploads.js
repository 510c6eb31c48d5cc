// Resumable uploads, the parts without a browser: which format a file
// becomes, what refuses it before a byte is sent, what the server's tus
// answers mean, and the rate and time left a person reads. The uploader
// (ui/uploader.js) drives tus-js-client with these.

import { errorText } from './errors.js';
import { formatBytes } from './format.js';
import { volumeNameProblem } from './storage.js';

/** How long tus-js-client waits before each retry after a lost connection (ms). */
export const RETRY_DELAYS = Object.freeze([0, 1000, 3000, 5000, 10000, 20000, 30000, 60000]);

/**
 * The size of one PATCH: large enough that the per-request overhead (one
 * libvirt stream each) stays small, small enough that a drop loses little.
 */
export const CHUNK_SIZE = 64 * 1024 * 1024;

/**
 * The volume format a file name implies; the server derives the same.
 * @param {string} name
 * @returns {'qcow2'|'iso'|'raw'}
 */
export function uploadFormat(name) {
  const n = name.toLowerCase();
  if (n.endsWith('.qcow2')) return 'qcow2';
  if (n.endsWith('.iso')) return 'iso';
  return 'raw';
}

/**
 * Why a file cannot be uploaded into the pool, before anything is sent:
 * a catalog key and its parameters, or null.
 * @param {{name: string, size: number}} file
 * @param {{available?: number}|undefined} pool
 * @param {Set<string>} [taken] names of the pool's volumes and uploads under way
 * @param {number} [maxSize] the server's limit for one upload (0: unknown)
 * @returns {{key: string, params?: Record<string, unknown>}|null}
 */
export function fileProblem(file, pool, taken = new Set(), maxSize = 0) {
  const name = volumeNameProblem(file.name);
  if (name) return { key: name, params: { max: 128 } };
  if (file.size === 0) return { key: 'uploads.problem.empty' };
  if (taken.has(file.name)) return { key: 'uploads.problem.taken' };
  if (maxSize > 0 && file.size > maxSize) return { key: 'uploads.problem.max', params: { max: formatBytes(maxSize) } };
  if (pool && typeof pool.available === 'number' && file.size > pool.available) return { key: 'uploads.problem.space' };
  return null;
}

/**
 * The API error inside a tus-js-client failure: the status, the code and
 * the text to show. A failure without a response (the network) has status 0.
 * @param {any} err a tus-js-client DetailedError or any Error
 * @returns {{status: number, code: string, message: string}}
 */
export function tusFailure(err) {
  const res = err?.originalResponse;
  const status = typeof res?.getStatus === 'function' ? res.getStatus() : 0;
  let code = '';
  let message = '';
  const body = typeof res?.getBody === 'function' ? res.getBody() : '';
  if (body) {
    try {
      const e = JSON.parse(body)?.error;
      code = typeof e?.code === 'string' ? e.code : '';
      message = typeof e?.message === 'string' ? e.message : '';
    } catch {
      // Not the API's envelope (a proxy's page): the status says enough.
    }
  }
  if (!code && status === 0) code = 'network';
  return { status, code, message: code === 'network' ? '' : errorText(code, message) };
}

/**
 * Keeps a rate over the last few seconds, so the speed a person reads does
 * not jump with every progress event.
 * @param {number} [windowMs]
 */
export function rateMeter(windowMs = 5000) {
  /** @type {Array<[number, number]>} */
  let samples = [];
  return {
    /** @param {number} bytes sent so far @param {number} now ms */
    add(bytes, now) {
      samples.push([now, bytes]);
      while (samples.length > 2 && now - samples[0][0] > windowMs) samples.shift();
    },
    /** Bytes a second, or null while there is too little to tell. */
    rate() {
      if (samples.length < 2) return null;
      const [t0, b0] = samples[0];
      const [t1, b1] = samples[samples.length - 1];
      if (t1 - t0 < 500 || b1 < b0) return null;
      return ((b1 - b0) * 1000) / (t1 - t0);
    },
    reset() {
      samples = [];
    },
  };
}

/**
 * Seconds left at a rate, or null when unknown.
 * @param {number} sent @param {number} total @param {number|null} rate bytes/s
 */
export function secondsLeft(sent, total, rate) {
  if (!rate || rate <= 0 || total <= sent) return null;
  return Math.ceil((total - sent) / rate);
}

/**
 * A duration a person reads: "45 s", "3 min", "1 h 20 min".
 * @param {number|null} s seconds
 * @returns {{key: string, params: Record<string, number>}|null}
 */
export function durationParts(s) {
  if (s === null || !Number.isFinite(s)) return null;
  if (s < 60) return { key: 'uploads.left.seconds', params: { n: Math.max(1, Math.round(s)) } };
  if (s < 3600) return { key: 'uploads.left.minutes', params: { n: Math.round(s / 60) } };
  const h = Math.floor(s / 3600);
  return { key: 'uploads.left.hours', params: { h, m: Math.round((s - h * 3600) / 60) } };
}

/**
 * The unfinished server-side upload a chosen file continues, if any: same
 * pool, name and size (a browser cannot reopen a file, so after a reload the
 * person picks it again).
 * @param {{name: string, size: number}} file
 * @param {string} pool
 * @param {Array<{pool: string, name: string, size: number}>} unfinished
 */
export function matchUnfinished(file, pool, unfinished) {
  return unfinished.find((u) => u.pool === pool && u.name === file.name && u.size === file.size) ?? null;
}
