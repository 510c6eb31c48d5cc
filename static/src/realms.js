// The enabled realms (GET /api/v1/realms), asked once per page load and
// shared by the pages that name realms (Access tab, audit filters).

import { api } from './lib/api.js';

/** @type {Promise<{items: Array<{name: string, label: string}>, default: string}>|null} */
let cached = null;

/** The enabled realms; a failed answer is not kept, so the next call asks again. */
export function loadRealms() {
  if (!cached) {
    cached = api.realms().then((r) => ({
      items: Array.isArray(r?.items) ? r.items.filter((x) => x && typeof x.name === 'string') : [],
      default: r?.default ?? '',
    }));
    cached.catch(() => {
      cached = null;
    });
  }
  return cached;
}

/**
 * The label of a realm ("LDAP", "System account"), or its name when it is
 * not (or no longer) enabled.
 * @param {Array<{name: string, label: string}>} realms
 * @param {string} name
 */
export function realmLabel(realms, name) {
  return realms.find((r) => r.name === name)?.label || name;
}
