// The data table's view of its items: filter, sort, and the selection.
// Pure functions and a small model, unit-tested; ui/datatable.js draws.

const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** Compare two values the way a table column sorts: numbers by value, text naturally, empty last. */
export function compareValues(a, b) {
  const ea = a === null || a === undefined || a === '';
  const eb = b === null || b === undefined || b === '';
  if (ea || eb) return ea === eb ? 0 : ea ? 1 : -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return collator.compare(String(a), String(b));
}

/**
 * The rows to show: items kept by filter, sorted by the column's compare
 * (or its value; empty values last either way), ties broken by key
 * ascending so that the order is stable.
 * @template T
 * @param {T[]} items
 * @param {{filter?: ((item: T) => boolean)|null, sort?: {key: string, desc?: boolean}|null,
 *          columns?: Array<{id: string, value?: (item: T) => any, compare?: (a: T, b: T) => number}>,
 *          key?: (item: T) => string}} opts
 * @returns {T[]}
 */
export function deriveRows(items, { filter = null, sort = null, columns = [], key = (x) => String(x) } = {}) {
  const kept = filter ? items.filter(filter) : [...items];
  const col = sort ? columns.find((c) => c.id === sort.key) : null;
  if (!col) return kept;
  const dir = sort.desc ? -1 : 1;
  const tie = (a, b) => collator.compare(key(a), key(b));
  if (col.compare) return kept.sort((a, b) => dir * col.compare(a, b) || tie(a, b));
  // Empty values stay last in both directions: "no figure" is not a small one.
  const empty = (v) => v === null || v === undefined || v === '';
  return kept.sort((a, b) => {
    const va = col.value?.(a);
    const vb = col.value?.(b);
    if (empty(va) !== empty(vb)) return empty(va) ? 1 : -1;
    return dir * compareValues(va, vb) || tie(a, b);
  });
}

/**
 * Row selection by key: survives re-sorting, filtering and refreshes;
 * keys that leave the list leave the selection (prune).
 */
export class Selection {
  constructor() {
    /** @type {Set<string>} */
    this.keys = new Set();
    /** the anchor of a Shift range */
    this.anchor = null;
  }

  has(key) {
    return this.keys.has(key);
  }

  get size() {
    return this.keys.size;
  }

  /** Toggle one key; it becomes the anchor. */
  toggle(key) {
    if (this.keys.has(key)) this.keys.delete(key);
    else this.keys.add(key);
    this.anchor = key;
  }

  /**
   * Select from the anchor to key in the order shown (Shift+click).
   * @param {string} key
   * @param {string[]} order the keys as shown
   */
  range(key, order) {
    const a = this.anchor === null ? -1 : order.indexOf(this.anchor);
    const b = order.indexOf(key);
    if (b < 0) return;
    if (a < 0) {
      this.toggle(key);
      return;
    }
    const [lo, hi] = a < b ? [a, b] : [b, a];
    for (let i = lo; i <= hi; i++) this.keys.add(order[i]);
  }

  /**
   * The header checkbox: all shown selected → clear them, else select them all.
   * @param {string[]} shown
   */
  toggleAll(shown) {
    if (shown.length > 0 && shown.every((k) => this.keys.has(k))) for (const k of shown) this.keys.delete(k);
    else for (const k of shown) this.keys.add(k);
  }

  /** 'none' | 'some' | 'all' of shown: the header checkbox's state. */
  state(shown) {
    let n = 0;
    for (const k of shown) if (this.keys.has(k)) n++;
    return n === 0 ? 'none' : n === shown.length ? 'all' : 'some';
  }

  /** Drop keys no longer in the list; true when something was dropped. */
  prune(present) {
    const have = present instanceof Set ? present : new Set(present);
    let dropped = false;
    for (const k of this.keys) {
      if (!have.has(k)) {
        this.keys.delete(k);
        dropped = true;
      }
    }
    if (this.anchor !== null && !have.has(this.anchor)) this.anchor = null;
    return dropped;
  }

  clear() {
    this.keys.clear();
    this.anchor = null;
  }
}
