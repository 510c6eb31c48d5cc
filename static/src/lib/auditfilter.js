// The filters of the audit page: read from and written to the page's URL (so
// a filtered view is a link), and turned into the query of GET /api/v1/audit.
// Pure: no DOM, no fetch.

/** Filter fields, in the order they appear in URLs. */
export const AUDIT_FIELDS = Object.freeze(['user', 'realm', 'action', 'target', 'result', 'since', 'until']);

/** Quick choices for the action filter. */
export const ACTION_PRESETS = Object.freeze([
  { id: 'logins', action: 'session.*' },
  { id: 'guests', action: 'vm.*' },
  { id: 'access', action: 'vm.access.*' },
]);

/** Result filter values: "ok", "error:<code>", "denied:<code>". */
export const RESULT_FILTERS = Object.freeze(['ok', 'error', 'denied']);

/** Events asked per request. */
export const AUDIT_PAGE = 100;

/** With a result filter the server cannot apply, how far one "load" looks. */
export const SCAN_PAGE = 500;
export const SCAN_BUDGET = 2000;

/** @typedef {{user: string, realm: string, action: string, target: string, result: string, since: string, until: string}} AuditFilters */

/** @returns {AuditFilters} */
export function emptyFilters() {
  return { user: '', realm: '', action: '', target: '', result: '', since: '', until: '' };
}

/** An RFC 3339 time without milliseconds, or '' for anything unparsable. */
export function normalizeTime(value) {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * Filters from a URL's query.
 * @param {string|URLSearchParams} search
 * @returns {AuditFilters}
 */
export function filtersFromSearch(search) {
  const p = search instanceof URLSearchParams ? search : new URLSearchParams(search);
  const f = emptyFilters();
  for (const k of ['user', 'realm', 'action', 'target']) f[k] = (p.get(k) ?? '').trim();
  const r = p.get('result') ?? '';
  f.result = RESULT_FILTERS.includes(r) ? r : '';
  f.since = normalizeTime(p.get('since'));
  f.until = normalizeTime(p.get('until'));
  return f;
}

/**
 * The query string of filters: "" when none is set, else "?…" in a fixed order.
 * @param {Partial<AuditFilters>} f
 */
export function searchFromFilters(f) {
  const p = new URLSearchParams();
  for (const k of AUDIT_FIELDS) {
    const v = (f[k] ?? '').trim();
    if (v) p.set(k, v);
  }
  const s = p.toString();
  return s ? '?' + s : '';
}

/** Is any filter set? */
export function hasFilters(f) {
  return AUDIT_FIELDS.some((k) => (f[k] ?? '') !== '');
}

/** The preset of an action filter, or '' for none or a custom one. */
export function presetOf(action) {
  return ACTION_PRESETS.find((p) => p.action === action)?.id ?? '';
}

/**
 * The class of an event's result.
 * @param {string} result
 * @returns {'ok'|'error'|'denied'|'other'}
 */
export function resultClass(result) {
  const r = String(result ?? '');
  if (r === 'ok') return 'ok';
  if (r === 'error' || r.startsWith('error:')) return 'error';
  if (r === 'denied' || r.startsWith('denied:')) return 'denied';
  return 'other';
}

/**
 * The code after "error:" or "denied:" ("conflict"), or ''.
 * @param {string} result
 */
export function resultCode(result) {
  const i = String(result ?? '').indexOf(':');
  return i < 0 ? '' : String(result).slice(i + 1);
}

/**
 * The actor a user filter means: "realm:name" as written, or the name in the
 * chosen realm, or in the only realm there is.
 * @param {string} user
 * @param {string} realm the realm filter ('' for any)
 * @param {string[]} realms the enabled realms
 * @returns {{actor: string, ambiguous: boolean}} ambiguous: a bare name with
 *   several realms to choose from (the server matches identities exactly)
 */
export function actorFilter(user, realm, realms = []) {
  const u = String(user ?? '').trim();
  if (!u) return { actor: '', ambiguous: false };
  if (u.includes(':')) return { actor: u, ambiguous: false };
  if (realm) return { actor: `${realm}:${u}`, ambiguous: false };
  if (realms.length === 1) return { actor: `${realms[0]}:${u}`, ambiguous: false };
  return { actor: '', ambiguous: true };
}

/**
 * The API query for filters, and the test the page applies to each event
 * for what the server cannot filter: it matches results exactly, so "every
 * error" and "every denial" are found by reading the events.
 * @param {AuditFilters} f
 * @param {{realms?: string[]}} [opts]
 * @returns {{query: Record<string, string>, match: ((e: any) => boolean)|null, scan: boolean, invalid: string[]}}
 *   invalid: names of fields that cannot be used as given ("user", "range")
 */
export function auditQuery(f, opts = {}) {
  const query = {};
  const invalid = [];
  const { actor, ambiguous } = actorFilter(f.user, f.realm, opts.realms ?? []);
  if (ambiguous) invalid.push('user');
  if (actor) query.user = actor;
  if (f.realm) query.realm = f.realm;
  if (f.action) query.action = f.action;
  if (f.target) query.target = f.target;
  let match = null;
  if (f.result === 'ok') query.result = 'ok';
  else if (f.result === 'error' || f.result === 'denied') match = (e) => resultClass(e?.result) === f.result;
  if (f.since) query.since = f.since;
  if (f.until) query.until = f.until;
  if (f.since && f.until && Date.parse(f.since) >= Date.parse(f.until)) invalid.push('range');
  return { query, match, scan: match !== null, invalid };
}

const pad = (n) => String(n).padStart(2, '0');

/**
 * The value of a datetime-local input for an RFC 3339 time (local zone).
 * @param {string} iso
 */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/**
 * The RFC 3339 time of a datetime-local value (read in the local zone).
 * endOfMinute: for "until", which the API treats as exclusive, the whole
 * minute the person picked is included.
 * @param {string} value "YYYY-MM-DDTHH:MM" (seconds optional)
 * @param {{endOfMinute?: boolean}} [opts]
 */
export function fromLocalInput(value, opts = {}) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(String(value ?? ''));
  if (!m) return '';
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  if (Number.isNaN(d.getTime())) return '';
  if (opts.endOfMinute && !m[6]) d.setMinutes(d.getMinutes() + 1);
  return normalizeTime(d.toISOString());
}

/**
 * The datetime-local value to show for an "until" filter made by
 * fromLocalInput(…, {endOfMinute: true}): the minute that was picked.
 * @param {string} iso
 */
export function untilToLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  if (d.getSeconds() === 0 && d.getMilliseconds() === 0) d.setMinutes(d.getMinutes() - 1);
  return toLocalInput(d.toISOString());
}

/**
 * The guest a target names ("vm:web01" → "web01"), or ''.
 * @param {string} target
 */
export function guestOfTarget(target) {
  const s = String(target ?? '');
  return s.startsWith('vm:') && s.length > 3 ? s.slice(3) : '';
}
