// Filtering, counting and sorting of the guest list. Pure functions: the
// guests page keeps the full list from the server and derives the view.

import { GROUPS, stateGroup, stateRank } from './vmstate.js';
import { formatOS } from './format.js';

/** Sort keys the list understands; "-key" sorts descending. */
export const SORT_KEYS = Object.freeze([
  'name', 'state', 'os', 'vcpus', 'memory', 'cpu', 'mem', 'disk', 'net', 'graphics',
]);

export const DEFAULT_SORT = 'name';

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * Parse "name", "-cpu"… into {key, desc}; unknown keys give the default.
 * @param {string|null|undefined} spec
 */
export function parseSort(spec) {
  const s = String(spec ?? '');
  const desc = s.startsWith('-');
  const key = desc ? s.slice(1) : s;
  if (!SORT_KEYS.includes(key)) return { key: DEFAULT_SORT, desc: false };
  return { key, desc };
}

/** The inverse of parseSort. */
export function sortSpec({ key, desc }) {
  return (desc ? '-' : '') + key;
}

/**
 * The spec after clicking the header of key: ascending first for text,
 * descending first for numbers (the busiest guest on top); a second click flips.
 * @param {string} current
 * @param {string} key
 */
export function toggleSort(current, key) {
  const cur = parseSort(current);
  if (cur.key === key) return sortSpec({ key, desc: !cur.desc });
  const textual = key === 'name' || key === 'state' || key === 'os' || key === 'graphics';
  return sortSpec({ key, desc: !textual });
}

const num = (n) => (typeof n === 'number' && Number.isFinite(n) ? n : 0);

const COMPARE = {
  name: () => 0, // the tie-breaker below does it
  state: (a, b) => stateRank(a.state) - stateRank(b.state),
  os: (a, b) => collator.compare(a.os?.distro ? formatOS(a.os) : '\uffff', b.os?.distro ? formatOS(b.os) : '\uffff'),
  vcpus: (a, b) => num(a.vcpus) - num(b.vcpus),
  memory: (a, b) => num(a.memory_mib) - num(b.memory_mib),
  cpu: (a, b) => num(a.cpu_percent) - num(b.cpu_percent),
  mem: (a, b) => num(a.mem_percent) - num(b.mem_percent),
  disk: (a, b) => num(a.disk_read_bps) + num(a.disk_write_bps) - num(b.disk_read_bps) - num(b.disk_write_bps),
  net: (a, b) => num(a.net_rx_bps) + num(a.net_tx_bps) - num(b.net_rx_bps) - num(b.net_tx_bps),
  graphics: (a, b) => collator.compare(a.graphics || '\uffff', b.graphics || '\uffff'),
};

/**
 * A sorted copy of vms. Ties (and the name key) order by name, naturally:
 * web2 before web10. The direction applies to the key, and to the name
 * only when sorting by name.
 * @template {{name: string}} T
 * @param {T[]} vms
 * @param {string} spec
 * @returns {T[]}
 */
export function sortVMs(vms, spec) {
  const { key, desc } = parseSort(spec);
  const cmp = COMPARE[key];
  const dir = desc ? -1 : 1;
  return [...vms].sort((a, b) => {
    const c = cmp(a, b);
    if (c !== 0) return dir * c;
    const n = collator.compare(a.name, b.name);
    return key === 'name' ? dir * n : n;
  });
}

/**
 * Normalise a search query: trimmed, lower case.
 * @param {string|null|undefined} q
 */
export function normalizeQuery(q) {
  return String(q ?? '').trim().toLowerCase();
}

/**
 * Guests whose name contains q (any case) and whose state is in group.
 * @template {{name: string, state: string}} T
 * @param {T[]} vms
 * @param {{q?: string, group?: string}} filter
 * @returns {T[]}
 */
export function filterVMs(vms, { q = '', group = 'all' } = {}) {
  const needle = normalizeQuery(q);
  const g = GROUPS.includes(group) ? group : 'all';
  return vms.filter((vm) =>
    (g === 'all' || stateGroup(vm.state) === g) &&
    (needle === '' || vm.name.toLowerCase().includes(needle)));
}

/**
 * Count guests per filter group, after the name search (so the counts
 * describe what each filter button would show).
 * @param {{name: string, state: string}[]} vms
 * @param {string} [q]
 * @returns {Record<string, number>}
 */
export function countGroups(vms, q = '') {
  const counts = Object.fromEntries(GROUPS.map((g) => [g, 0]));
  const needle = normalizeQuery(q);
  for (const vm of vms) {
    if (needle !== '' && !vm.name.toLowerCase().includes(needle)) continue;
    counts.all++;
    counts[stateGroup(vm.state)]++;
  }
  return counts;
}

/**
 * The list to show: filtered, then sorted.
 * @template {{name: string, state: string}} T
 * @param {T[]} vms
 * @param {{q?: string, group?: string, sort?: string}} view
 * @returns {T[]}
 */
export function viewVMs(vms, { q = '', group = 'all', sort = DEFAULT_SORT } = {}) {
  return sortVMs(filterVMs(vms, { q, group }), sort);
}
