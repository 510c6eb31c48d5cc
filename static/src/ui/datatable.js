// A data table for long lists: sortable column headers, a filter hook,
// optional row selection, loading, empty and error states, and windowed
// rendering: only the rows on screen plus an overscan are in the DOM, each
// row exactly --dt-row-h tall (CSS; it may change with the layout), and the
// rows left out are padding on the tbody, so 10,000 rows cost what 40 do.
// The page scrolls (the window), not the table: the header stays sticky and
// the page keeps its look. Rows are drawn by the page (createRow), keyed,
// and updated in place while they stay in the window.
//
// Accessibility: role="grid" with aria-rowcount (every row, not only the
// rendered ones) and aria-rowindex on each row; one cell is in the tab
// order (roving tabindex); arrows, Page Up/Down, Home/End (Ctrl: first and
// last row) move between cells, scrolling rows into the DOM as needed;
// Enter follows the cell's link or presses its button; Space selects.

import { deriveRows, Selection } from '../lib/table.js';
import { nextRowIndex, scrollDeltaFor, windowRange } from '../lib/datawindow.js';
import { h, icon, setAttr, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

/**
 * @template T
 * @typedef {{id: string, label: string, cls?: string, sortable?: boolean,
 *            value?: (item: T) => any, compare?: (a: T, b: T) => number}} Column
 */
/**
 * @template T
 * @typedef {{tr: HTMLTableRowElement, item: T, update: (item: T) => void, destroy?: () => void}} RowHandle
 */

/** Where "moveBefore" exists (Chromium 133+), moving a row keeps its focus and state. */
const canMove = typeof Element !== 'undefined' && 'moveBefore' in Element.prototype;

function place(parent, node, before) {
  if (canMove && node.isConnected && node.parentNode === parent) {
    try {
      parent.moveBefore(node, before);
      return;
    } catch {
      // fall through
    }
  }
  parent.insertBefore(node, before);
}

const shown = (el) => el.getClientRects().length > 0;

/**
 * Create a data table.
 * @template T
 * @param {{
 *   columns: Column<T>[],
 *   key: (item: T) => string,
 *   createRow: (item: T) => RowHandle<T>,
 *   caption: string,
 *   className?: string, testid?: string,
 *   derive?: (items: T[]) => T[],
 *   sort?: {key: string, desc: boolean}|null|(() => {key: string, desc: boolean}|null), onSort?: (columnId: string) => void,
 *   filter?: ((item: T) => boolean)|null,
 *   selectable?: boolean, onSelect?: (keys: Set<string>) => void, selectLabel?: (item: T) => string,
 *   overscan?: number, rowHeight?: number,
 *   loading?: Node|null, empty?: Node|null, error?: Node|null,
 * }} opts
 *   derive replaces the built-in filter and sort (a page with its own view rules);
 *   sort: the order shown (arrows in the header); a function is asked at each render (the page owns it);
 *   loading/empty/error: the panels shown instead of the table (null: none; undefined: a plain default)
 */
export function createDataTable(opts) {
  const columns = opts.columns;
  const overscan = opts.overscan ?? 10;
  let sort = opts.sort ?? null;
  let filter = opts.filter ?? null;
  /** @type {T[]} */
  let items = [];
  /** @type {T[]} */
  let rows = [];
  /** @type {Map<string, RowHandle<T>>} */
  const rendered = new Map();
  const selection = new Selection();
  let status = 'loading';
  let active = { index: 0, col: 0 };
  let rowH = 0;
  let frame = 0;
  let win = { start: 0, end: 0 };

  // ---- structure
  const captionId = 'dt-' + Math.random().toString(36).slice(2);
  const headCells = columns.map((col) => {
    const th = h('th', { scope: 'col', class: col.cls ?? null, role: 'columnheader' });
    if (col.sortable) {
      th.append(h('button', { type: 'button', class: 'sort-button', 'data-sort': col.id, 'data-testid': `sort-${col.id}` },
        h('span', null, col.label), h('span', { class: 'sort-arrow', 'aria-hidden': 'true' })));
    } else {
      th.append(h('span', { class: 'visually-hidden' }, col.label));
    }
    return th;
  });
  let selectAll = null;
  if (opts.selectable) {
    selectAll = h('input', { type: 'checkbox', 'data-testid': 'dt-select-all', 'aria-label': t('table.selectAll') });
    headCells.unshift(h('th', { scope: 'col', class: 'dt-select', role: 'columnheader' }, selectAll));
  }
  const headRow = h('tr', { role: 'row', 'aria-rowindex': '1' }, headCells);
  const thead = h('thead', { role: 'rowgroup' }, headRow);
  const tbody = h('tbody', { role: 'rowgroup' });
  const table = h('table', {
    class: ['dt', opts.className].filter(Boolean).join(' '), role: 'grid', 'aria-labelledby': captionId,
    'aria-rowcount': '1', 'data-testid': opts.testid ?? null,
  }, h('caption', { id: captionId, class: 'visually-hidden' }, opts.caption), thead, tbody);
  if (opts.selectable) table.setAttribute('aria-multiselectable', 'true');
  const tableWrap = h('div', { class: 'table-wrap dt-wrap', hidden: true }, table);

  const panel = (cls, role, ...children) => h('div', { class: `state-panel ${cls}`, role }, ...children);
  const loadingPanel = opts.loading !== undefined ? opts.loading
    : panel('', 'status', h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, t('table.loading')));
  const errorText = h('p', null);
  const errorPanel = opts.error !== undefined ? opts.error
    : panel('empty', 'alert', icon('alert', 'empty-icon'), h('h2', null, t('table.error')), errorText);
  const emptyPanel = opts.empty !== undefined ? opts.empty
    : panel('empty', null, icon('box', 'empty-icon'), h('h2', null, t('table.empty')));
  for (const p of [loadingPanel, errorPanel, emptyPanel]) if (p) p.hidden = true;
  const root = h('div', { class: 'dt-root' }, loadingPanel, errorPanel, emptyPanel, tableWrap);

  // ---- geometry
  /** The row pitch: --dt-row-h of the table (CSS decides per layout), read once per layout. */
  function rowHeight() {
    if (rowH > 0) return rowH;
    const v = parseFloat(getComputedStyle(table).getPropertyValue('--dt-row-h'));
    rowH = v > 0 ? v : (opts.rowHeight ?? 48);
    return rowH;
  }
  /** What covers the top of the viewport: the sticky header's bottom edge (when it sticks). */
  function headerOffset() {
    const r = thead.getBoundingClientRect();
    return shown(thead) ? Math.max(0, r.bottom) : 0;
  }

  // ---- rendering
  function keyOf(i) {
    return opts.key(rows[i]);
  }

  function decorate(handle) {
    const tr = handle.tr;
    tr.setAttribute('role', 'row');
    if (opts.selectable && !tr.querySelector(':scope > .dt-select')) {
      const cb = h('input', { type: 'checkbox', tabindex: '-1', 'data-testid': 'dt-select',
        'aria-label': opts.selectLabel ? opts.selectLabel(handle.item) : t('table.selectRow') });
      tr.prepend(h('td', { class: 'dt-select', role: 'gridcell' }, cb));
    }
    for (const c of tr.cells) c.tabIndex = -1;
  }

  /** Render the window for the current scroll position (cheap when nothing moved). */
  function renderWindow() {
    const rh = rowHeight();
    const top = tbody.getBoundingClientRect().top;
    const w = windowRange({ count: rows.length, rowHeight: rh, top, viewport: window.innerHeight, overscan });
    win = w;
    const want = new Set();
    for (let i = w.start; i < w.end; i++) want.add(keyOf(i));
    for (const [k, handle] of rendered) {
      if (!want.has(k)) {
        handle.tr.remove();
        handle.destroy?.();
        rendered.delete(k);
      }
    }
    let cursor = tbody.firstElementChild;
    for (let i = w.start; i < w.end; i++) {
      const item = rows[i];
      const k = opts.key(item);
      let handle = rendered.get(k);
      if (!handle) {
        handle = opts.createRow(item);
        handle.item = item;
        decorate(handle);
        rendered.set(k, handle);
      } else if (handle.item !== item) {
        handle.item = item;
        handle.update(item);
      }
      const tr = handle.tr;
      setAttr(tr, 'aria-rowindex', String(i + 2));
      if (opts.selectable) {
        const sel = selection.has(k);
        setAttr(tr, 'aria-selected', String(sel));
        tr.cells[0].firstChild.checked = sel;
      }
      if (tr === cursor) {
        cursor = cursor.nextElementSibling;
      } else {
        place(tbody, tr, cursor);
      }
    }
    while (cursor) {
      const next = cursor.nextElementSibling;
      cursor.remove();
      cursor = next;
    }
    const pt = `${w.padTop}px`;
    const pb = `${w.padBottom}px`;
    if (tbody.style.paddingTop !== pt) tbody.style.paddingTop = pt;
    if (tbody.style.paddingBottom !== pb) tbody.style.paddingBottom = pb;
    roving();
  }

  /** One cell in the tab order: the active one when rendered, else the first rendered row's. */
  function roving() {
    const prev = tbody.querySelectorAll('[tabindex="0"]');
    let target = cellAt(active.index, active.col);
    if (!target && rows.length > 0) {
      const first = tbody.firstElementChild;
      target = first ? first.cells[Math.min(active.col, first.cells.length - 1)] : null;
    }
    for (const c of prev) if (c !== target) c.tabIndex = -1;
    if (target) target.tabIndex = 0;
  }

  function cellAt(index, col) {
    if (index < 0 || index >= rows.length) return null;
    const handle = rendered.get(keyOf(index));
    return handle ? handle.tr.cells[Math.min(col, handle.tr.cells.length - 1)] ?? null : null;
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      if (status === 'ready' && rows.length > 0) renderWindow();
    });
  }

  function renderHeader() {
    const sortNow = typeof sort === 'function' ? sort() : sort;
    headCells.forEach((th) => {
      const btn = th.querySelector('button[data-sort]');
      if (!btn) return;
      const id = btn.dataset.sort;
      setAttr(th, 'aria-sort', sortNow && sortNow.key === id ? (sortNow.desc ? 'descending' : 'ascending') : null);
    });
    if (selectAll) {
      const st = selection.state(rows.map(opts.key));
      selectAll.checked = st === 'all';
      selectAll.indeterminate = st === 'some';
    }
  }

  /** Derive the rows from the items and draw: the states, the header, the window. */
  function render() {
    rows = opts.derive ? opts.derive(items)
      : deriveRows(items, { filter, sort: typeof sort === 'function' ? sort() : sort, columns, key: opts.key });
    if (opts.selectable && selection.prune(items.map(opts.key))) opts.onSelect?.(new Set(selection.keys));
    active.index = Math.min(active.index, Math.max(0, rows.length - 1));
    table.setAttribute('aria-rowcount', String(rows.length + 1));
    renderHeader();
    if (loadingPanel) loadingPanel.hidden = status !== 'loading';
    if (errorPanel) errorPanel.hidden = status !== 'error';
    const nothing = status === 'ready' && rows.length === 0;
    if (emptyPanel) emptyPanel.hidden = !nothing;
    tableWrap.hidden = status !== 'ready' || nothing;
    if (status === 'ready') renderWindow();
  }

  // ---- keyboard and pointer
  function visibleCols(tr) {
    return [...tr.cells].map((c, i) => (shown(c) ? i : -1)).filter((i) => i >= 0);
  }

  /** Make row index the active one, bring it into the DOM and the viewport, focus its cell. */
  function focusCell(index, col) {
    active = { index, col };
    const rh = rowHeight();
    const delta = scrollDeltaFor({ index, rowHeight: rh, top: tbody.getBoundingClientRect().top, viewport: window.innerHeight, headerOffset: headerOffset() });
    if (delta !== 0) window.scrollBy({ top: delta, behavior: 'instant' });
    renderWindow();
    cellAt(index, col)?.focus({ preventScroll: true });
  }

  tbody.addEventListener('keydown', (e) => {
    const cell = /** @type {HTMLElement} */ (e.target);
    if (!(cell instanceof HTMLTableCellElement) || cell.parentElement?.parentElement !== tbody) return;
    const tr = /** @type {HTMLTableRowElement} */ (cell.parentElement);
    const index = Number(tr.getAttribute('aria-rowindex')) - 2;
    const cols = visibleCols(tr);
    let col = cell.cellIndex;
    const at = cols.indexOf(col);
    const perPage = Math.max(1, Math.floor((window.innerHeight - headerOffset()) / rowHeight()) - 1);
    let key = e.key;
    if ((e.ctrlKey || e.metaKey) && key === 'Home') key = 'FirstRow';
    else if ((e.ctrlKey || e.metaKey) && key === 'End') key = 'LastRow';
    const next = nextRowIndex(key, index, rows.length, perPage);
    if (next !== null) {
      e.preventDefault();
      focusCell(next, col);
      return;
    }
    switch (key) {
      case 'ArrowLeft': col = cols[Math.max(0, at - 1)]; break;
      case 'ArrowRight': col = cols[Math.min(cols.length - 1, at + 1)]; break;
      case 'Home': col = cols[0]; break;
      case 'End': col = cols[cols.length - 1]; break;
      case 'Enter': {
        const target = cell.querySelector('a[href], button:not([disabled]):not(.is-empty), input');
        if (target) {
          e.preventDefault();
          /** @type {HTMLElement} */ (target).click();
        }
        return;
      }
      case ' ':
        if (opts.selectable) {
          e.preventDefault();
          toggleRow(index, e.shiftKey);
        }
        return;
      default:
        return;
    }
    e.preventDefault();
    focusCell(index, col);
  });

  tbody.addEventListener('focusin', (e) => {
    const el = /** @type {HTMLElement} */ (e.target);
    const cell = el.closest('td, th');
    const tr = cell?.parentElement;
    if (!cell || !tr || tr.parentElement !== tbody) return;
    active = { index: Number(tr.getAttribute('aria-rowindex')) - 2, col: /** @type {HTMLTableCellElement} */ (cell).cellIndex };
    roving();
  });

  function toggleRow(index, range) {
    const k = keyOf(index);
    if (range) selection.range(k, rows.map(opts.key));
    else selection.toggle(k);
    renderHeader();
    renderWindow();
    opts.onSelect?.(new Set(selection.keys));
  }

  if (opts.selectable) {
    tbody.addEventListener('click', (e) => {
      const cb = /** @type {HTMLElement} */ (e.target).closest('input[data-testid=dt-select]');
      if (!cb) return;
      const tr = cb.closest('tr');
      toggleRow(Number(tr.getAttribute('aria-rowindex')) - 2, /** @type {MouseEvent} */ (e).shiftKey);
    });
    selectAll.addEventListener('change', () => {
      selection.toggleAll(rows.map(opts.key));
      renderHeader();
      renderWindow();
      opts.onSelect?.(new Set(selection.keys));
    });
  }

  thead.addEventListener('click', (e) => {
    const btn = /** @type {HTMLElement} */ (e.target).closest('button[data-sort]');
    if (btn) opts.onSort?.(btn.dataset.sort);
  });

  const onScroll = () => schedule();
  const onResize = () => {
    rowH = 0;
    schedule();
  };
  window.addEventListener('scroll', onScroll, { passive: true });
  window.addEventListener('resize', onResize);
  render();

  return {
    /** The element to put on the page (the panels and the table). */
    el: root,
    table,
    thead,
    tbody,
    /** The whole list (every item; the table derives and windows what it shows). */
    setItems(next) {
      items = next;
      if (status !== 'error' || items.length > 0) status = 'ready';
      render();
    },
    /** Re-derive and redraw (after the page's own view state changed). */
    refresh: render,
    /** @param {{key: string, desc: boolean}|null|(() => {key: string, desc: boolean}|null)} s */
    setSort(s) {
      sort = s;
      render();
    },
    /** @param {((item: T) => boolean)|null} f */
    setFilter(f) {
      filter = f;
      render();
    },
    /**
     * 'loading' before the first answer, 'error' when it failed (message in
     * the default panel), 'ready' with items.
     * @param {'loading'|'error'|'ready'} s
     * @param {string} [message]
     */
    setStatus(s, message = '') {
      status = s;
      setText(errorText, message);
      render();
    },
    /** Mark the rows as out of date (a refresh failed) without hiding them. */
    setStale(stale) {
      table.classList.toggle('stale', stale);
    },
    /** The rows as shown (filtered and sorted): their count is what the table reports. */
    rows: () => rows,
    /** The row of key if it is rendered now. */
    rowFor: (key) => rendered.get(key) ?? null,
    /** Every rendered row. */
    renderedRows: () => [...rendered.values()],
    /** [start, end) of the rows in the DOM. */
    window: () => ({ start: win.start, end: win.end }),
    /** Scroll row index into view and focus it (col: the cell). */
    focusRow(index, col = 0) {
      if (index >= 0 && index < rows.length) focusCell(index, col);
    },
    /** The selected keys (selectable tables). */
    selected: () => new Set(selection.keys),
    clearSelection() {
      selection.clear();
      render();
      opts.onSelect?.(new Set());
    },
    /** The layout changed (a media query, fonts): measure the row height again. */
    relayout() {
      rowH = 0;
      schedule();
    },
    destroy() {
      cancelAnimationFrame(frame);
      window.removeEventListener('scroll', onScroll);
      window.removeEventListener('resize', onResize);
      for (const handle of rendered.values()) handle.destroy?.();
      rendered.clear();
    },
  };
}
