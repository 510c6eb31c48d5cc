// The guests page: a live table of every guest the caller may see, with a
// name search, a state filter with counts, sortable columns and per-row
// actions. The list comes from lib/guestfeed.js (one fetch, then the event
// stream's guest events; a slow refresh for usage figures). The table (ui/datatable.js) is windowed: only the
// rows on screen are in the DOM, so 10,000 guests cost what 40 do; rows
// are keyed by name and updated in place while on screen (no flicker,
// focus and open menus survive). Running guests with a display show a
// screenshot thumbnail (ui/thumbs.js: only rows on screen, at most every
// 10 s each, never per list refresh), and a Console link when their
// allowed_actions allow one. The row itself is pages/guestrow.js.

import { runAction } from '../actions.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatNumber, formatTime } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { subscribe } from '../lib/guestfeed.js';
import { DEFAULT_SORT, SORT_KEYS, countGroups, parseSort, sortSpec, toggleSort, viewVMs } from '../lib/vmlist.js';
import { GROUPS } from '../lib/vmstate.js';
import { createDataTable } from '../ui/datatable.js';
import { closeMenu, isMenuOpenFor, repositionMenu, toggleMenu, updateMenu } from '../ui/menu.js';
import { createThumbs } from '../ui/thumbs.js';
import { COLUMNS, Row, rowPrototype } from './guestrow.js';
import { newGuestButton } from './newguest.js';
import { helpButton } from '../ui/help.js';

export { graphicsLabel, setUsage } from './guestrow.js';

/**
 * Mount the guests page.
 * @param {HTMLElement} main
 * @param {{seesAll?: boolean, navigate: (path: string) => void, replaceURL: (url: string) => void, prefetch?: Promise<any>|null}} ctx
 *   seesAll: an administrator or auditor, who sees every guest (not only granted ones)
 */
export function mountGuests(main, ctx) {
  const params = new URLSearchParams(location.search);
  const view = {
    q: params.get('q') ?? '',
    group: GROUPS.includes(params.get('state')) ? params.get('state') : 'all',
    sort: sortSpec(parseSort(params.get('sort') ?? DEFAULT_SORT)),
  };

  /** @type {any[]} */
  let vms = [];
  let total = 0;
  let loaded = false;
  let lastOk = null;
  let failure = null;
  /** name → {seq, vm|null}: local results newer than fetches already under way */
  const local = new Map();
  const proto = rowPrototype();
  const thumbs = createThumbs();
  const rowOpts = { thumbs };

  // ---- structure
  const heading = h('h1', { class: 'page-title', tabindex: '-1' }, t('guests.title'));
  const summary = h('p', { class: 'page-summary', 'data-testid': 'guest-summary' });
  const refreshNote = h('span', { class: 'refresh-note', 'data-testid': 'refresh-note' });

  const errorText = h('span', { class: 'banner-text' });
  const retry = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'retry' }, icon('refresh'), t('common.retry'));
  const errorBanner = h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'refresh-error', hidden: true },
    icon('alert', 'banner-icon'), errorText, retry);
  const shortText = h('span', { class: 'banner-text' });
  const shortBanner = h('div', { class: 'banner banner-warn', role: 'status', 'data-testid': 'list-incomplete', hidden: true },
    icon('alert', 'banner-icon'), shortText);

  const search = h('input', {
    type: 'search', id: 'guest-search', class: 'input', 'data-testid': 'guest-search', autocomplete: 'off', spellcheck: 'false',
    placeholder: t('guests.searchPlaceholder'), value: view.q, 'aria-keyshortcuts': '/',
  });
  const searchBox = h('div', { class: 'search' },
    h('label', { for: 'guest-search', class: 'visually-hidden' }, t('guests.searchLabel')),
    icon('search', 'search-icon'), search);

  const filterButtons = new Map();
  const filters = h('div', { class: 'segmented', role: 'group', 'aria-label': t('guests.filterLabel'), 'data-testid': 'state-filter' },
    GROUPS.map((g) => {
      const count = h('span', { class: 'seg-count', 'data-testid': 'filter-count' });
      const b = h('button', { type: 'button', class: 'seg', 'data-group': g, 'data-testid': `filter-${g}`, 'aria-pressed': String(view.group === g) },
        h('span', null, t(`guests.filter.${g}`)), count);
      filterButtons.set(g, { button: b, count });
      return b;
    }));

  const sortSelect = h('select', { id: 'guest-sort', class: 'input', 'data-testid': 'sort-select' },
    SORT_KEYS.flatMap((k) => [false, true].map((desc) => {
      const spec = sortSpec({ key: k, desc });
      const column = t(COLUMNS.find((c) => c.key === k).label);
      return h('option', { value: spec }, t(desc ? 'guests.sortDesc' : 'guests.sortAsc', { column }));
    })));
  sortSelect.value = view.sort;
  const sortBox = h('div', { class: 'sort-box' }, h('label', { for: 'guest-sort' }, t('guests.sortBy')), sortSelect);

  const count = h('p', { class: 'list-count', 'data-testid': 'guest-count', 'aria-live': 'polite' });
  const staleTag = h('span', { class: 'tag tag-warn', 'data-testid': 'stale', hidden: true }, t('guests.stale'));

  const loading = h('div', { class: 'state-panel', role: 'status', 'data-testid': 'guests-loading' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, t('guests.loading')));
  const emptyTitle = h('h2', null);
  const emptyText = h('p', null);
  const clearBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'clear-filters' }, t('guests.clearFilters'));
  const empty = h('div', { class: 'state-panel empty', 'data-testid': 'guests-empty', hidden: true },
    icon('box', 'empty-icon'), emptyTitle, emptyText, clearBtn);

  const table = createDataTable({
    columns: COLUMNS.map((c) => ({ id: c.key ?? 'actions', label: t(c.label), cls: c.cls, sortable: Boolean(c.key) })),
    key: (vm) => vm.name,
    caption: t('guests.caption'),
    className: 'vm-table',
    testid: 'vm-table',
    derive: (items) => viewVMs(items, view),
    sort: () => parseSort(view.sort),
    onSort: (key) => {
      view.sort = toggleSort(view.sort, key);
      syncURL();
      render();
    },
    createRow,
    loading,
    empty,
    error: null, // the banner above says what failed
  });

  const newGuest = newGuestButton({ names: () => vms.map((v) => v.name) });
  const page = h('section', { class: 'page page-guests', 'aria-labelledby': 'guests-title' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-heading' }, heading, summary),
      refreshNote, helpButton('guests'), newGuest.el),
    errorBanner, shortBanner,
    h('div', { class: 'toolbar' }, searchBox, filters, sortBox),
    h('div', { class: 'list-meta' }, count, staleTag),
    table.el);
  heading.id = 'guests-title';
  main.replaceChildren(page);

  // ---- view state
  function syncURL() {
    const p = new URLSearchParams();
    if (view.q) p.set('q', view.q);
    if (view.group !== 'all') p.set('state', view.group);
    if (view.sort !== DEFAULT_SORT) p.set('sort', view.sort);
    const qs = p.toString();
    ctx.replaceURL(location.pathname + (qs ? '?' + qs : ''));
  }

  let frame = 0;
  function scheduleRender() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      render();
    });
  }

  function renderHeader() {
    if (sortSelect.value !== view.sort) sortSelect.value = view.sort;
    for (const [g, { button }] of filterButtons) button.setAttribute('aria-pressed', String(g === view.group));
  }

  function render() {
    renderHeader();
    if (!loaded) return;
    const counts = countGroups(vms, view.q);
    for (const [g, { count: c }] of filterButtons) setText(c, formatNumber(counts[g]));

    const running = vms.filter((v) => v.state === 'running' || v.state === 'blocked').length;
    setText(summary, `${t('guests.total', { count: total })} · ${t('guests.running', { count: running })}`);

    const active = document.activeElement;
    const hadFocusInTable = active && table.tbody.contains(active);
    table.setItems(vms);
    if (hadFocusInTable && active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });

    // The count is the table's own (every row, windowed or not), never what is in the DOM.
    const shown = table.rows().length;
    const filtered = view.q !== '' || view.group !== 'all';
    setText(count, filtered
      ? t('guests.showing', { shown, count: total })
      : t('guests.total', { count: total }));

    if (vms.length !== total) {
      shortBanner.hidden = false;
      setText(shortText, t('guests.incomplete', { received: vms.length, count: total }));
    } else {
      shortBanner.hidden = true;
    }

    if (shown === 0) {
      const none0 = total === 0 && vms.length === 0;
      setText(emptyTitle, t(none0 ? 'guests.empty.title' : 'guests.noMatch.title'));
      setText(emptyText, t(!none0 ? 'guests.noMatch.text' : ctx.seesAll ? 'guests.empty.text' : 'guests.empty.textUser'));
      clearBtn.hidden = none0 || !filtered;
    }
    repositionMenu();
  }

  /** A row for the table: created when the guest scrolls into the window, destroyed when it leaves. */
  function createRow(vm) {
    const r = new Row(proto, vm, rowOpts);
    return {
      tr: r.tr,
      item: vm,
      row: r,
      update(next) {
        if (r.busy) return; // the action's own result comes next
        r.update(next);
        if (isMenuOpenFor(r.menuButton)) updateMenu(r.menuButton, r.menuItems(onAction));
      },
      destroy() {
        if (isMenuOpenFor(r.menuButton)) closeMenu();
        thumbs.detach(r.name);
      },
    };
  }

  /** The Row of a rendered row element. */
  function rowOf(tr) {
    return tr ? table.rowFor(tr.dataset.name)?.row ?? null : null;
  }

  function renderStatus() {
    const stale = failure !== null && loaded;
    table.setStale(stale);
    staleTag.hidden = !stale;
    if (failure) {
      errorBanner.hidden = false;
      setText(errorText, loaded && lastOk
        ? t('guests.refreshFailedStale', { message: failure.message, time: formatTime(lastOk) })
        : t('guests.loadFailed', { message: failure.message }));
    } else {
      errorBanner.hidden = true;
    }
    setText(refreshNote, lastOk ? t('guests.updatedAt', { time: formatTime(lastOk) }) : '');
  }

  // ---- data
  function onList(list, seq) {
    newGuest.setAllowed(list?.allowed_actions);
    let items = Array.isArray(list?.items) ? list.items : [];
    // Results of actions that finished after this request left win over it.
    for (const [name, entry] of local) {
      if (entry.seq < seq) local.delete(name);
    }
    let dropped = 0;
    if (local.size > 0) {
      items = items.flatMap((vm) => {
        const e = local.get(vm.name);
        if (!e) return [vm];
        if (e.vm) return [e.vm];
        dropped++;
        return [];
      });
    }
    const gone = new Set(vms.map((v) => v.name));
    for (const vm of items) gone.delete(vm.name);
    for (const name of gone) thumbs.forget(name);
    vms = items;
    total = (typeof list?.total === 'number' ? list.total : items.length + dropped) - dropped;
    loaded = true;
    failure = null;
    lastOk = new Date();
    renderStatus();
    render();
  }

  function onError(err) {
    failure = err;
    if (!loaded) table.setStatus('error');
    renderStatus();
  }

  function applyLocal(name, vm) {
    local.set(name, { seq: feed?.seq() ?? 0, vm });
    if (vm) {
      const i = vms.findIndex((v) => v.name === name);
      if (i >= 0) vms[i] = vm;
    } else {
      const before = vms.length;
      vms = vms.filter((v) => v.name !== name);
      if (vms.length < before) total = Math.max(0, total - 1);
    }
    render();
  }

  function onAction(row, action) {
    runAction(row.name, action, {
      setBusy: (b) => row.setBusy(b),
      onUpdated: (vm) => applyLocal(row.name, { ...row.vm, ...vm }),
      onDeleted: () => applyLocal(row.name, null),
    });
  }

  // ---- events
  table.tbody.addEventListener('click', (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    const btn = target.closest('button');
    if (!btn) return;
    const row = rowOf(btn.closest('tr'));
    if (!row || row.busy) return;
    if (btn === row.primary && btn.dataset.action) {
      onAction(row, btn.dataset.action);
    } else if (btn === row.menuButton) {
      toggleMenu(btn, row.menuItems(onAction), { label: t('guests.moreActions', { name: row.name }), testid: 'vm-menu' });
    }
  });

  sortSelect.addEventListener('change', () => {
    view.sort = sortSelect.value;
    syncURL();
    render();
  });

  filters.addEventListener('click', (e) => {
    const btn = /** @type {HTMLElement} */ (e.target).closest('button[data-group]');
    if (!btn) return;
    view.group = btn.dataset.group;
    syncURL();
    render();
  });

  search.addEventListener('input', () => {
    view.q = search.value;
    syncURL();
    scheduleRender();
  });
  search.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && search.value) {
      e.preventDefault();
      search.value = '';
      view.q = '';
      syncURL();
      render();
    }
  });

  clearBtn.addEventListener('click', () => {
    search.value = '';
    view.q = '';
    view.group = 'all';
    syncURL();
    render();
    search.focus();
  });

  let feed = null;
  retry.addEventListener('click', () => feed?.now());

  // "/" jumps to the search field, as in many list views.
  function onSlash(e) {
    if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
    const el = /** @type {HTMLElement} */ (document.activeElement);
    if (el && (el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName))) return;
    if (document.querySelector('dialog[open]')) return;
    e.preventDefault();
    search.focus();
    search.select();
  }
  document.addEventListener('keydown', onSlash);

  renderHeader();
  // The shell may have asked for the list already, while checking the session.
  feed = subscribe(onList, { prefetch: ctx.prefetch ?? null, onError });

  return {
    title: t('guests.title'),
    heading,
    unmount() {
      feed.stop();
      table.destroy();
      thumbs.stop();
      cancelAnimationFrame(frame);
      document.removeEventListener('keydown', onSlash);
      closeMenu();
    },
  };
}
