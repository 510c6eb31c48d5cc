// Toasts: short notices in a live region at the corner of the window.
// Success toasts go after 5 s, errors after 10 s; both have a close button.

import { h, icon } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

let region = null;

function ensureRegion() {
  if (region && region.isConnected) return region;
  region = h('section', { class: 'toasts', 'aria-label': t('toast.region') });
  document.body.append(region);
  return region;
}

/**
 * Show a toast.
 * @param {string} message
 * @param {{kind?: 'success'|'error'|'info', title?: string, timeout?: number}} [opts]
 * @returns {() => void} dismiss
 */
export function toast(message, opts = {}) {
  const kind = opts.kind ?? 'success';
  const timeout = opts.timeout ?? (kind === 'error' ? 10000 : 5000);
  const root = ensureRegion();
  const el = h('div', {
    class: `toast toast-${kind}`,
    role: kind === 'error' ? 'alert' : 'status',
    'data-testid': 'toast',
    'data-kind': kind,
  },
  icon(kind === 'error' ? 'alert' : 'check', 'toast-icon'),
  h('div', { class: 'toast-body' },
    opts.title ? h('strong', { class: 'toast-title' }, opts.title) : null,
    h('span', { class: 'toast-message' }, message)),
  h('button', {
    type: 'button', class: 'icon-button toast-close', 'aria-label': t('common.dismiss'), 'data-testid': 'toast-close',
    onclick: () => dismiss(),
  }, icon('close')));

  let timer = 0;
  const dismiss = () => {
    clearTimeout(timer);
    el.classList.add('leaving');
    setTimeout(() => el.remove(), 150);
  };
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(dismiss, timeout);
  };
  // Reading a toast keeps it: hovering or focusing pauses the timer.
  el.addEventListener('pointerenter', () => clearTimeout(timer));
  el.addEventListener('pointerleave', arm);
  el.addEventListener('focusin', () => clearTimeout(timer));
  el.addEventListener('focusout', arm);
  root.append(el);
  while (root.children.length > 4) root.firstElementChild.remove();
  arm();
  return dismiss;
}
