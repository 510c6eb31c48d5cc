// Window math of the data table (ui/datatable.js): which rows of a long
// list are on screen, given where the list's top is and how tall a row is.
// Pure, so the arithmetic is unit-tested; the table does the DOM.

/**
 * The rows to render: those visible plus overscan on each side, and the
 * space the rows left out take above and below (the spacer).
 * @param {{count: number, rowHeight: number, top: number, viewport: number, overscan?: number}} o
 *   top: the list's top edge relative to the viewport's top (negative once scrolled past);
 *   viewport: the height of the visible area
 * @returns {{start: number, end: number, padTop: number, padBottom: number}} rows [start, end)
 */
export function windowRange({ count, rowHeight, top, viewport, overscan = 10 }) {
  const n = Math.max(0, Math.floor(count));
  if (n === 0 || !(rowHeight > 0)) return { start: 0, end: 0, padTop: 0, padBottom: 0 };
  const h = Math.max(0, viewport);
  // The part of the list inside the viewport, in list coordinates.
  const from = Math.max(0, -top);
  const to = Math.max(0, h - top);
  let first = Math.floor(from / rowHeight);
  let last = Math.ceil(to / rowHeight); // exclusive
  first = Math.min(first, n);
  last = Math.min(Math.max(last, first), n);
  const start = Math.max(0, first - overscan);
  const end = Math.min(n, last + overscan);
  return { start, end, padTop: start * rowHeight, padBottom: (n - end) * rowHeight };
}

/**
 * How far to scroll so that row index is fully visible (0 when it already is).
 * @param {{index: number, rowHeight: number, top: number, viewport: number, headerOffset?: number}} o
 *   headerOffset: what covers the viewport's top (a sticky header)
 * @returns {number} a scroll delta in pixels (negative: up)
 */
export function scrollDeltaFor({ index, rowHeight, top, viewport, headerOffset = 0 }) {
  const rowTop = top + index * rowHeight;
  const rowBottom = rowTop + rowHeight;
  if (rowTop < headerOffset) return rowTop - headerOffset;
  if (rowBottom > viewport) return rowBottom - viewport;
  return 0;
}

/**
 * The row a navigation key leads to, clamped to the list.
 * @param {string} key ArrowUp, ArrowDown, PageUp, PageDown, Home, End (with ctrl: first/last row)
 * @param {number} index the current row
 * @param {number} count rows in the list
 * @param {number} page rows per screen
 * @returns {number|null} null: not a row-moving key
 */
export function nextRowIndex(key, index, count, page) {
  if (count <= 0) return null;
  const p = Math.max(1, page);
  let i;
  switch (key) {
    case 'ArrowDown': i = index + 1; break;
    case 'ArrowUp': i = index - 1; break;
    case 'PageDown': i = index + p; break;
    case 'PageUp': i = index - p; break;
    case 'FirstRow': i = 0; break;
    case 'LastRow': i = count - 1; break;
    default: return null;
  }
  return Math.max(0, Math.min(count - 1, i));
}
