// Tabs (the ARIA tabs pattern): a tablist and one panel per tab. Tabs may
// be links (href), so that each has an address and opens in a new window
// with a middle click; a click or a key selects in place. Arrow keys, Home
// and End move (automatic activation); Space selects a link tab. A tab can
// be hidden yet stay shown while selected (a view that must say why it
// closed), and the tablist hides itself when fewer than two tabs show.
// beforeSelect may refuse a change (unsaved edits).

import { h, setAttr } from '../lib/dom.js';

/**
 * @param {{
 *   tabs: Array<{id: string, label: string}>,
 *   selected?: string,
 *   label: string, testid?: string, className?: string,
 *   href?: (id: string) => string,
 *   beforeSelect?: (from: string, to: string) => boolean|Promise<boolean>,
 *   onSelect?: (id: string) => void,
 * }} opts
 *   ids: tab-ID and panel-ID (testids alike); onSelect runs after the panels switched
 */
export function createTabs(opts) {
  const ids = opts.tabs.map((x) => x.id);
  let current = ids.includes(opts.selected) ? opts.selected : ids[0];
  const hidden = new Set();
  const tabEls = new Map();
  const panels = new Map();
  for (const { id, label } of opts.tabs) {
    const attrs = {
      role: 'tab', id: `tab-${id}`, class: 'tab', 'aria-controls': `panel-${id}`, 'aria-selected': 'false', tabindex: '-1', 'data-testid': `tab-${id}`,
    };
    tabEls.set(id, opts.href ? h('a', { ...attrs, href: opts.href(id) }, label) : h('button', { ...attrs, type: 'button' }, label));
    panels.set(id, h('div', { role: 'tabpanel', id: `panel-${id}`, class: 'tab-panel', 'aria-labelledby': `tab-${id}`, 'data-testid': `panel-${id}`, hidden: true }));
  }
  const tablist = h('div', { role: 'tablist', class: ['tabs', opts.className].filter(Boolean).join(' '), 'aria-label': opts.label, 'data-testid': opts.testid ?? null },
    [...tabEls.values()]);

  /** The tabs shown now: not hidden, or selected. */
  const visible = () => ids.filter((id) => !hidden.has(id) || id === current);

  function render() {
    for (const [id, el] of tabEls) {
      const on = id === current;
      setAttr(el, 'aria-selected', String(on));
      setAttr(el, 'tabindex', on ? '0' : '-1');
      el.hidden = hidden.has(id) && !on;
      panels.get(id).hidden = !on;
    }
    tablist.hidden = visible().length < 2;
  }

  /**
   * Select a tab (asking beforeSelect first).
   * @param {string} id
   * @param {{focus?: boolean, notify?: boolean}} [o] notify false: no onSelect (the page shows it itself)
   * @returns {Promise<boolean>} whether id is selected now
   */
  async function select(id, { focus = false, notify = true } = {}) {
    if (!ids.includes(id)) return false;
    if (id === current) {
      if (focus) tabEls.get(id).focus();
      return true;
    }
    if (opts.beforeSelect && !(await opts.beforeSelect(current, id))) {
      tabEls.get(current)?.focus();
      return false;
    }
    current = id;
    render();
    if (notify) opts.onSelect?.(id);
    if (focus) tabEls.get(id).focus();
    return true;
  }

  tablist.addEventListener('click', (e) => {
    const el = /** @type {HTMLElement} */ (e.target).closest('[role=tab]');
    if (!el || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    select(el.id.slice('tab-'.length), { focus: true });
  });
  tablist.addEventListener('keydown', (e) => {
    const shown = visible();
    const i = shown.indexOf(current);
    const next = tabKeyTarget(e.key, shown, i);
    if (next === null) return;
    e.preventDefault();
    select(next, { focus: true });
  });
  render();

  return {
    tablist,
    /** The panel of tab id. */
    panel: (id) => panels.get(id),
    /** Every panel, in tab order (to put on the page after the tablist). */
    panels: () => [...panels.values()],
    select,
    selected: () => current,
    /** Hide or show a tab (a hidden tab stays while it is selected). */
    setHidden(id, hide) {
      if (hide) hidden.add(id);
      else hidden.delete(id);
      render();
    },
    isHidden: (id) => hidden.has(id),
    visible,
    /** Update a link tab's address (the other query parameters changed). */
    setHref(id, href) {
      const el = tabEls.get(id);
      if (el?.tagName === 'A') el.setAttribute('href', href);
    },
    focus: () => tabEls.get(current)?.focus(),
  };
}

/**
 * The tab a key leads to among the shown tabs (wrapping), or null.
 * @param {string} key
 * @param {string[]} shown
 * @param {number} i the selected tab's position in shown
 */
export function tabKeyTarget(key, shown, i) {
  if (shown.length === 0) return null;
  switch (key) {
    case 'ArrowRight': return shown[(i + 1) % shown.length];
    case 'ArrowLeft': return shown[(i - 1 + shown.length) % shown.length];
    case 'Home': return shown[0];
    case 'End': return shown[shown.length - 1];
    case ' ': return shown[Math.max(0, i)]; // links do not answer Space
    default: return null;
  }
}
