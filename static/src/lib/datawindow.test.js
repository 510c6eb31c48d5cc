import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRowIndex, scrollDeltaFor, windowRange } from './datawindow.js';

describe('windowRange', () => {
  const cases = [
    {
      name: 'the top of a long list, nothing scrolled: first screen plus overscan below',
      in: { count: 10000, rowHeight: 50, top: 200, viewport: 900, overscan: 10 },
      want: { start: 0, end: 24, padTop: 0, padBottom: (10000 - 24) * 50 },
    },
    {
      name: 'scrolled into the middle: overscan on both sides, spacers for the rest',
      in: { count: 10000, rowHeight: 50, top: -50000, viewport: 1000, overscan: 5 },
      want: { start: 995, end: 1025, padTop: 995 * 50, padBottom: (10000 - 1025) * 50 },
    },
    {
      name: 'at the end: the last rows, no spacer below',
      in: { count: 10000, rowHeight: 50, top: -(10000 * 50 - 900), viewport: 900, overscan: 10 },
      want: { start: 9972, end: 10000, padTop: 9972 * 50, padBottom: 0 },
    },
    {
      name: 'a short list fits whole',
      in: { count: 5, rowHeight: 53, top: 250, viewport: 900, overscan: 10 },
      want: { start: 0, end: 5, padTop: 0, padBottom: 0 },
    },
    {
      name: 'the list below the viewport: only the overscan',
      in: { count: 100, rowHeight: 50, top: 2000, viewport: 900, overscan: 3 },
      want: { start: 0, end: 3, padTop: 0, padBottom: 97 * 50 },
    },
    {
      name: 'scrolled past the end (a shrinking list): the last overscan rows',
      in: { count: 100, rowHeight: 50, top: -9000, viewport: 900, overscan: 3 },
      want: { start: 97, end: 100, padTop: 97 * 50, padBottom: 0 },
    },
    { name: 'empty', in: { count: 0, rowHeight: 50, top: 0, viewport: 900 }, want: { start: 0, end: 0, padTop: 0, padBottom: 0 } },
    { name: 'no row height yet', in: { count: 10, rowHeight: 0, top: 0, viewport: 900 }, want: { start: 0, end: 0, padTop: 0, padBottom: 0 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = windowRange(c.in);
      assert.deepEqual(got, c.want);
      // Spacers and rows always add up to the whole list's height.
      assert.equal(got.padTop + (got.end - got.start) * c.in.rowHeight + got.padBottom, c.in.rowHeight > 0 ? c.in.count * c.in.rowHeight : 0);
    });
  }
  it('keeps the DOM small whatever the position', () => {
    for (let top = 300; top > -500000; top -= 7919) {
      const w = windowRange({ count: 10000, rowHeight: 53, top, viewport: 900, overscan: 10 });
      assert.ok(w.end - w.start <= Math.ceil(900 / 53) + 1 + 20, `${top}: ${w.end - w.start} rows`);
    }
  });
});

describe('scrollDeltaFor', () => {
  const cases = [
    { name: 'visible: no scroll', in: { index: 3, rowHeight: 50, top: 100, viewport: 900, headerOffset: 60 }, want: 0 },
    { name: 'below: scroll down until its bottom shows', in: { index: 20, rowHeight: 50, top: 100, viewport: 900 }, want: 100 + 21 * 50 - 900 },
    { name: 'under the sticky header: scroll up to clear it', in: { index: 0, rowHeight: 50, top: 20, viewport: 900, headerOffset: 60 }, want: -40 },
    { name: 'far above', in: { index: 10, rowHeight: 50, top: -5000, viewport: 900, headerOffset: 0 }, want: -4500 },
  ];
  for (const c of cases) it(c.name, () => assert.equal(scrollDeltaFor(c.in), c.want));
});

describe('nextRowIndex', () => {
  const cases = [
    ['ArrowDown', 0, 10, 5, 1], ['ArrowDown', 9, 10, 5, 9], ['ArrowUp', 0, 10, 5, 0], ['ArrowUp', 4, 10, 5, 3],
    ['PageDown', 2, 10, 5, 7], ['PageDown', 8, 10, 5, 9], ['PageUp', 3, 10, 5, 0], ['FirstRow', 7, 10, 5, 0],
    ['LastRow', 0, 10000, 5, 9999], ['ArrowLeft', 3, 10, 5, null], ['ArrowDown', 0, 0, 5, null], ['PageDown', 0, 10, 0, 1],
  ];
  for (const [key, i, n, page, want] of cases) it(`${key} from ${i} of ${n}`, () => assert.equal(nextRowIndex(key, i, n, page), want));
});
