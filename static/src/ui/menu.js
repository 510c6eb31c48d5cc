// One dropdown menu at a time, anchored to the button that opened it (the
// ARIA menu-button pattern). The menu lives at the end of <body>, so live
// updates of a table row never close or clip it.

import { h, icon } from '../lib/dom.js';

/**
 * @typedef {object} MenuItem
 * @property {string} label
 * @property {() => void} [onSelect]
 * @property {boolean} [danger]
 * @property {boolean} [disabled]
 * @property {boolean} [checked] makes it a menuitemcheckbox
 * @property {boolean} [keepOpen] stay open after selecting
 * @property {string} [testid]
 * @property {Record<string,string>} [dataset]
 * @property {Node} [icon]
 * @property {'separator'|'info'} [kind] a divider, or a line of text that is not an item
 */

let current = null; // {anchor, el, items, onClose}
let seq = 0;

function itemsOf(el) {
  return [...el.querySelectorAll('[role^="menuitem"]:not([aria-disabled="true"])')];
}

function build(state) {
  const { el, items } = state;
  el.replaceChildren();
  for (const it of items) {
    if (it.kind === 'separator') {
      el.append(h('div', { role: 'separator', class: 'menu-sep' }));
      continue;
    }
    if (it.kind === 'info') {
      el.append(h('div', { role: 'none', class: 'menu-info', 'data-testid': it.testid }, it.label));
      continue;
    }
    const checkbox = typeof it.checked === 'boolean';
    const btn = h('button', {
      type: 'button',
      role: checkbox ? 'menuitemcheckbox' : 'menuitem',
      tabindex: '-1',
      class: 'menu-item' + (it.danger ? ' danger' : ''),
      'aria-checked': checkbox ? String(it.checked) : null,
      'aria-disabled': it.disabled ? 'true' : null,
      'data-testid': it.testid,
      dataset: it.dataset,
    }, it.icon ?? null, h('span', null, it.label), checkbox && it.checked ? icon('check', 'menu-check') : null);
    btn.addEventListener('click', (e) => {
      e.stopPropagation();
      if (it.disabled) return;
      if (!it.keepOpen) closeMenu({ focusAnchor: true });
      it.onSelect?.();
    });
    el.append(btn);
  }
}

function position() {
  if (!current) return;
  const { anchor, el } = current;
  if (!anchor.isConnected) {
    closeMenu();
    return;
  }
  const r = anchor.getBoundingClientRect();
  const vw = document.documentElement.clientWidth;
  const vh = document.documentElement.clientHeight;
  const mw = el.offsetWidth;
  const mh = el.offsetHeight;
  let left = Math.min(r.right - mw, vw - mw - 8);
  left = Math.max(8, left);
  let top = r.bottom + 4;
  if (top + mh > vh - 8 && r.top - mh - 4 >= 8) top = r.top - mh - 4;
  el.style.left = `${Math.round(left)}px`;
  el.style.top = `${Math.round(top)}px`;
}

function focusItem(index) {
  const list = itemsOf(current.el);
  if (list.length === 0) return;
  const i = (index + list.length) % list.length;
  list[i].focus();
}

function onKey(e) {
  if (!current) return;
  const list = itemsOf(current.el);
  const i = list.indexOf(document.activeElement);
  switch (e.key) {
    case 'ArrowDown':
      e.preventDefault();
      focusItem(i + 1);
      break;
    case 'ArrowUp':
      e.preventDefault();
      focusItem(i <= 0 ? list.length - 1 : i - 1);
      break;
    case 'Home':
      e.preventDefault();
      focusItem(0);
      break;
    case 'End':
      e.preventDefault();
      focusItem(list.length - 1);
      break;
    case 'Escape':
    case 'Tab':
      e.preventDefault();
      e.stopPropagation();
      closeMenu({ focusAnchor: true });
      break;
    default:
  }
}

function onPointerDown(e) {
  if (!current) return;
  if (current.el.contains(e.target) || current.anchor.contains(e.target)) return;
  closeMenu();
}

const reposition = () => position();

/**
 * Open a menu below anchor (closes any other). Clicking the anchor of the
 * open menu again closes it.
 * @param {HTMLElement} anchor
 * @param {MenuItem[]} items
 * @param {{label?: string, testid?: string, onClose?: () => void}} [opts]
 */
export function toggleMenu(anchor, items, opts = {}) {
  if (current && current.anchor === anchor) {
    closeMenu({ focusAnchor: true });
    return;
  }
  closeMenu();
  const el = h('div', {
    role: 'menu',
    class: 'menu',
    id: `menu-${++seq}`,
    'aria-label': opts.label,
    'data-testid': opts.testid ?? 'menu',
  });
  current = { anchor, el, items, onClose: opts.onClose };
  build(current);
  el.addEventListener('keydown', onKey);
  document.body.append(el);
  anchor.setAttribute('aria-expanded', 'true');
  anchor.setAttribute('aria-controls', el.id);
  position();
  document.addEventListener('pointerdown', onPointerDown, true);
  window.addEventListener('resize', reposition);
  window.addEventListener('scroll', reposition, true);
  focusItem(0);
}

/**
 * Close the open menu.
 * @param {{focusAnchor?: boolean}} [opts]
 */
export function closeMenu(opts = {}) {
  if (!current) return;
  const { anchor, el, onClose } = current;
  current = null;
  const hadFocus = el.contains(document.activeElement);
  el.remove();
  anchor.setAttribute('aria-expanded', 'false');
  anchor.removeAttribute('aria-controls');
  document.removeEventListener('pointerdown', onPointerDown, true);
  window.removeEventListener('resize', reposition);
  window.removeEventListener('scroll', reposition, true);
  if ((opts.focusAnchor || hadFocus) && anchor.isConnected) anchor.focus();
  onClose?.();
}

/** Is the open menu the one of this anchor? */
export function isMenuOpenFor(anchor) {
  return current !== null && current.anchor === anchor;
}

/**
 * Replace the items of the open menu of anchor (a live update changed
 * what is allowed), keeping the focused position when it can.
 * @param {HTMLElement} anchor
 * @param {MenuItem[]} items
 */
export function updateMenu(anchor, items) {
  if (!current || current.anchor !== anchor) return;
  const list = itemsOf(current.el);
  const focused = list.indexOf(document.activeElement);
  current.items = items;
  build(current);
  position();
  if (focused >= 0) focusItem(Math.min(focused, itemsOf(current.el).length - 1));
}

/** Re-anchor after the page moved things around. */
export function repositionMenu() {
  position();
}
