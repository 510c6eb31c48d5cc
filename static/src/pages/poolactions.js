// Pool management on the Storage page, for administrators (pool.manage):
// the "New pool" dialog (each type shows its own source fields; the API's
// refusals land next to the field they name) and the selected pool's
// Start, Stop, Refresh, Autostart and Delete, with confirmations and the
// server's refusals (a pool whose volumes guests use names them) shown
// plainly. Pool events on the stream (another admin, virsh) reload the page.

import { api } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { events } from '../lib/events.js';
import { t } from '../lib/i18n.js';
import { PATH_OPTIONAL, POOL_FIELDS, POOL_FORMATS, POOL_NAME_MAX, POOL_TYPES, formField, poolRequest } from '../lib/pools.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';

const TYPE_LABEL = {
  dir: 'pools.type.dir', fs: 'pools.type.fs', netfs: 'pools.type.netfs', logical: 'pools.type.logical',
  disk: 'pools.type.disk', iscsi: 'pools.type.iscsi', scsi: 'pools.type.scsi',
};
const PATH_HINT = {
  dir: 'pools.new.pathHint.dir', fs: 'pools.new.pathHint.mount', netfs: 'pools.new.pathHint.mount', logical: 'pools.new.pathHint.logical',
  disk: 'pools.new.pathHint.dev', iscsi: 'pools.new.pathHint.byPath', scsi: 'pools.new.pathHint.byPath',
};

/**
 * @param {{host: () => string, may: (action: string) => boolean, reload: () => void}} opts
 * @returns {{newButton: HTMLElement, bar: HTMLElement, show: (pool: any) => void, sync: () => void, unmount: () => void}}
 */
export function createPoolActions(opts) {
  const newButton = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'pool-new', hidden: true },
    icon('plus'), t('pools.new.open'));
  newButton.addEventListener('click', () => openNewPool());
  const alert = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'pool-action-error', hidden: true });
  const buttons = h('div', { class: 'net-actions' });
  const bar = h('div', { class: 'pool-actions', 'data-testid': 'pool-actions', hidden: true }, buttons, alert);
  let current = null;

  // Live: pool changes from anywhere; a burst (define, build, start) reloads once.
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(opts.reload, 150);
  };
  const unsubs = [events().on('pool', soon), events().on('reset', soon)];

  function sync() {
    newButton.hidden = !opts.may('pool.manage');
  }

  function fail(err) {
    if (err?.status === 401) return;
    alert.hidden = false;
    setText(alert, err?.message || t('error.unknown'));
  }

  async function run(fn, done) {
    alert.hidden = true;
    for (const b of buttons.querySelectorAll('button')) b.disabled = true;
    try {
      await fn();
      if (done) toast(done);
    } catch (err) {
      fail(err);
    }
    opts.reload();
  }

  function button(testid, label, iconName, onclick, extra = {}) {
    const b = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': testid, ...extra }, iconName ? icon(iconName) : null, label);
    b.addEventListener('click', onclick);
    return b;
  }

  /** Show the actions of pool (null: none). */
  function show(pool) {
    current = pool;
    bar.hidden = !pool || !opts.may('pool.manage');
    if (bar.hidden) return;
    if (alert.dataset.pool !== pool.name) alert.hidden = true;
    alert.dataset.pool = pool.name;
    const host = opts.host();
    const running = pool.state === 'running' || pool.state === 'degraded';
    const list = [];
    if (running) {
      list.push(button('pool-stop', t('pools.stop'), null, async () => {
        const r = await confirmDialog({
          title: t('pools.stopConfirm.title', { name: pool.name }), body: t('pools.stopConfirm.body', { name: pool.name }),
          confirmLabel: t('pools.stop'), testid: 'pool-stop-dialog',
        });
        if (r.confirmed) run(() => api.poolAction(host, pool.name, 'stop'), t('pools.stopped', { name: pool.name }));
      }));
      list.push(button('pool-refresh', t('pools.refresh'), 'refresh', () => run(() => api.poolAction(host, pool.name, 'refresh'), t('pools.refreshed', { name: pool.name }))));
    } else {
      list.push(button('pool-start', t('pools.start'), null, () => run(() => api.poolAction(host, pool.name, 'start'), t('pools.started', { name: pool.name }))));
    }
    list.push(button('pool-autostart', t(pool.autostart ? 'pools.autostartOff' : 'pools.autostartOn'), null,
      () => run(() => api.poolAutostart(host, pool.name, !pool.autostart)), { 'aria-pressed': String(Boolean(pool.autostart)) }));
    list.push(button('pool-delete', t('pools.delete.open'), 'trash', async () => {
      const r = await confirmDialog({
        title: t('pools.delete.title', { name: pool.name }), body: t('pools.delete.body', { name: pool.name }),
        confirmLabel: t('pools.delete.accept'), danger: true, testid: 'pool-delete-dialog',
      });
      if (r.confirmed) run(() => api.deletePool(host, pool.name), t('pools.delete.done', { name: pool.name }));
    }, { disabled: running, title: running ? t('pools.delete.stopFirst') : null, 'aria-label': t('pools.delete.for', { name: pool.name }) }));
    buttons.replaceChildren(...list);
  }

  // ---- the New pool dialog
  function openNewPool() {
    const inputs = {};
    const errors = {};
    const rows = {};
    const input = (id, attrs = {}) => h('input', { id: `pool-${id}`, class: 'input', type: 'text', autocomplete: 'off', spellcheck: 'false', 'data-testid': `pool-${id}`, ...attrs });
    const field = (id, label, el, hint) => {
      inputs[id] = el;
      errors[id] = h('p', { class: 'field-error', 'data-testid': `pool-${id}-error`, hidden: true });
      rows[id] = h('div', { class: 'field' }, h('label', { for: `pool-${id}` }, label), el, hint ? h('p', { class: 'hint' }, hint) : null, errors[id]);
      return rows[id];
    };
    const typeIn = h('select', { id: 'pool-type', class: 'input', 'data-testid': 'pool-type' },
      POOL_TYPES.map((ty) => h('option', { value: ty }, t(TYPE_LABEL[ty]))));
    const formatIn = h('select', { id: 'pool-format', class: 'input', 'data-testid': 'pool-format' });
    const pathHint = h('span');
    const buildIn = h('input', { id: 'pool-build', type: 'checkbox', 'data-testid': 'pool-build' });
    const autoIn = h('input', { id: 'pool-new-autostart', type: 'checkbox', checked: true, 'data-testid': 'pool-new-autostart' });
    const general = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'pool-error', hidden: true });
    const content = [
      field('name', t('pools.new.name'), input('name', { maxlength: String(POOL_NAME_MAX) }), t('pools.new.nameHint')),
      field('type', t('pools.new.type'), typeIn),
      field('path', t('pools.new.path'), input('path'), pathHint),
      field('host', t('pools.new.host'), input('host')),
      field('port', t('pools.new.port'), input('port', { inputmode: 'numeric', placeholder: '3260' })),
      field('dir', t('pools.new.export'), input('dir', { placeholder: '/export/vms' })),
      field('iqn', t('pools.new.iqn'), input('iqn', { placeholder: 'iqn.2004-04.org.example:disk1' })),
      field('initiator', t('pools.new.initiator'), input('initiator'), t('pools.new.optional')),
      field('adapter', t('pools.new.adapter'), input('adapter', { placeholder: 'host0' })),
      field('vg', t('pools.new.vg'), input('vg'), t('pools.new.vgHint')),
      field('devices', t('pools.new.devices'), input('devices', { placeholder: '/dev/sdb' })),
      field('format', t('pools.new.format'), formatIn),
    ];
    errors.build = h('p', { class: 'field-error', hidden: true });
    rows.build = h('div', { class: 'check-row' }, buildIn, h('label', { for: 'pool-build' }, t('pools.new.build'),
      h('span', { class: 'hint' }, t('pools.new.buildHint'))), errors.build);
    content.push(rows.build, h('div', { class: 'check-row' }, autoIn, h('label', { for: 'pool-new-autostart' }, t('pools.new.autostart'))), general);

    const SOURCE = ['host', 'port', 'dir', 'iqn', 'initiator', 'adapter', 'devices', 'format', 'build'];
    const syncType = () => {
      const ty = typeIn.value;
      const fields = POOL_FIELDS[ty];
      for (const f of SOURCE) rows[f].hidden = !fields.includes(f);
      rows.vg.hidden = !fields.includes('name');
      formatIn.replaceChildren(...(POOL_FORMATS[ty] ?? []).map((f) => h('option', { value: f }, f)));
      setText(pathHint, t(PATH_HINT[ty]));
      inputs.path.placeholder = PATH_OPTIONAL.includes(ty) ? t('pools.new.pathDefault') : '/var/lib/libvirt/images/pool';
    };
    typeIn.addEventListener('change', syncType);
    syncType();

    const clear = () => {
      general.hidden = true;
      for (const e of Object.values(errors)) e.hidden = true;
    };
    const mark = (f, msg) => {
      const el = errors[f] && !rows[f]?.hidden ? errors[f] : general;
      el.hidden = false;
      setText(el, msg);
      (inputs[f] ?? null)?.focus?.();
      return undefined;
    };
    const ref = openDialog({
      title: t('pools.new.title'),
      testid: 'pool-new-dialog',
      acceptLabel: t('pools.new.accept'),
      content,
      focus: inputs.name,
      onAccept: async () => {
        clear();
        const values = { type: typeIn.value, build: buildIn.checked, autostart: autoIn.checked, format: formatIn.value };
        for (const f of ['name', 'path', 'host', 'port', 'dir', 'iqn', 'initiator', 'adapter', 'vg', 'devices']) values[f] = inputs[f].value;
        const { body, problem, field: f } = poolRequest(values);
        if (problem) return mark(f, t(problem, { max: POOL_NAME_MAX }));
        try {
          return await api.definePool(opts.host(), body);
        } catch (e) {
          if (e?.status === 401) return null;
          const named = (e?.details ?? []).map((d) => formField(d?.field)).find(Boolean);
          return mark(named ?? '', e?.message || t('error.unknown'));
        }
      },
    });
    ref.result.then((p) => {
      if (p?.name) {
        toast(t('pools.new.done', { name: p.name }));
        opts.reload();
      }
    });
  }

  return {
    newButton, bar, show, sync,
    unmount: () => {
      clearTimeout(timer);
      for (const u of unsubs) u();
    },
    get current() { return current; },
  };
}
