// A progress bar (role="progressbar"): a value 0–100 with a message, or
// indeterminate while the amount is unknown (queued, starting). The bar is
// drawn by CSS from --p (CSP: set through the CSSOM, never style="").

import { h, setAttr, setText } from '../lib/dom.js';
import { formatPercent } from '../lib/format.js';

/**
 * The text a progress bar says (aria-valuetext and the visible line).
 * @param {number|null} value 0–100, null: unknown
 * @param {string} [message]
 */
export function progressText(value, message = '') {
  const pct = value === null || !Number.isFinite(value) ? '' : formatPercent(Math.max(0, Math.min(100, value)));
  return [pct, message].filter(Boolean).join(' · ');
}

/**
 * @param {{label: string, value?: number|null, message?: string, testid?: string}} o
 *   label: what progresses (the accessible name); value null: indeterminate
 */
export function createProgress(o) {
  const bar = h('div', { class: 'progress-bar', 'aria-hidden': 'true' }, h('div', { class: 'progress-fill' }));
  const text = h('span', { class: 'progress-text' });
  const el = h('div', {
    class: 'progress', role: 'progressbar', 'aria-label': o.label, 'aria-valuemin': '0', 'aria-valuemax': '100',
    'data-testid': o.testid ?? 'progress',
  }, bar, text);

  function set(value, message = '') {
    const known = value !== null && value !== undefined && Number.isFinite(value);
    const v = known ? Math.max(0, Math.min(100, value)) : null;
    setAttr(el, 'aria-valuenow', known ? String(Math.round(v)) : null);
    el.classList.toggle('indeterminate', !known);
    el.style.setProperty('--p', known ? String(v / 100) : '0');
    const s = progressText(v, message);
    setAttr(el, 'aria-valuetext', s || null);
    setText(text, s);
  }
  set(o.value ?? null, o.message ?? '');
  return {
    el,
    /** @param {number|null} value 0–100, null: unknown @param {string} [message] */
    set,
    /** Mark the end: done (full, "ok") or failed ("error"). */
    finish(state, message = '') {
      el.dataset.state = state;
      set(state === 'ok' ? 100 : null, message);
      el.classList.remove('indeterminate');
    },
  };
}
