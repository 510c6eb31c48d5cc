// A volume's row actions on the Storage page, for administrators: grow
// it, clone it (into this pool or another running one), wipe it, and
// download its content. Clone and wipe are tasks, followed in the tasks
// drawer; the page reloads its pools when one ends.

import { request } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatBytes, formatList } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { VOLUME_FORMATS, VOLUME_NAME_MAX, volumeNameProblem } from '../lib/storage.js';
import { isFinal } from '../lib/tasks.js';
import { contentURL, copyName, growTo, nameFromURL } from '../lib/volumeops.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { toggleMenu } from '../ui/menu.js';
import { showTask } from '../ui/tasksdrawer.js';
import { toast } from '../ui/toast.js';

const enc = encodeURIComponent;
const volPath = (host, pool, vol) => `/hosts/${enc(host)}/pools/${enc(pool)}/volumes/${enc(vol)}`;

/**
 * The actions of one volume row: a menu button (grow, clone, wipe,
 * download), so the row keeps its height and width.
 * @param {{host: string, pool: string, vol: {name: string, capacity: number, format?: string, used_by?: string[]},
 *          pools: Array<{name: string, state: string}>, names: () => string[], signal: AbortSignal,
 *          changed: () => void}} o
 *   names: the volume names of the shown pool; changed: reload the page's pools and volumes
 * @returns {HTMLElement}
 */
export function volumeActions(o) {
  const { host, pool, vol } = o;
  const label = t('volops.menu', { name: vol.name });
  const btn = h('button', {
    type: 'button', class: 'icon-button', 'data-testid': 'volume-menu', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    'aria-label': label, title: label,
  }, icon('more'));
  const download = () => {
    // A link clicked: the browser saves the answer (Content-Disposition).
    const a = h('a', { href: contentURL(host, pool, vol.name), download: vol.name, hidden: true });
    document.body.append(a);
    a.click();
    a.remove();
  };
  btn.addEventListener('click', () => toggleMenu(btn, [
    { label: t('volops.resize.open'), icon: icon('expand'), testid: 'volume-resize', onSelect: () => openResize(o) },
    { label: t('volops.clone.open'), icon: icon('clipboard'), testid: 'volume-clone', onSelect: () => openClone(o) },
    { label: t('volops.download.open'), icon: icon('download'), testid: 'volume-download', dataset: { href: contentURL(host, pool, vol.name) }, onSelect: download },
    { kind: 'separator' },
    { label: t('volops.wipe.open'), icon: icon('alert'), testid: 'volume-wipe', danger: true, onSelect: () => wipe(o, btn) },
  ], { label, testid: 'volume-menu-list' }));
  return btn;
}

/** A field-error paragraph and a function that shows a message in it. */
function errorLine(testid) {
  const el = h('p', { class: 'field-error', role: 'alert', 'data-testid': testid, hidden: true });
  const fail = (msg, input) => {
    el.hidden = false;
    setText(el, msg);
    input?.focus();
    return undefined;
  };
  return { el, fail };
}

function openResize(o) {
  const { host, pool, vol } = o;
  const sizeIn = h('input', {
    id: 'vol-grow', class: 'input', type: 'text', inputmode: 'decimal', 'data-testid': 'vol-grow',
    value: String(Math.ceil(vol.capacity / 1024 ** 3) + 1),
  });
  const err = errorLine('vol-grow-error');
  const ref = openDialog({
    title: t('volops.resize.title', { name: vol.name }),
    testid: 'volume-resize-dialog',
    acceptLabel: t('volops.resize.accept'),
    content: [
      h('p', {}, t('volops.resize.current', { size: formatBytes(vol.capacity) })),
      h('div', { class: 'field' }, h('label', { for: 'vol-grow' }, t('volops.resize.size')), sizeIn,
        h('p', { class: 'hint' }, t('volops.resize.hint'))),
      err.el,
    ],
    focus: sizeIn,
    onAccept: async () => {
      const got = growTo(sizeIn.value, vol.capacity);
      if ('problem' in got) return err.fail(t(got.problem), sizeIn);
      try {
        return await request('POST', `${volPath(host, pool, vol.name)}/resize`, { body: { capacity: got.bytes } });
      } catch (e) {
        if (e?.status === 401) return null;
        return err.fail(e?.message || t('error.unknown'), sizeIn);
      }
    },
  });
  ref.result.then((v) => {
    if (v?.name) {
      toast(t('volops.resize.done', { name: v.name, size: formatBytes(v.capacity) }));
      o.changed();
    }
  });
}

function openClone(o) {
  const { host, pool, vol } = o;
  const running = o.pools.filter((p) => p.state === 'running').map((p) => p.name);
  const nameIn = h('input', {
    id: 'vol-clone-name', class: 'input', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: String(VOLUME_NAME_MAX),
    'data-testid': 'vol-clone-name', value: copyName(vol.name, o.names()),
  });
  const poolIn = h('select', { id: 'vol-clone-pool', class: 'input', 'data-testid': 'vol-clone-pool' },
    running.map((p) => h('option', { value: p, selected: p === pool }, p)));
  const formatIn = h('select', { id: 'vol-clone-format', class: 'input', 'data-testid': 'vol-clone-format' },
    h('option', { value: '' }, t('volops.clone.sameFormat', { format: vol.format || '?' })),
    VOLUME_FORMATS.filter((f) => f !== vol.format).map((f) => h('option', { value: f }, f)));
  const err = errorLine('vol-clone-error');
  const ref = openDialog({
    title: t('volops.clone.title', { name: vol.name }),
    testid: 'volume-clone-dialog',
    acceptLabel: t('volops.clone.accept'),
    content: [
      h('div', { class: 'field' }, h('label', { for: 'vol-clone-name' }, t('volops.clone.name')), nameIn),
      h('div', { class: 'field' }, h('label', { for: 'vol-clone-pool' }, t('volops.clone.pool')), poolIn),
      h('div', { class: 'field' }, h('label', { for: 'vol-clone-format' }, t('volops.clone.format')), formatIn),
      (vol.used_by ?? []).length ? h('p', { class: 'hint' }, t('volops.clone.inUse', { guests: formatList(vol.used_by) })) : null,
      err.el,
    ],
    focus: nameIn,
    onAccept: async () => {
      const name = nameIn.value.trim();
      const problem = volumeNameProblem(name);
      if (problem) return err.fail(t(problem, { max: VOLUME_NAME_MAX }), nameIn);
      const body = { name };
      if (poolIn.value && poolIn.value !== pool) body.pool = poolIn.value;
      if (formatIn.value) body.format = formatIn.value;
      try {
        return await request('POST', `${volPath(host, pool, vol.name)}/clone`, { body });
      } catch (e) {
        if (e?.status === 401) return null;
        return err.fail(e?.message || t('error.unknown'), nameIn);
      }
    },
  });
  ref.result.then((task) => {
    if (task?.id) follow(o, task, 'volops.clone.done');
  });
}

async function wipe(o, b) {
  const { host, pool, vol } = o;
  const r = await confirmDialog({
    title: t('volops.wipe.title', { name: vol.name }),
    body: t('volops.wipe.body', { name: vol.name, pool }),
    confirmLabel: t('volops.wipe.accept'),
    danger: true,
    testid: 'volume-wipe-dialog',
  });
  if (!r.confirmed) return;
  b.disabled = true;
  try {
    const task = await request('POST', `${volPath(host, pool, vol.name)}/wipe`);
    if (task?.id) follow(o, task, 'volops.wipe.done');
  } catch (err) {
    if (err?.status === 401) return;
    toast(err?.message || t('error.unknown'), { kind: 'error', title: t('volops.wipe.failed', { name: vol.name }) });
  } finally {
    b.disabled = false;
  }
}

/** Show the task in the drawer, follow it to its end, then reload. */
async function follow(o, task, doneKey) {
  showTask(task);
  let cur = task;
  for (let i = 0; i < 1200 && !isFinal(cur.status) && !o.signal.aborted; i++) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      cur = await request('GET', `/tasks/${cur.id}`, { signal: o.signal });
    } catch {
      return;
    }
  }
  if (cur.status === 'done') toast(t(doneKey, { name: (cur.result || cur.target).replace(/^volume:/, '') }));
  o.changed();
}

/**
 * A volume made from a file on a web server (administrators; a task). The
 * server refuses private and loopback addresses and checks every redirect.
 * @param {{host: string, pool: string, names: () => string[], signal: AbortSignal, changed: () => void}} o
 */
export function openFromURL(o) {
  const { host, pool } = o;
  const urlIn = h('input', {
    id: 'vol-url', class: 'input', type: 'url', autocomplete: 'off', spellcheck: 'false', inputmode: 'url',
    placeholder: 'https://', 'data-testid': 'vol-url',
  });
  const nameIn = h('input', {
    id: 'vol-url-name', class: 'input', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: String(VOLUME_NAME_MAX),
    'data-testid': 'vol-url-name',
  });
  const formatIn = h('select', { id: 'vol-url-format', class: 'input', 'data-testid': 'vol-url-format' },
    VOLUME_FORMATS.map((f) => h('option', { value: f }, f)));
  // The name and format follow the URL until the person types a name.
  let named = false;
  nameIn.addEventListener('input', () => { named = true; });
  urlIn.addEventListener('input', () => {
    if (named) return;
    nameIn.value = nameFromURL(urlIn.value);
    formatIn.value = nameIn.value.toLowerCase().endsWith('.qcow2') ? 'qcow2' : 'raw';
  });
  const err = errorLine('vol-url-error');
  const ref = openDialog({
    title: t('volops.url.title', { pool }),
    testid: 'volume-url-dialog',
    acceptLabel: t('volops.url.accept'),
    content: [
      h('div', { class: 'field' }, h('label', { for: 'vol-url' }, t('volops.url.url')), urlIn,
        h('p', { class: 'hint' }, t('volops.url.hint'))),
      h('div', { class: 'field' }, h('label', { for: 'vol-url-name' }, t('volops.url.name')), nameIn),
      h('div', { class: 'field' }, h('label', { for: 'vol-url-format' }, t('volops.url.format')), formatIn),
      err.el,
    ],
    focus: urlIn,
    onAccept: async () => {
      const url = urlIn.value.trim();
      if (!/^https?:\/\/[^/\s]+/i.test(url)) return err.fail(t('volops.url.invalid'), urlIn);
      const name = nameIn.value.trim();
      const problem = volumeNameProblem(name);
      if (problem) return err.fail(t(problem, { max: VOLUME_NAME_MAX }), nameIn);
      if (o.names().includes(name)) return err.fail(t('volops.url.taken'), nameIn);
      try {
        return await request('POST', `/hosts/${enc(host)}/pools/${enc(pool)}/volumes/from-url`, { body: { url, name, format: formatIn.value } });
      } catch (e) {
        if (e?.status === 401) return null;
        return err.fail(e?.message || t('error.unknown'), e?.code?.startsWith('url_') ? urlIn : nameIn);
      }
    },
  });
  ref.result.then((task) => {
    if (task?.id) follow(o, task, 'volops.url.done');
  });
}
