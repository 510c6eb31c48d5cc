// Per-guest grants (DESIGN.md §4): who may use a guest and with which role.
// Pure functions for the Access tab: identity keys, the diff between the
// server's list and the edited one, the PATCH that applies it, and where the
// entries of a 422 answer belong.

/** Per-guest roles, weakest first. */
export const GRANT_ROLES = Object.freeze(['viewer', 'operator', 'manager']);

/** Grant kinds. */
export const GRANT_KINDS = Object.freeze(['user', 'group']);

/** The role new entries get unless the admin picks another. */
export const DEFAULT_ROLE = 'viewer';

/**
 * The identity of a grant (kind, realm and name; not the role): the same
 * name in two realms, or a user and a group of one name, are different.
 * @param {{kind: string, realm: string, name: string}} g
 */
export function grantKey(g) {
  return `${g.kind}\u0000${g.realm}\u0000${g.name}`;
}

/** "realm:name", as identities are written everywhere else. */
export function grantLabel(g) {
  return `${g.realm}:${g.name}`;
}

/** Only the fields the API knows, in its order. */
export function cleanGrant(g) {
  return { kind: g.kind, realm: g.realm, name: g.name, role: g.role };
}

/**
 * The grants of an API answer ({items}), well-formed entries only.
 * @param {any} answer
 * @returns {Array<{kind: string, realm: string, name: string, role: string}>}
 */
export function grantsOf(answer) {
  const items = Array.isArray(answer?.items) ? answer.items : [];
  return items
    .filter((g) => g && typeof g.name === 'string' && typeof g.realm === 'string' && GRANT_KINDS.includes(g.kind))
    .map(cleanGrant);
}

/**
 * What changed from before (the server's list) to after (the edited one).
 * added and changed keep the order of after, removed that of before;
 * changed entries carry the new role and `from`, the old one.
 * @param {Array<object>} before
 * @param {Array<object>} after
 */
export function diffGrants(before, after) {
  const old = new Map(before.map((g) => [grantKey(g), g]));
  const now = new Map(after.map((g) => [grantKey(g), g]));
  const added = [];
  const changed = [];
  for (const g of after) {
    const o = old.get(grantKey(g));
    if (!o) added.push(cleanGrant(g));
    else if (o.role !== g.role) changed.push({ ...cleanGrant(g), from: o.role });
  }
  const removed = before.filter((g) => !now.has(grantKey(g))).map(cleanGrant);
  return { added, removed, changed };
}

/** How many entries a diff touches. */
export function diffSize(d) {
  return d.added.length + d.removed.length + d.changed.length;
}

/**
 * The body of PATCH /vms/{name}/access for a diff: new entries and new roles
 * are "add" (an add replaces the role of an existing entry), gone ones "remove".
 * @param {{added: object[], removed: object[], changed: object[]}} d
 */
export function patchFor(d) {
  return {
    add: [...d.added, ...d.changed].map(cleanGrant),
    remove: d.removed.map((g) => ({ kind: g.kind, realm: g.realm, name: g.name })),
  };
}

/**
 * The keys of the list the server validates for a PATCH, in its order: the
 * entries it keeps (neither removed nor replaced), then every added one.
 * A 422 names bad entries as "grants[i]", an index into this list.
 * @param {Array<object>} before the server's list the PATCH applies to
 * @param {{add: object[], remove: object[]}} patch
 * @returns {string[]}
 */
export function patchResultKeys(before, patch) {
  const gone = new Set([...patch.remove, ...patch.add].map(grantKey));
  return [...before.filter((g) => !gone.has(grantKey(g))).map(grantKey), ...patch.add.map(grantKey)];
}

/**
 * Spread the details of a 422 over the entries they name.
 * @param {string[]} keys the list the indices point into (patchResultKeys for
 *   PATCH, the items for PUT)
 * @param {Array<{field?: string, message?: string}>} details
 * @returns {{byKey: Map<string, string[]>, other: string[]}} messages per
 *   grant key, and those that name no entry of the list
 */
export function errorsByGrant(keys, details) {
  const byKey = new Map();
  const other = [];
  for (const d of Array.isArray(details) ? details : []) {
    const message = String(d?.message ?? '').trim();
    if (!message) continue;
    const m = /^grants\[(\d+)\]/.exec(String(d?.field ?? ''));
    const key = m ? keys[Number(m[1])] : undefined;
    if (key === undefined) {
      other.push(message);
      continue;
    }
    const list = byKey.get(key) ?? [];
    if (!list.includes(message)) list.push(message);
    byKey.set(key, list);
  }
  return { byKey, other };
}
