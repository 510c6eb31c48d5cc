// Searching users and groups of every realm for the Access tab's typeahead.
// Pure apart from the query function it is given: the merge of the users and
// groups answers (best matches first), and a realm whose directory is down:
// the merged search answers the others' results and names it in
// "unavailable"; an older server answers 503 as a whole, and each realm is
// then asked on its own so the others still answer.

import { grantKey } from './grants.js';

/** Results asked of each endpoint. */
export const SEARCH_LIMIT = 20;

/** The API refuses longer queries. */
export const MAX_QUERY_BYTES = 128;

/** Wait after the last keystroke before asking. */
export const SEARCH_DEBOUNCE_MS = 250;

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
const encoder = new TextEncoder();

/**
 * The query to send: trimmed, and cut (on a character boundary) to what the
 * API accepts.
 * @param {string} q
 */
export function clampQuery(q) {
  let s = String(q ?? '').trim();
  if (encoder.encode(s).length <= MAX_QUERY_BYTES) return s;
  const chars = [...s];
  while (chars.length && encoder.encode(chars.join('')).length > MAX_QUERY_BYTES) chars.pop();
  s = chars.join('');
  return s;
}

/**
 * How well an entry matches q, lower is better: 0 the name or display name
 * is q, 1 starts with it, 2 a word of it does, 3 it occurs somewhere (the
 * directory matched another attribute), 4 not at all.
 * @param {{name: string, display?: string}} e
 * @param {string} q
 */
export function matchRank(e, q) {
  const needle = String(q ?? '').trim().toLocaleLowerCase();
  if (!needle) return 3;
  const fields = [e.name, e.display].filter(Boolean).map((s) => String(s).toLocaleLowerCase());
  if (fields.some((f) => f === needle)) return 0;
  if (fields.some((f) => f.startsWith(needle))) return 1;
  if (fields.some((f) => f.split(/[\s._@-]+/).some((w) => w.startsWith(needle)))) return 2;
  if (fields.some((f) => f.includes(needle))) return 3;
  return 4;
}

/**
 * One list from several directory answers: each entry once (kind, realm,
 * name), best matches first, then users before groups, then by name and realm.
 * @param {Array<{items?: any[], truncated?: boolean}>} answers
 * @param {string} q
 * @returns {{items: Array<{kind: string, realm: string, name: string, display: string, dn: string}>, truncated: boolean}}
 */
export function mergeDirectory(answers, q) {
  const seen = new Map();
  let truncated = false;
  for (const a of answers) {
    if (!a) continue;
    if (a.truncated) truncated = true;
    for (const e of Array.isArray(a.items) ? a.items : []) {
      if (!e || typeof e.name !== 'string' || typeof e.realm !== 'string' || (e.kind !== 'user' && e.kind !== 'group')) continue;
      const entry = { kind: e.kind, realm: e.realm, name: e.name, display: e.display ?? '', dn: e.dn ?? '' };
      const key = grantKey(entry);
      if (!seen.has(key)) seen.set(key, entry);
    }
  }
  const items = [...seen.values()].sort((a, b) =>
    matchRank(a, q) - matchRank(b, q) ||
    (a.kind === b.kind ? 0 : a.kind === 'user' ? -1 : 1) ||
    collator.compare(a.display || a.name, b.display || b.name) ||
    collator.compare(a.name, b.name) ||
    collator.compare(a.realm, b.realm));
  return { items, truncated };
}

/**
 * Search users and groups of every realm.
 * @param {string} q
 * @param {{
 *   query: (kind: 'user'|'group', realm: string) => Promise<any>,
 *   realms?: string[],
 * }} opts query asks the API (realm '' for all realms at once); realms are
 *   the enabled ones, asked one by one when the merged search is unavailable
 * @returns {Promise<{items: any[], truncated: boolean, unavailable: Array<{realm: string, message: string}>}>}
 *   unavailable: realms (or '' when it is not known which) whose directory did
 *   not answer. Other failures reject.
 */
export async function searchDirectory(q, { query, realms = [] }) {
  const answers = [];
  const unavailable = new Map();
  const attempt = (kind, realm) => query(kind, realm).then((r) => ({ ok: true, r }), (e) => ({ ok: false, e }));

  await Promise.all(['user', 'group'].map(async (kind) => {
    const first = await attempt(kind, '');
    if (first.ok) {
      answers.push(first.r);
      for (const realm of Array.isArray(first.r?.unavailable) ? first.r.unavailable : []) {
        if (!unavailable.has(realm)) unavailable.set(realm, '');
      }
      return;
    }
    if (first.e?.status !== 503) throw first.e;
    if (realms.length < 2) {
      const realm = realms[0] ?? '';
      if (!unavailable.has(realm)) unavailable.set(realm, first.e.message ?? '');
      return;
    }
    const each = await Promise.all(realms.map((realm) => attempt(kind, realm)));
    each.forEach((s, i) => {
      if (s.ok) answers.push(s.r);
      else if (s.e?.status === 503) {
        if (!unavailable.has(realms[i])) unavailable.set(realms[i], s.e.message ?? '');
      } else if (s.e?.name === 'AbortError' || s.e?.status === 401) {
        throw s.e;
      }
      // Anything else (a realm without a directory): leave it out.
    });
  }));

  const merged = mergeDirectory(answers, q);
  return { ...merged, unavailable: [...unavailable].map(([realm, message]) => ({ realm, message })) };
}
