// The Storage page (/storage): the host's pools with how full each is,
// and the volumes of the chosen pool (search, sort, the guests using
// each); administrators create volumes (a task, followed in the tasks
// drawer) and delete those no guest uses. Users of guests see the names
// and free space of the pools their guests use, nothing more.

import { api } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatBytes, formatList, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { VOLUME_FORMATS, VOLUME_NAME_MAX, parseGiB, pickPool, usageTone, usedFraction, volumeNameProblem } from '../lib/storage.js';
import { isFinal } from '../lib/tasks.js';
import { createDataTable } from '../ui/datatable.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { showTask } from '../ui/tasksdrawer.js';
import { isoLibrary } from './isolibrary.js';
import { createPoolActions } from './poolactions.js';
import { uploader } from './uploader.js';
import { openFromURL, volumeActions } from './volumeactions.js';
import { toast } from '../ui/toast.js';
import { helpButton } from '../ui/help.js';

const COLUMNS = [
  { id: 'name', label: 'storage.volume.name', value: (v) => v.name },
  { id: 'format', label: 'storage.volume.format', value: (v) => v.format },
  { id: 'capacity', label: 'storage.volume.capacity', value: (v) => v.capacity, cls: 'c-num' },
  { id: 'allocation', label: 'storage.volume.allocation', value: (v) => v.allocation, cls: 'c-num' },
  { id: 'used_by', label: 'storage.volume.usedBy', value: (v) => (v.used_by ?? []).join(', ') },
  { id: 'actions', label: 'storage.volume.actions', cls: 'c-actions' },
];

/**
 * @param {HTMLElement} main
 * @param {{replaceURL: (url: string) => void}} ctx
 */
export function mountStorage(main, ctx) {
  const controller = new AbortController();
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: 'storage-title' }, t('storage.title'));
  const summary = h('p', { class: 'page-summary', 'data-testid': 'storage-summary' });
  const errorBox = h('div', { hidden: true });
  const poolList = h('div', { class: 'pool-grid', role: 'list', 'data-testid': 'pool-list' },
    h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('storage.loading')));

  const volTitle = h('h2', { id: 'volumes-title' });
  const search = h('input', {
    type: 'search', id: 'volume-search', class: 'input', 'data-testid': 'volume-search', autocomplete: 'off', spellcheck: 'false',
    placeholder: t('storage.searchPlaceholder'),
  });
  const createBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'volume-create', hidden: true },
    icon('plus'), t('storage.create.open'));
  const volState = h('div', { class: 'state-panel', role: 'status', 'data-testid': 'volumes-state', hidden: true });
  let sort = { key: 'name', desc: false };
  const table = createDataTable({
    columns: COLUMNS.map((c) => ({ id: c.id, label: t(c.label), cls: c.cls, sortable: c.id !== 'actions', value: c.value })),
    key: (v) => v.name,
    caption: t('storage.volumes'),
    className: 'vm-table volume-table',
    testid: 'volume-table',
    sort: () => sort,
    onSort: (key) => {
      sort = { key, desc: sort.key === key ? !sort.desc : false };
      table.refresh();
    },
    createRow,
    empty: h('div', { class: 'state-panel empty', 'data-testid': 'volumes-empty' }, icon('disk', 'empty-icon'), t('storage.volumesEmpty')),
    error: null,
  });
  // Pool management (administrators): the New pool button and the
  // selected pool's actions, in a module of their own.
  const poolActs = createPoolActions({ host: () => host, may: (a) => may(a), reload: () => loadPools() });

  // Uploads into the selected pool, for those who manage volumes.
  const uploadSlot = h('div', { class: 'upload-slot' });
  const volumesCard = h('section', { class: 'card card-wide volumes-card', 'aria-labelledby': 'volumes-title', 'data-testid': 'volumes-card', hidden: true },
    h('div', { class: 'card-head' }, volTitle, createBtn),
    poolActs.bar,
    h('div', { class: 'toolbar' }, h('div', { class: 'search' },
      h('label', { for: 'volume-search', class: 'visually-hidden' }, t('storage.searchLabel')), icon('search', 'search-icon'), search)),
    uploadSlot, volState, table.el);

  // The ISO library, for those who may read volumes (pool.read).
  const isoSlot = h('div', { class: 'iso-slot' });
  main.replaceChildren(h('section', { class: 'page page-storage', 'aria-labelledby': 'storage-title' },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading, summary), helpButton('storage'), poolActs.newButton),
    errorBox,
    h('section', { class: 'card card-wide', 'aria-labelledby': 'pools-title' },
      h('h2', { id: 'pools-title' }, icon('disk'), t('storage.pools')), poolList),
    volumesCard, isoSlot));

  let host = '';
  let pools = [];
  /** @type {ReturnType<typeof uploader>|null} */
  let uploads = null;
  let actions = [];
  let selected = new URLSearchParams(location.search).get('pool') ?? '';
  const may = (a) => actions.includes(a);

  function showError(where, err, retry) {
    if (err?.name === 'AbortError' || err?.status === 401) return;
    const btn = h('button', { type: 'button', class: 'btn btn-sm', onclick: retry }, icon('refresh'), t('common.retry'));
    where.hidden = false;
    where.replaceChildren(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'storage-error' },
      icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('storage.loadFailed', { message: err?.message ?? '' })), btn));
  }

  // ---- pools
  function poolCard(p) {
    const full = may('pool.read');
    const frac = usedFraction(p);
    const bar = h('div', { class: 'progress-bar', 'aria-hidden': 'true' }, h('div', { class: 'progress-fill' }));
    bar.style.setProperty('--p', String(frac));
    const usage = full
      ? t('storage.pool.usage', { used: formatBytes(p.allocation), capacity: formatBytes(p.capacity), free: formatBytes(p.available) })
      : t('storage.pool.free', { free: formatBytes(p.available) });
    const card = h('button', {
      type: 'button', class: 'pool-card', role: 'listitem', 'data-testid': 'pool-card', dataset: { name: p.name, tone: usageTone(frac) },
      'aria-pressed': String(p.name === selected), disabled: !full,
    },
    h('span', { class: 'pool-name' }, icon('disk'), p.name),
    full ? h('span', { class: 'pool-tags' },
      h('span', { class: 'tag' }, p.type || none()),
      h('span', { class: `tag ${p.state === 'running' ? 'tag-info' : 'tag-warn'}`, 'data-testid': 'pool-state' }, t(`storage.state.${p.state}`)),
      p.autostart ? h('span', { class: 'tag tag-info' }, t('storage.pool.autostart')) : null) : null,
    full ? h('span', { class: 'progress', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(frac * 100)), 'aria-label': usage }, bar) : null,
    h('span', { class: 'pool-usage', 'data-testid': 'pool-usage' }, usage),
    full && p.path ? h('span', { class: 'pool-path muted' }, p.path) : null);
    card.addEventListener('click', () => select(p.name));
    return card;
  }

  function renderPools() {
    setText(summary, t('storage.summary', { count: pools.length }));
    poolList.replaceChildren(...(pools.length ? pools.map(poolCard)
      : [h('div', { class: 'state-panel empty', 'data-testid': 'pools-empty' }, icon('disk', 'empty-icon'), t(may('pool.read') ? 'storage.poolsEmpty' : 'storage.poolsEmptyUser'))]));
  }

  async function loadPools() {
    try {
      if (!host) host = (await api.hosts(controller.signal))?.items?.[0]?.name ?? 'local';
      const got = await api.pools(host, controller.signal);
      pools = got?.items ?? [];
      actions = got?.allowed_actions ?? [];
      errorBox.hidden = true;
      poolActs.sync();
      renderPools();
      if (may('pool.read')) {
        select(pickPool(pools, selected));
        isoSlot.replaceChildren(isoLibrary(host, controller.signal));
      }
    } catch (err) {
      showError(errorBox, err, loadPools);
    }
  }

  // ---- volumes
  let volAbort = null;
  let shown = []; // the volumes of the selected pool
  function select(name) {
    if (!name) return;
    selected = name;
    for (const c of poolList.querySelectorAll('[data-testid=pool-card]')) c.setAttribute('aria-pressed', String(c.dataset.name === name));
    const qs = new URLSearchParams(location.search);
    qs.set('pool', name);
    ctx.replaceURL(`${location.pathname}?${qs}`);
    setText(volTitle, t('storage.volumesIn', { pool: name }));
    volumesCard.hidden = false;
    createBtn.hidden = !may('volume.manage');
    const pool = pools.find((p) => p.name === name);
    createBtn.disabled = pool?.state !== 'running';
    poolActs.show(pool ?? null);
    if (may('volume.manage')) {
      uploads ??= uploader({
        host, signal: controller.signal, onUploaded: () => loadPools(),
        fromURL: may('pool.manage') ? () => openFromURL({
          host, pool: selected, names: () => shown.map((v) => v.name), signal: controller.signal, changed: loadPools,
        }) : null,
      });
      if (!uploadSlot.firstChild) uploadSlot.append(uploads.el);
      uploads.setPool(pool ?? null);
    }
    loadVolumes();
  }

  async function loadVolumes() {
    volAbort?.abort();
    volAbort = new AbortController();
    const signal = AbortSignal.any([controller.signal, volAbort.signal]);
    const pool = pools.find((p) => p.name === selected);
    if (pool && pool.state !== 'running') {
      table.el.hidden = true;
      volState.hidden = false;
      volState.replaceChildren(t('storage.poolInactive'));
      return;
    }
    table.el.hidden = false;
    volState.hidden = true;
    table.setStatus('loading');
    try {
      const got = await api.volumes(host, selected, signal);
      applyFilter();
      shown = got?.items ?? [];
      table.setItems(shown);
      uploads?.setPool(pools.find((p) => p.name === selected) ?? null, shown.map((v) => v.name));
    } catch (err) {
      if (err?.name === 'AbortError') return;
      table.el.hidden = true;
      showError(volState, err, loadVolumes);
    }
  }

  function applyFilter() {
    const q = search.value.trim().toLowerCase();
    table.setFilter(q ? (v) => v.name.toLowerCase().includes(q) || (v.used_by ?? []).some((g) => g.toLowerCase().includes(q)) : null);
  }
  search.addEventListener('input', applyFilter);

  function createRow(v) {
    const cells = {
      name: h('td', { class: 'volume-name', title: v.name }),
      format: h('td'),
      capacity: h('td', { class: 'c-num' }),
      allocation: h('td', { class: 'c-num' }),
      used: h('td', { 'data-testid': 'volume-used-by' }),
      actions: h('td', { class: 'c-actions' }),
    };
    const tr = h('tr', { 'data-testid': 'volume-row' }, Object.values(cells));
    const update = (vol) => {
      tr.dataset.name = vol.name;
      setText(cells.name, vol.name);
      setText(cells.format, vol.format || none());
      setText(cells.capacity, formatBytes(vol.capacity));
      setText(cells.allocation, formatBytes(vol.allocation));
      const users = vol.used_by ?? [];
      cells.used.replaceChildren(users.length ? formatList(users) : h('span', { class: 'muted' }, t('storage.volume.unused')));
      if (may('volume.manage')) {
        const del = h('button', {
          type: 'button', class: 'btn btn-sm', 'data-testid': 'volume-delete', disabled: users.length > 0,
          title: users.length ? t('storage.delete.inUse', { guests: formatList(users) }) : null,
          'aria-label': t('storage.delete.for', { name: vol.name }),
        }, icon('trash'), t('storage.delete.open'));
        del.addEventListener('click', () => deleteVolume(vol, del));
        cells.actions.replaceChildren(volumeActions({ host, pool: selected, vol, pools, names: () => shown.map((x) => x.name),
          signal: controller.signal, changed: loadPools }), del);
      }
    };
    update(v);
    return { tr, item: v, update };
  }

  // ---- create
  function openCreate() {
    const nameIn = h('input', { id: 'vol-name', class: 'input', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: String(VOLUME_NAME_MAX), 'data-testid': 'vol-name' });
    const sizeIn = h('input', { id: 'vol-size', class: 'input', type: 'text', inputmode: 'decimal', value: '20', 'data-testid': 'vol-size' });
    const formatIn = h('select', { id: 'vol-format', class: 'input', 'data-testid': 'vol-format' }, VOLUME_FORMATS.map((f) => h('option', { value: f }, f)));
    const thickIn = h('input', { id: 'vol-thick', type: 'checkbox', 'data-testid': 'vol-thick' });
    const err = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'vol-error', hidden: true });
    const fail = (msg, input) => {
      err.hidden = false;
      setText(err, msg);
      input?.focus();
      return undefined;
    };
    const ref = openDialog({
      title: t('storage.create.title', { pool: selected }),
      testid: 'volume-create-dialog',
      acceptLabel: t('storage.create.accept'),
      content: [
        h('div', { class: 'field' }, h('label', { for: 'vol-name' }, t('storage.create.name')), nameIn,
          h('p', { class: 'hint' }, t('storage.create.nameHint'))),
        h('div', { class: 'field' }, h('label', { for: 'vol-size' }, t('storage.create.size')), sizeIn),
        h('div', { class: 'field' }, h('label', { for: 'vol-format' }, t('storage.create.format')), formatIn),
        h('div', { class: 'check-row' }, thickIn, h('label', { for: 'vol-thick' }, t('storage.create.thick'),
          h('span', { class: 'hint' }, t('storage.create.thickHint')))),
        err,
      ],
      focus: nameIn,
      onAccept: async () => {
        const name = nameIn.value.trim();
        const problem = volumeNameProblem(name);
        if (problem) return fail(t(problem, { max: VOLUME_NAME_MAX }), nameIn);
        const capacity = parseGiB(sizeIn.value);
        if (capacity === null) return fail(t('storage.create.sizeInvalid'), sizeIn);
        try {
          return await api.createVolume(host, selected, { name, capacity, format: formatIn.value, thick: thickIn.checked });
        } catch (e) {
          if (e?.status === 401) return null;
          return fail(e?.message || t('error.unknown'), nameIn);
        }
      },
    });
    ref.result.then((task) => {
      if (task?.id) {
        showTask(task);
        follow(task);
      }
    });
  }
  createBtn.addEventListener('click', openCreate);

  /** Follow a task to its end, then show the pool as it is. */
  async function follow(task) {
    let cur = task;
    for (let i = 0; i < 600 && !isFinal(cur.status) && !controller.signal.aborted; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        cur = await api.getTask(cur.id, controller.signal);
      } catch {
        return;
      }
    }
    if (cur.status === 'done') toast(t('storage.create.done', { name: cur.target.replace(/^volume:/, '') }));
    loadPools();
  }

  // ---- delete
  async function deleteVolume(vol, btn) {
    const r = await confirmDialog({
      title: t('storage.delete.title', { name: vol.name }),
      body: t('storage.delete.body', { name: vol.name, pool: selected }),
      confirmLabel: t('storage.delete.accept'),
      danger: true,
      testid: 'volume-delete-dialog',
    });
    if (!r.confirmed) return;
    btn.disabled = true;
    try {
      await api.deleteVolume(host, selected, vol.name);
      toast(t('storage.delete.done', { name: vol.name }));
      loadPools();
    } catch (err) {
      btn.disabled = false;
      if (err?.status === 401) return;
      toast(err?.message || t('error.unknown'), { kind: 'error', title: t('storage.delete.failed', { name: vol.name }) });
    }
  }

  loadPools();
  return { title: t('storage.title'), heading, unmount: () => { controller.abort(); volAbort?.abort(); poolActs.unmount(); } };
}
