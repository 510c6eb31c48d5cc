// Uploads on the Storage page: files dropped (or chosen) go into the
// selected pool through the tus resumable-upload protocol, one row each
// with progress, rate, time left, pause, resume and cancel. A lost
// connection retries by itself and carries on from the server's offset.
// Uploads live in this module, not in the page, so that they go on while
// the person looks at another page; after a reload the server's list of
// unfinished uploads offers to continue each when its file is chosen again
// (a browser cannot reopen a file by itself).

import { Upload } from 'tus-js-client';
import { api, csrf, unauthorized } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatBytes, formatRate } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { CHUNK_SIZE, RETRY_DELAYS, durationParts, fileProblem, matchUnfinished, rateMeter, secondsLeft, tusFailure, uploadFormat } from '../lib/uploads.js';
import { createProgress } from '../ui/progress.js';
import { toast } from '../ui/toast.js';

/** How many files upload at once; the rest wait their turn. */
const PARALLEL = 2;

/**
 * @typedef {{
 *   key: string, host: string, pool: string, name: string, size: number, sent: number,
 *   state: 'queued'|'uploading'|'retrying'|'paused'|'done'|'failed'|'cancelled'|'unfinished',
 *   error: string, file: File|null, upload: any, url: string, meter: ReturnType<typeof rateMeter>,
 *   refused?: boolean,
 * }} Item
 *   refused: turned down before a byte was sent; resuming cannot help
 */

/** @type {Map<string, Item>} */
const items = new Map();
/** @type {Set<() => void>} */
const listeners = new Set();
let seq = 0;

const notify = () => listeners.forEach((f) => f());
const active = () => [...items.values()].filter((i) => i.state === 'uploading' || i.state === 'retrying');

// Leaving the app mid-upload loses nothing on the server, but the person
// would have to choose the file again: say so before the page goes.
window.addEventListener('beforeunload', (e) => {
  if (active().length) e.preventDefault();
});

function pump() {
  for (const it of items.values()) {
    if (active().length >= PARALLEL) break;
    if (it.state === 'queued') start(it);
  }
  notify();
}

/** @param {Item} it */
function start(it) {
  it.state = 'uploading';
  it.error = '';
  it.meter.reset();
  if (!it.upload) {
    it.upload = new Upload(it.file, {
      endpoint: api.uploadEndpoint(it.host, it.pool),
      uploadUrl: it.url || null,
      chunkSize: CHUNK_SIZE,
      retryDelays: [...RETRY_DELAYS],
      metadata: { name: it.name, format: uploadFormat(it.name) },
      headers: { 'X-CSRF-Token': csrf() },
      // The server's list of unfinished uploads is what resumes after a
      // reload, in any browser; nothing is kept in this one's storage.
      storeFingerprintForResuming: false,
      onUploadUrlAvailable: () => {
        it.url = it.upload.url;
        notify(); // Cancel is offered from now on
      },
      onProgress: (sent) => {
        it.sent = sent;
        it.meter.add(sent, performance.now());
        if (it.state === 'retrying') it.state = 'uploading';
        notify();
      },
      onShouldRetry: (err) => {
        const f = tusFailure(err);
        if (f.status === 401) return false;
        // The network, a stale offset (409), a locked upload (423) and the
        // server's own trouble are worth another go; any other refusal is final.
        const again = f.status === 0 || f.status === 409 || f.status === 423 || f.status >= 500;
        if (again) {
          it.state = 'retrying';
          notify();
        }
        return again;
      },
      onError: (err) => {
        const f = tusFailure(err);
        if (f.status === 401) unauthorized();
        it.state = 'failed';
        it.error = f.code === 'network' ? t('uploads.error.network') : f.message;
        pump();
      },
      onSuccess: () => {
        it.state = 'done';
        it.sent = it.size;
        it.upload = null;
        toast(t('uploads.done', { name: it.name, pool: it.pool }));
        pump();
        doneHooks.forEach((f) => f(it));
      },
    });
  }
  it.upload.start();
}

/** @type {Set<(it: Item) => void>} */
const doneHooks = new Set();

/** @param {Item} it */
function pause(it) {
  if (it.upload && (it.state === 'uploading' || it.state === 'retrying')) it.upload.abort(false);
  if (it.state !== 'done') it.state = 'paused';
  pump();
}

/** @param {Item} it */
function resume(it) {
  if (it.state === 'paused' || it.state === 'failed') {
    if (it.state === 'failed') it.upload = null; // a fresh start asks the server where it stands
    it.state = 'queued';
    pump();
  }
}

/** Cancel an upload: the server deletes its partial volume. @param {Item} it */
async function cancel(it) {
  const was = it.state;
  it.state = 'cancelled';
  notify();
  try {
    if (it.upload) await it.upload.abort(true);
    else if (it.url) await terminate(it.url);
  } catch (err) {
    it.state = was === 'unfinished' ? 'unfinished' : 'paused';
    it.error = tusFailure(err).message || t('uploads.error.cancel');
    notify();
    return;
  }
  items.delete(it.key);
  pump();
}

/** tus termination of an upload this tab did not start. @param {string} url */
async function terminate(url) {
  const res = await fetch(url, { method: 'DELETE', headers: { 'Tus-Resumable': '1.0.0', 'X-CSRF-Token': csrf() }, credentials: 'same-origin' });
  if (res.status === 401) unauthorized();
  if (!res.ok && res.status !== 404) {
    const body = await res.text().catch(() => '');
    throw Object.assign(new Error('cancel failed'), { originalResponse: { getStatus: () => res.status, getBody: () => body } });
  }
}

/**
 * The uploads card of the Storage page for one host.
 * @param {{host: string, signal: AbortSignal, onUploaded: (it: {pool: string, name: string}) => void,
 *          fromURL?: (() => void)|null}} o
 *   fromURL: open the download-from-a-URL dialog (offered to those who may)
 */
export function uploader(o) {
  /** @type {{name: string, available?: number, state?: string}|null} */
  let pool = null;
  /** @type {Set<string>} */
  let taken = new Set();
  /** The server's size limit for one upload, once known. */
  let maxSize = 0;

  const input = h('input', { type: 'file', multiple: true, class: 'visually-hidden', tabindex: '-1', 'data-testid': 'upload-input', 'aria-hidden': 'true' });
  const choose = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'upload-choose' }, icon('upload'), t('uploads.choose'));
  const hint = h('span', { class: 'dropzone-text' });
  const urlBtn = o.fromURL ? h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'volume-from-url' }, icon('globe'), t('volops.url.open')) : null;
  urlBtn?.addEventListener('click', () => o.fromURL?.());
  const zone = h('div', { class: 'dropzone', 'data-testid': 'upload-drop' }, icon('upload', 'dropzone-icon'), hint, choose, urlBtn, input);
  const notice = h('p', { class: 'banner banner-info', role: 'status', 'data-testid': 'uploads-not-stored', hidden: true },
    icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('uploads.notStored')));
  const list = h('ul', { class: 'upload-list', 'data-testid': 'upload-list', 'aria-label': t('uploads.listLabel') });
  const el = h('div', { class: 'uploads', 'data-testid': 'uploads' }, zone, notice, list);

  choose.addEventListener('click', () => input.click());
  input.addEventListener('change', () => {
    add([...(input.files ?? [])]);
    input.value = '';
  });
  zone.addEventListener('dragover', (e) => {
    if (!pool || pool.state !== 'running') return;
    e.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('dragging');
    if (pool?.state === 'running') add([...(e.dataTransfer?.files ?? [])]);
  });

  /** @param {File[]} files */
  function add(files) {
    if (!pool) return;
    const mine = [...items.values()].filter((i) => i.host === o.host && i.pool === pool.name);
    for (const file of files) {
      const open = matchUnfinished(file, pool.name, mine.filter((i) => i.state === 'unfinished'));
      if (open) {
        open.file = file;
        open.state = 'queued';
        continue;
      }
      const busy = new Set([...taken, ...mine.filter((i) => i.state !== 'done' && i.state !== 'cancelled').map((i) => i.name)]);
      const problem = fileProblem(file, pool, busy, maxSize);
      /** @type {Item} */
      const it = {
        key: `u${++seq}`, host: o.host, pool: pool.name, name: file.name, size: file.size, sent: 0,
        state: problem ? 'failed' : 'queued', error: problem ? t(problem.key, problem.params) : '',
        file, upload: null, url: '', meter: rateMeter(), refused: Boolean(problem),
      };
      items.set(it.key, it);
    }
    pump();
  }

  /** @param {Item} it */
  function row(it) {
    const progress = createProgress({ label: t('uploads.progressFor', { name: it.name }), value: 0, testid: 'upload-progress' });
    const status = h('span', { class: 'upload-status', 'data-testid': 'upload-status' });
    const btns = h('span', { class: 'upload-actions' });
    const li = h('li', { class: 'upload-item', 'data-testid': 'upload-item' },
      h('span', { class: 'upload-name', title: it.name }, it.name),
      h('span', { class: 'upload-size muted' }, formatBytes(it.size)),
      progress.el, status, btns);
    let shown = '';
    const update = () => {
      li.dataset.state = it.state;
      li.dataset.name = it.name;
      progress.set(it.size ? (100 * it.sent) / it.size : 0, t('uploads.sent', { sent: formatBytes(it.sent), size: formatBytes(it.size) }));
      setText(status, statusText(it));
      status.classList.toggle('field-error', it.state === 'failed');
      // While the creation is in flight there is no address to delete yet:
      // a cancel then would leave the server's upload behind.
      const creating = !it.url && (it.state === 'uploading' || it.state === 'retrying');
      const kinds = it.refused ? ['dismiss'] : buttonsFor(it.state).filter((k) => k !== 'cancel' || !creating);
      if (kinds.join(',') === shown) return;
      shown = kinds.join(',');
      btns.replaceChildren(...kinds.map((b) => button(it, b)));
    };
    update();
    return { li, update };
  }

  /** @param {Item} it @param {string} kind */
  function button(it, kind) {
    const spec = {
      pause: ['pause', 'uploads.pause', 'uploads.pauseFor', () => pause(it)],
      resume: ['play', 'uploads.resume', 'uploads.resumeFor', () => resume(it)],
      cancel: ['close', 'uploads.cancel', 'uploads.cancelFor', () => cancel(it)],
      dismiss: ['close', 'uploads.dismiss', 'uploads.dismissFor', () => { items.delete(it.key); notify(); }],
      pick: ['upload', 'uploads.pick', 'uploads.pickFor', () => pickFor(it)],
    }[kind];
    const b = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': `upload-${kind}`, 'aria-label': t(spec[2], { name: it.name }) },
      icon(spec[0]), h('span', { class: 'btn-label' }, t(spec[1])));
    b.addEventListener('click', spec[3]);
    return b;
  }

  /** Continue an unfinished upload with its file, chosen again. @param {Item} it */
  function pickFor(it) {
    const one = h('input', { type: 'file', class: 'visually-hidden' });
    one.addEventListener('change', () => {
      const f = one.files?.[0];
      if (!f) return;
      if (f.name !== it.name || f.size !== it.size) {
        it.error = t('uploads.problem.notSame', { name: it.name, size: formatBytes(it.size) });
        notify();
        return;
      }
      it.file = f;
      it.state = 'queued';
      it.error = '';
      pump();
    });
    one.click();
  }

  /** @type {Map<string, ReturnType<typeof row>>} */
  const rows = new Map();
  function render() {
    const mine = [...items.values()].filter((i) => i.host === o.host && (!pool || i.pool === pool.name || i.state !== 'done'));
    for (const [k, r] of rows) if (!mine.some((i) => i.key === k)) { r.li.remove(); rows.delete(k); }
    for (const it of mine) {
      let r = rows.get(it.key);
      if (!r) {
        r = row(it);
        rows.set(it.key, r);
        list.append(r.li);
      }
      r.update();
    }
    list.hidden = mine.length === 0;
  }
  listeners.add(render);
  const onDone = (it) => { if (it.host === o.host) o.onUploaded(it); };
  doneHooks.add(onDone);
  o.signal.addEventListener('abort', () => { listeners.delete(render); doneHooks.delete(onDone); });

  async function loadUnfinished() {
    try {
      const got = await api.uploads(o.host, o.signal);
      notice.hidden = got?.contents_stored !== false;
      if (typeof got?.max_size === 'number' && got.max_size > 0) maxSize = got.max_size;
      for (const u of got?.items ?? []) {
        const known = [...items.values()].some((i) => i.url.endsWith(`/uploads/${u.id}`));
        if (known) continue;
        const url = u.location || `${api.uploadEndpoint(o.host, u.pool)}/${encodeURIComponent(u.id)}`;
        const key = `s${u.id}`;
        if (items.has(key)) continue;
        items.set(key, {
          key, host: o.host, pool: u.pool, name: u.name, size: u.size, sent: u.offset ?? 0, state: 'unfinished',
          error: '', file: null, upload: null, url, meter: rateMeter(),
        });
      }
      notify();
    } catch {
      // The list only helps resume; uploads work without it.
    }
  }
  loadUnfinished();

  return {
    el,
    /**
     * The pool files go into, and the names already in it.
     * @param {{name: string, available?: number, state?: string}|null} p
     * @param {string[]} [names]
     */
    setPool(p, names = []) {
      pool = p;
      taken = new Set(names);
      const running = p?.state === 'running';
      choose.disabled = !running;
      if (urlBtn) urlBtn.disabled = !running;
      zone.classList.toggle('disabled', !running);
      setText(hint, running ? t('uploads.drop', { pool: p.name }) : t('uploads.poolStopped'));
      render();
    },
  };
}

/** @param {string} state */
function buttonsFor(state) {
  switch (state) {
    case 'queued': case 'uploading': case 'retrying': return ['pause', 'cancel'];
    case 'paused': return ['resume', 'cancel'];
    case 'failed': return ['resume', 'dismiss'];
    case 'unfinished': return ['pick', 'cancel'];
    case 'done': return ['dismiss'];
    default: return [];
  }
}

/** @param {Item} it */
function statusText(it) {
  switch (it.state) {
    case 'queued': return t('uploads.state.queued');
    case 'retrying': return t('uploads.state.retrying');
    case 'paused': return t('uploads.state.paused');
    case 'done': return t('uploads.state.done');
    case 'cancelled': return t('uploads.state.cancelling');
    case 'failed': return it.error || t('error.unknown');
    case 'unfinished': return it.error || t('uploads.state.unfinished');
    default: {
      const rate = it.meter.rate();
      if (rate === null) return t('uploads.state.uploading');
      const left = durationParts(secondsLeft(it.sent, it.size, rate));
      return left
        ? t('uploads.state.rateLeft', { rate: formatRate(rate), left: t(left.key, left.params) })
        : t('uploads.state.rate', { rate: formatRate(rate) });
    }
  }
}
