// The guests page: a live table of every guest the caller may see, with a
// name search, a state filter with counts, sortable columns and per-row
// actions. The server's full list is fetched every 3 s while the tab is
// visible; rows are keyed by name and updated in place (no re-render, no
// flicker, focus and open menus survive). Running guests with a display
// show a screenshot thumbnail in the Graphics column (ui/thumbs.js: only
// rows on screen, at most every 10 s each, never per list refresh), and a
// Console link when their allowed_actions allow one.

import { actionLabel, runAction } from '../actions.js';
import { api } from '../lib/api.js';
import { consoleOffered } from '../lib/console.js';
import { h, icon, setAttr, setText } from '../lib/dom.js';
import { formatMiB, formatNumber, formatOS, formatPercent, formatRate, formatTime, none } from '../lib/format.js';
import { hasKey, t } from '../lib/i18n.js';
import { guestPath } from '../lib/router.js';
import { createPoller } from '../lib/poller.js';
import { DEFAULT_SORT, SORT_KEYS, countGroups, parseSort, sortSpec, toggleSort, viewVMs } from '../lib/vmlist.js';
import { GROUPS, isActive, stateTone, vmActions } from '../lib/vmstate.js';
import { closeMenu, isMenuOpenFor, repositionMenu, toggleMenu, updateMenu } from '../ui/menu.js';
import { createThumbs } from '../ui/thumbs.js';

export const REFRESH_MS = 3000;

// Columns: key (sort key or null), class, heading key.
const COLUMNS = [
  { key: 'name', cls: 'c-name', label: 'guests.col.name' },
  { key: 'state', cls: 'c-state', label: 'guests.col.state' },
  { key: 'os', cls: 'c-os', label: 'guests.col.os' },
  { key: 'vcpus', cls: 'c-vcpus num', label: 'guests.col.vcpus' },
  { key: 'memory', cls: 'c-memory num', label: 'guests.col.memory' },
  { key: 'cpu', cls: 'c-cpu', label: 'guests.col.cpu' },
  { key: 'mem', cls: 'c-mem', label: 'guests.col.mem' },
  { key: 'disk', cls: 'c-disk', label: 'guests.col.disk' },
  { key: 'net', cls: 'c-net', label: 'guests.col.net' },
  { key: 'graphics', cls: 'c-gfx', label: 'guests.col.graphics' },
  { key: null, cls: 'c-actions', label: 'guests.col.actions' },
];

/** The text of the graphics column. */
export function graphicsLabel(g) {
  if (!g) return none();
  return hasKey(`graphics.${g}`) ? t(`graphics.${g}`) : g;
}

/**
 * The prototype row, cloned for every guest (cheaper than building each).
 * Lean on purpose (about 30 nodes): a thousand rows must lay out fast, so
 * the bars, the state dot and the menu glyph are drawn by CSS.
 */
function rowPrototype() {
  const tr = h('tr', { class: 'vm-row', 'data-testid': 'vm-row', role: 'row' });
  COLUMNS.forEach((col, i) => {
    const cell = h(i === 0 ? 'th' : 'td', { class: col.cls, role: i === 0 ? 'rowheader' : 'cell', 'data-label': t(col.label) });
    if (i === 0) cell.setAttribute('scope', 'row');
    tr.append(cell);
  });
  const c = tr.cells;
  c[0].append(h('a', { class: 'vm-name' }));
  c[1].append(h('span', { class: 'badge', 'data-testid': 'state-badge' }));
  c[5].classList.add('usage');
  c[6].classList.add('usage');
  c[7].classList.add('io');
  c[8].classList.add('io');
  // The screenshot box: decorative (the name links to the same place), its placeholder drawn by CSS.
  c[9].append(h('a', { class: 'thumb', 'data-testid': 'vm-thumb', 'data-thumb': 'off', tabindex: '-1', 'aria-hidden': 'true' }));
  c[10].append(
    h('a', { class: 'icon-button console-link is-empty', 'data-testid': 'vm-console' }),
    h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'vm-primary-action' }),
    h('button', { type: 'button', class: 'icon-button more-button', 'data-testid': 'vm-menu-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false' }));
  return tr;
}

/** One guest's row: its elements and the values last written to them. */
class Row {
  /**
   * @param {HTMLTableRowElement} proto
   * @param {any} vm
   * @param {{thumbs: ReturnType<typeof createThumbs>}} opts
   */
  constructor(proto, vm, opts) {
    const tr = /** @type {HTMLTableRowElement} */ (proto.cloneNode(true));
    this.tr = tr;
    this.opts = opts;
    this.busy = false;
    this.name = vm.name;
    this.actionsKey = '';
    const c = tr.cells;
    this.link = c[0].firstChild;
    this.badge = c[1].firstChild;
    this.os = c[2];
    this.vcpus = c[3];
    this.memory = c[4];
    this.cpu = c[5];
    this.mem = c[6];
    this.disk = c[7];
    this.net = c[8];
    this.thumb = c[9].firstChild;
    this.consoleLink = c[10].firstChild;
    this.primary = c[10].children[1];
    this.menuButton = c[10].lastChild;
    this.consoleKey = null;

    tr.dataset.name = vm.name;
    this.link.href = guestPath(vm.name);
    this.link.textContent = vm.name;
    this.menuButton.setAttribute('aria-label', t('guests.moreActions', { name: vm.name }));
    this.update(vm);
  }

  /** Write vm into the row, touching only what changed. */
  update(vm) {
    this.vm = vm;
    const tr = this.tr;
    if (tr.dataset.state !== vm.state) {
      tr.dataset.state = vm.state;
      this.badge.dataset.tone = stateTone(vm.state);
      this.badge.dataset.state = vm.state;
      this.badge.textContent = t(`state.${vm.state}`);
    }
    const os = formatOS(vm.os);
    setText(this.os, os);
    if (!vm.os?.distro !== this.os.classList.contains('is-none')) this.os.classList.toggle('is-none');
    setAttr(this.os, 'title', vm.os?.arch ? `${os} (${vm.os.arch})` : null);
    setText(this.vcpus, formatNumber(vm.vcpus));
    setText(this.memory, formatMiB(vm.memory_mib));
    const active = isActive(vm.state);
    // usage_reported false: the host gives no figures (libvirt's test driver): "—", not 0 %.
    const usage = active && vm.usage_reported !== false;
    setUsage(this.cpu, usage ? vm.cpu_percent : null);
    setUsage(this.mem, usage ? vm.mem_percent : null);
    setText(this.disk, active
      ? `${t('guests.io.read', { rate: formatRate(vm.disk_read_bps) })}\n${t('guests.io.write', { rate: formatRate(vm.disk_write_bps) })}`
      : none());
    setText(this.net, active
      ? `${t('guests.io.rx', { rate: formatRate(vm.net_rx_bps) })}\n${t('guests.io.tx', { rate: formatRate(vm.net_tx_bps) })}`
      : none());
    const gfx = graphicsLabel(vm.graphics);
    if (this.thumb.dataset.label !== gfx) this.thumb.dataset.label = gfx;
    this.renderConsole();
    this.opts.thumbs.update(this.thumb, vm);
    this.renderActions();
  }

  /** The Console link and where the thumbnail leads: the console when the role allows it, else the detail. */
  renderConsole() {
    const offered = consoleOffered(this.vm);
    if (offered === this.consoleKey) return;
    this.consoleKey = offered;
    const a = this.consoleLink;
    const detail = guestPath(this.name);
    if (offered) {
      a.href = `${detail}?tab=console`;
      a.setAttribute('aria-label', t('guests.consoleFor', { name: this.name }));
      a.title = t('console.open');
      a.classList.remove('is-empty');
    } else {
      a.removeAttribute('href');
      a.removeAttribute('aria-label');
      a.removeAttribute('title');
      a.classList.add('is-empty');
    }
    this.thumb.href = offered ? `${detail}?tab=console` : detail;
  }

  /** What the caller may do to this guest now: its state and its allowed_actions (ui helper: allowed_actions). */
  allowed() {
    return vmActions(this.vm);
  }

  /** The menu items for the current state (everything but the primary action). */
  menuItems(onAction) {
    const { more } = this.allowed();
    return more.map((a) => ({
      label: actionLabel(a),
      danger: a === 'poweroff' || a === 'reset' || a === 'delete',
      testid: 'vm-menu-item',
      dataset: { action: a },
      onSelect: () => onAction(this, a),
    }));
  }

  renderActions() {
    const { primary, more } = this.allowed();
    const key = `${primary}|${more.join(',')}|${this.busy}`;
    if (key === this.actionsKey) return false;
    this.actionsKey = key;
    const p = this.primary;
    if (primary) {
      p.dataset.action = primary;
      p.textContent = actionLabel(primary);
      p.setAttribute('aria-label', t('guests.actionFor', { action: actionLabel(primary), name: this.name }));
      p.className = 'btn btn-sm' + (primary === 'start' || primary === 'resume' ? ' btn-primary' : '');
    } else {
      // Invisible rather than gone, so that the buttons of every row line up.
      p.className = 'btn btn-sm is-empty';
      p.textContent = '';
      p.removeAttribute('aria-label');
      delete p.dataset.action;
    }
    this.menuButton.classList.toggle('is-empty', more.length === 0);
    p.disabled = this.busy;
    this.menuButton.disabled = this.busy;
    return true;
  }

  setBusy(busy) {
    this.busy = busy;
    this.tr.classList.toggle('busy', busy);
    setAttr(this.tr, 'aria-busy', busy ? 'true' : null);
    this.renderActions();
  }
}

/**
 * A usage cell (class "usage"): its text, and the bar drawn by CSS from --p (0–1).
 * @param {HTMLElement} cell
 * @param {number|null} percent 0–100, or null when not meaningful
 */
export function setUsage(cell, percent) {
  if (percent === null || !Number.isFinite(percent)) {
    if (cell.dataset.p !== '') {
      cell.dataset.p = '';
      cell.classList.add('idle');
      cell.classList.remove('high');
    }
    setText(cell, none());
    return;
  }
  const p = Math.max(0, Math.min(100, percent));
  const key = p.toFixed(1);
  if (cell.dataset.p !== key) {
    cell.dataset.p = key;
    cell.style.setProperty('--p', String(p / 100));
    cell.classList.remove('idle');
    if ((p >= 90) !== cell.classList.contains('high')) cell.classList.toggle('high');
  }
  setText(cell, formatPercent(percent));
}

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

  // The shell may have asked for the list already, while checking the session.
  let prefetch = ctx.prefetch ?? null;
  /** @type {any[]} */
  let vms = [];
  let total = 0;
  let loaded = false;
  let lastOk = null;
  let failure = null;
  let fetchNo = 0;
  /** name → {fetchNo, vm|null}: local results newer than fetches already under way */
  const local = new Map();
  /** @type {Map<string, Row>} */
  const rows = new Map();
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

  const headCells = COLUMNS.map((col) => {
    const th = h('th', { scope: 'col', class: col.cls, role: 'columnheader' });
    if (col.key) {
      th.append(h('button', { type: 'button', class: 'sort-button', 'data-sort': col.key, 'data-testid': `sort-${col.key}` },
        h('span', null, t(col.label)), h('span', { class: 'sort-arrow', 'aria-hidden': 'true' })));
    } else {
      th.append(h('span', { class: 'visually-hidden' }, t(col.label)));
    }
    return th;
  });
  const thead = h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, headCells));
  const tbody = h('tbody', { role: 'rowgroup' });
  const table = h('table', { class: 'vm-table', role: 'table', 'data-testid': 'vm-table', 'aria-labelledby': 'guests-caption' },
    h('caption', { id: 'guests-caption', class: 'visually-hidden' }, t('guests.caption')), thead, tbody);
  const tableWrap = h('div', { class: 'table-wrap', hidden: true }, table);

  const loading = h('div', { class: 'state-panel', role: 'status', 'data-testid': 'guests-loading' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', null, t('guests.loading')));
  const emptyTitle = h('h2', null);
  const emptyText = h('p', null);
  const clearBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'clear-filters' }, t('guests.clearFilters'));
  const empty = h('div', { class: 'state-panel empty', 'data-testid': 'guests-empty', hidden: true },
    icon('box', 'empty-icon'), emptyTitle, emptyText, clearBtn);

  const page = h('section', { class: 'page page-guests', 'aria-labelledby': 'guests-title' },
    h('header', { class: 'page-head' },
      h('div', { class: 'page-heading' }, heading, summary),
      refreshNote),
    errorBanner, shortBanner,
    h('div', { class: 'toolbar' }, searchBox, filters, sortBox),
    h('div', { class: 'list-meta' }, count, staleTag),
    loading, empty, tableWrap);
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
    const { key, desc } = parseSort(view.sort);
    headCells.forEach((th, i) => {
      const k = COLUMNS[i].key;
      if (!k) return;
      setAttr(th, 'aria-sort', k === key ? (desc ? 'descending' : 'ascending') : null);
    });
    if (sortSelect.value !== view.sort) sortSelect.value = view.sort;
    for (const [g, { button }] of filterButtons) setAttr(button, 'aria-pressed', String(g === view.group));
  }

  function render() {
    renderHeader();
    if (!loaded) return;
    const counts = countGroups(vms, view.q);
    for (const [g, { count: c }] of filterButtons) setText(c, formatNumber(counts[g]));

    const running = vms.filter((v) => v.state === 'running' || v.state === 'blocked').length;
    setText(summary, `${t('guests.total', { count: total })} · ${t('guests.running', { count: running })}`);

    const shown = viewVMs(vms, view);
    const filtered = view.q !== '' || view.group !== 'all';
    setText(count, filtered
      ? t('guests.showing', { shown: shown.length, count: total })
      : t('guests.total', { count: total }));

    if (vms.length !== total) {
      shortBanner.hidden = false;
      setText(shortText, t('guests.incomplete', { received: vms.length, count: total }));
    } else {
      shortBanner.hidden = true;
    }

    // Rows: update every known guest, create the ones shown for the first time.
    const names = new Set();
    for (const vm of vms) {
      names.add(vm.name);
      const r = rows.get(vm.name);
      if (r && !r.busy && r.vm !== vm) {
        r.update(vm);
        if (isMenuOpenFor(r.menuButton)) updateMenu(r.menuButton, r.menuItems(onAction));
      }
    }
    for (const [name, r] of rows) {
      if (!names.has(name)) {
        if (isMenuOpenFor(r.menuButton)) closeMenu();
        r.tr.remove();
        rows.delete(name);
        thumbs.forget(name);
      }
    }

    const active = document.activeElement;
    const hadFocusInTable = active && tbody.contains(active);
    if (tbody.firstChild === null) {
      const frag = document.createDocumentFragment();
      for (const vm of shown) frag.append(rowFor(vm).tr);
      tbody.append(frag);
    } else {
      let cursor = tbody.firstElementChild;
      for (const vm of shown) {
        const tr = rowFor(vm).tr;
        if (tr === cursor) {
          cursor = cursor.nextElementSibling;
          continue;
        }
        place(tbody, tr, cursor);
      }
      while (cursor) {
        const next = cursor.nextElementSibling;
        cursor.remove();
        cursor = next;
      }
    }
    if (hadFocusInTable && active.isConnected && document.activeElement !== active) active.focus({ preventScroll: true });

    loading.hidden = true;
    const nothing = shown.length === 0;
    tableWrap.hidden = nothing;
    empty.hidden = !nothing;
    if (nothing) {
      const none0 = total === 0 && vms.length === 0;
      setText(emptyTitle, t(none0 ? 'guests.empty.title' : 'guests.noMatch.title'));
      setText(emptyText, t(!none0 ? 'guests.noMatch.text' : ctx.seesAll ? 'guests.empty.text' : 'guests.empty.textUser'));
      clearBtn.hidden = none0 || !filtered;
    }
    repositionMenu();
  }

  function rowFor(vm) {
    let r = rows.get(vm.name);
    if (!r) {
      r = new Row(proto, vm, rowOpts);
      rows.set(vm.name, r);
    }
    return r;
  }

  function renderStatus() {
    const stale = failure !== null && loaded;
    table.classList.toggle('stale', stale);
    staleTag.hidden = !stale;
    if (failure) {
      errorBanner.hidden = false;
      setText(errorText, loaded && lastOk
        ? t('guests.refreshFailedStale', { message: failure.message, time: formatTime(lastOk) })
        : t('guests.loadFailed', { message: failure.message }));
      if (!loaded) {
        loading.hidden = true;
      }
    } else {
      errorBanner.hidden = true;
    }
    setText(refreshNote, lastOk ? t('guests.updatedAt', { time: formatTime(lastOk) }) : '');
  }

  // ---- data
  async function refresh(signal) {
    const no = ++fetchNo;
    try {
      let list;
      if (prefetch) {
        list = await prefetch.catch(() => api.listVMs(signal));
        prefetch = null;
      } else {
        list = await api.listVMs(signal);
      }
      let items = Array.isArray(list?.items) ? list.items : [];
      // Results of actions that finished after this request left win over it.
      for (const [name, entry] of local) {
        if (entry.fetchNo < no) local.delete(name);
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
      vms = items;
      total = (typeof list?.total === 'number' ? list.total : items.length + dropped) - dropped;
      loaded = true;
      failure = null;
      lastOk = new Date();
      renderStatus();
      render();
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (err?.status === 401) return; // leaving for the login page
      failure = err;
      renderStatus();
      throw err;
    }
  }

  function applyLocal(name, vm) {
    local.set(name, { fetchNo, vm });
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
  tbody.addEventListener('click', (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    const btn = target.closest('button');
    if (!btn) return;
    const tr = btn.closest('tr');
    const row = tr && rows.get(tr.dataset.name);
    if (!row || row.busy) return;
    if (btn === row.primary && btn.dataset.action) {
      onAction(row, btn.dataset.action);
    } else if (btn === row.menuButton) {
      toggleMenu(btn, row.menuItems(onAction), { label: t('guests.moreActions', { name: row.name }), testid: 'vm-menu' });
    }
  });

  thead.addEventListener('click', (e) => {
    const btn = /** @type {HTMLElement} */ (e.target).closest('button[data-sort]');
    if (!btn) return;
    view.sort = toggleSort(view.sort, btn.dataset.sort);
    syncURL();
    render();
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

  const poller = createPoller(refresh, { interval: REFRESH_MS });
  retry.addEventListener('click', () => poller.now());

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
  poller.start();

  return {
    title: t('guests.title'),
    heading,
    unmount() {
      poller.stop();
      thumbs.stop();
      cancelAnimationFrame(frame);
      document.removeEventListener('keydown', onSlash);
      closeMenu();
    },
  };
}
