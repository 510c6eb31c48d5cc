// The JSON API client: every call of the browser app goes through request(),
// which sends the session cookie, adds the CSRF header to unsafe methods,
// and turns the API's error envelope into an ApiError.

import { errorText } from './errors.js';
import { t } from './i18n.js';

export const API = '/api/v1';

/**
 * An API failure: the HTTP status (0 for a network failure), the API's code,
 * and message: the code's translation (lib/errors.js) or else the server's
 * message, which stays in serverMessage.
 */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {{retryAfter?: number|null, details?: Array<{field: string, message: string}>, serverMessage?: string}} [extra]
   */
  constructor(status, code, message, extra = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = extra.retryAfter ?? null;
    this.details = extra.details ?? [];
    this.serverMessage = extra.serverMessage ?? message;
  }
}

/**
 * Seconds to wait from a Retry-After header: delta seconds or an HTTP date.
 * @param {string|null|undefined} value
 * @param {number} [now] milliseconds since the epoch
 * @returns {number|null}
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (value == null) return null;
  const s = String(value).trim();
  if (s === '') return null;
  if (/^\d+$/.test(s)) return Number(s);
  const when = Date.parse(s);
  if (Number.isNaN(when)) return null;
  return Math.max(0, Math.ceil((when - now) / 1000));
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

let csrfToken = '';
let onUnauthorized = null;

/**
 * Set the CSRF token (from the session answer) and what to do when a call
 * answers 401 (the session ended).
 * @param {{csrfToken?: string, onUnauthorized?: (() => void)|null}} opts
 */
export function configure(opts) {
  if ('csrfToken' in opts) csrfToken = opts.csrfToken ?? '';
  if ('onUnauthorized' in opts) onUnauthorized = opts.onUnauthorized ?? null;
}

/** The session's CSRF token, for requests made outside request() (tus uploads). */
export function csrf() {
  return csrfToken;
}

/** Tell the app the session ended (a 401 answered outside request()). */
export function unauthorized() {
  onUnauthorized?.();
}

/**
 * Call the API.
 * @param {string} method
 * @param {string} path below /api/v1, starting with "/"
 * @param {{body?: unknown, query?: Record<string, string|number|boolean|undefined>, signal?: AbortSignal, quiet401?: boolean}} [opts]
 *   quiet401: a 401 is an answer, not the end of the session (login, session probe)
 * @returns {Promise<any>} the decoded JSON, or null for 204
 */
export async function request(method, path, opts = {}) {
  let url = API + path;
  if (opts.query) {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) if (v !== undefined && v !== '') qs.set(k, String(v));
    const s = qs.toString();
    if (s) url += '?' + s;
  }
  const headers = { Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (UNSAFE.has(method) && csrfToken) headers['X-CSRF-Token'] = csrfToken;

  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      credentials: 'same-origin',
      cache: 'no-store',
      signal: opts.signal,
    });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiError(0, 'network', t('error.network'));
  }

  return decode(res, opts);
}

/**
 * Decode an answer of the API: its JSON, or an ApiError from its envelope.
 * @param {Response} res
 * @param {{quiet401?: boolean}} [opts]
 */
async function decode(res, opts = {}) {
  let data = null;
  if (res.status !== 204) {
    const text = await res.text().catch(() => '');
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
  }
  if (res.ok) return data;

  const env = data && typeof data === 'object' ? data.error : null;
  const code = env?.code || `http_${res.status}`;
  const err = new ApiError(
    res.status,
    code,
    errorText(code, env?.message || t('error.http', { status: String(res.status) })),
    { retryAfter: parseRetryAfter(res.headers.get('Retry-After')), details: env?.details, serverMessage: env?.message ?? '' },
  );
  if (res.status === 401 && !opts.quiet401 && onUnauthorized) onUnauthorized();
  throw err;
}

/**
 * Decode a request that was started elsewhere (lib/early.js) as request() would.
 * @param {Promise<Response|null>} pending null: the request failed on the network
 */
export async function adopt(pending) {
  const res = await pending;
  if (!res) throw new ApiError(0, 'network', t('error.network'));
  return decode(res, { quiet401: true }); // the session check handles a 401
}

/**
 * GET an image (a guest's screenshot). Not an error to throw: the caller
 * wants the status (409 and 501 mean "no screen", not a failure).
 * @param {string} path below /api/v1
 * @param {AbortSignal} [signal]
 * @returns {Promise<{status: number, blob: Blob|null}>} status 0: no answer
 */
export async function requestImage(path, signal) {
  let res;
  try {
    res = await fetch(API + path, { credentials: 'same-origin', cache: 'no-store', signal, headers: { Accept: 'image/png' } });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    return { status: 0, blob: null };
  }
  if (res.status === 401 && onUnauthorized) onUnauthorized();
  if (!res.ok || !(res.headers.get('Content-Type') ?? '').startsWith('image/')) {
    res.body?.cancel().catch(() => {});
    return { status: res.ok ? 415 : res.status, blob: null };
  }
  return { status: res.status, blob: await res.blob() };
}

const enc = encodeURIComponent;

/** The calls the app makes, one per API endpoint. */
export const api = {
  realms: () => request('GET', '/realms', { quiet401: true }),
  login: (realm, username, password) =>
    request('POST', '/session', { body: { realm, username, password }, quiet401: true }),
  session: () => request('GET', '/session', { quiet401: true }),
  logout: () => request('DELETE', '/session', { quiet401: true }),
  hosts: (signal) => request('GET', '/hosts', { signal }),
  host: (name, signal) => request('GET', `/hosts/${enc(name)}`, { signal }),
  /** query: the filters of GET /audit (user, realm, action, target, result, since, until, before, limit) */
  audit: (query, signal) => request('GET', '/audit', { query, signal }),
  listVMs: (signal) => request('GET', '/vms', { signal }),
  // Guest creation from a template (issue 10): a task.
  createVM: (body) => request('POST', '/vms', { body }),
  listTemplates: (signal) => request('GET', '/templates', { signal }),
  getVM: (name, signal) => request('GET', `/vms/${enc(name)}`, { signal }),
  // Guest settings (issue 11): processor, memory, identity, boot, display, serial.
  vmSettings: (name, signal) => request('GET', `/vms/${enc(name)}/settings`, { signal }),
  /** Only the fields given change: {settings, applied: {field: "now"|"next_boot"}} */
  updateVM: (name, body) => request('PUT', `/vms/${enc(name)}`, { body }),
  updateVMGraphics: (name, body) => request('PUT', `/vms/${enc(name)}/graphics`, { body }),
  vmAction: (name, action) => request('POST', `/vms/${enc(name)}/${enc(action)}`),
  vmAccess: (name, signal) => request('GET', `/vms/${enc(name)}/access`, { signal }),
  /** patch: {add: [{kind, realm, name, role}], remove: [{kind, realm, name}]} */
  patchVMAccess: (name, patch) => request('PATCH', `/vms/${enc(name)}/access`, { body: patch }),
  /** kind "user" or "group"; realm '' searches every realm */
  directory: (kind, { q, realm, limit }, signal) =>
    request('GET', kind === 'group' ? '/directory/groups' : '/directory/users', { query: { q, realm: realm || undefined, limit }, signal }),
  /**
   * A one-time console ticket: {kind, token, ws_url, expires} for
   * vnc and serial, {kind, vv, expires} (a remote-viewer file) for spice.
   * @param {string} name
   * @param {'vnc'|'spice'|'serial'} kind
   */
  consoleTicket: (name, kind) => request('POST', `/vms/${enc(name)}/console`, { body: { kind } }),
  /** The guest's screen as PNG (cached a few seconds by the server). */
  screenshot: (name, signal) => requestImage(`/vms/${enc(name)}/screenshot`, signal),
  /**
   * Clone a shut-off guest: with dry_run the plan (per disk: where the copy
   * goes, whether it fits), otherwise a Task (202).
   * @param {string} name
   * @param {{name?: string, pool?: string, linked?: boolean, dry_run?: boolean}} body
   */
  cloneVM: (name, body) => request('POST', `/vms/${enc(name)}/clone`, { body }),
  /** null (204: deleted), or a Task (202: deleting its volumes runs as a task) */
  deleteVM: (name, { volumes = false } = {}) =>
    request('DELETE', `/vms/${enc(name)}`, { query: volumes ? { volumes: 'true' } : undefined }),

  /** The caller's recent tasks: {items: [Task], next} */
  tasks: (query, signal) => request('GET', '/tasks', { query, signal }),
  getTask: (id, signal) => request('GET', `/tasks/${enc(id)}`, { signal }),
  /** Cancel a queued or running task. */
  cancelTask: (id) => request('DELETE', `/tasks/${enc(id)}`),

  /** The host's pools: {items: [Pool], allowed_actions} (names and free space only for users) */
  pools: (host, signal) => request('GET', `/hosts/${enc(host)}/pools`, { signal }),
  /** A running pool's volumes: {items: [Volume]}, each with used_by */
  volumes: (host, pool, signal) => request('GET', `/hosts/${enc(host)}/pools/${enc(pool)}/volumes`, { signal }),
  /** A Task (202): {name, capacity, format, thick} */
  createVolume: (host, pool, body) => request('POST', `/hosts/${enc(host)}/pools/${enc(pool)}/volumes`, { body }),
  deleteVolume: (host, pool, name) => request('DELETE', `/hosts/${enc(host)}/pools/${enc(pool)}/volumes/${enc(name)}`),
  /** The ISO library: {items: [ISO], unavailable} (administrators and auditors) */
  isos: (host, signal) => request('GET', `/hosts/${enc(host)}/isos`, { signal }),
  /** The OS a volume's ISO descriptor names: VolumeOS; 501 volume_read_not_supported where the driver has no volume contents */
  /** The unfinished uploads of a host: {items: [{id, pool, name, size, offset, owner, created, expires}]} */
  uploads: (host, signal) => request('GET', `/hosts/${enc(host)}/uploads`, { signal }),
  /** Where tus creates uploads into a pool (the tus endpoint, not JSON). */
  uploadEndpoint: (host, pool) => `${API}/hosts/${enc(host)}/pools/${enc(pool)}/uploads`,
  /** A volume's contents, for a download link (Range supported). */
  volumeContent: (host, pool, name) => `${API}/hosts/${enc(host)}/pools/${enc(pool)}/volumes/${enc(name)}/content`,
  volumeOS: (host, pool, name, signal) => request('GET', `/hosts/${enc(host)}/pools/${enc(pool)}/volumes/${enc(name)}/os`, { signal }),
  /** The host's networks: {items: [Network], allowed_actions} (names only for users) */
  networks: (host, signal) => request('GET', `/hosts/${enc(host)}/networks`, { signal }),
  /** A free /24 with its gateway and DHCP range (administrators) */
  freeSubnet: (host, signal) => request('GET', `/hosts/${enc(host)}/networks/free-subnet`, { signal }),
  /** Define and start a network: the Network (201) */
  createNetwork: (host, body) => request('POST', `/hosts/${enc(host)}/networks`, { body }),
  /** start or stop: the Network */
  networkAction: (host, name, action) => request('POST', `/hosts/${enc(host)}/networks/${enc(name)}/${action}`),
  deleteNetwork: (host, name) => request('DELETE', `/hosts/${enc(host)}/networks/${enc(name)}`),
  /** The host's interfaces: {items: [HostInterface]} (administrators) */
  interfaces: (host, signal) => request('GET', `/hosts/${enc(host)}/interfaces`, { signal }),
  /** {items: [Lease]}; 501 leases_not_supported where the driver keeps none */
  leases: (host, name, signal) => request('GET', `/hosts/${enc(host)}/networks/${enc(name)}/leases`, { signal }),
  // Pool management and network autostart (issue 9, pools and networks)
  /** Define, build and start a pool: the Pool (201) */
  definePool: (host, body) => request('POST', `/hosts/${enc(host)}/pools`, { body }),
  /** start, stop or refresh: the Pool */
  poolAction: (host, name, action) => request('POST', `/hosts/${enc(host)}/pools/${enc(name)}/${action}`),
  poolAutostart: (host, name, on) => request('PUT', `/hosts/${enc(host)}/pools/${enc(name)}/autostart`, { body: { autostart: on } }),
  deletePool: (host, name) => request('DELETE', `/hosts/${enc(host)}/pools/${enc(name)}`),
  networkAutostart: (host, name, on) => request('PUT', `/hosts/${enc(host)}/networks/${enc(name)}/autostart`, { body: { autostart: on } }),

  /** The caller's API tokens: {items: [Token]} */
  tokens: (signal) => request('GET', '/tokens', { signal }),
  /** {token: Token, secret} — the secret is shown this once */
  createToken: (name, expiresInDays) => request('POST', '/tokens', { body: { name, expires_in_days: expiresInDays } }),
  deleteToken: (id) => request('DELETE', `/tokens/${enc(id)}`),
};

