// The Network tab of a guest: its NICs (MAC, network, model, link), and
// for managers (vm.edit) add, edit, remove and a link toggle. A change to
// a running guest applies now where the hypervisor can (the link, a new
// NIC) and otherwise at the next boot (a new model); each answer says
// which. The test driver cannot change a running guest: said once.

import { request } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { can } from '../lib/vmstate.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { createField, createFormErrors } from '../ui/field.js';
import { toast } from '../ui/toast.js';

const enc = encodeURIComponent;

/**
 * What an edit's answer means for the user.
 * @param {string} applies "now" or "next_boot"
 */
export function appliesText(applies) {
  return applies === 'next_boot' ? t('nics.applies.nextBoot') : t('nics.applies.now');
}

/**
 * The body of an add or edit from the dialog's values: empty fields are
 * left out (the server keeps or defaults them).
 * @param {{type?: string, network?: string, iface?: string, model?: string, mac?: string, link?: boolean}} v
 * @param {boolean} adding
 */
export function nicBody(v, adding) {
  const type = v.type || 'network';
  const body = { type, source: (type === 'network' ? v.network : v.iface)?.trim() || undefined, model: v.model || undefined };
  if (adding && v.mac?.trim()) body.mac = v.mac.trim();
  if (v.link !== undefined) body.link = v.link ? 'up' : 'down';
  return body;
}

/** A NIC type's name. */
function typeLabel(type) {
  return type === 'bridge' ? t('nics.type.bridge') : type === 'direct' ? t('nics.type.direct') : t('nics.type.network');
}

/** "network: default" as a person reads it. */
function sourceLabel(n) {
  const kind = typeLabel(n.type);
  return n.source ? `${kind}: ${n.source}` : kind;
}

/**
 * Mount the Network tab of guest name into container.
 * @param {HTMLElement} container
 * @param {{name: string, vm: any}} opts
 * @returns {{update: (vm: any) => void, unmount: () => void}}
 */
export function mountGuestNICs(container, { name, vm }) {
  const controller = new AbortController();
  let current = vm;
  let list = null;
  let running = vm?.state === 'running';
  const base = `/vms/${enc(name)}/nics`;

  const heading = h('h2', { id: 'nics-title' }, t('nics.title'));
  const addButton = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'nic-add', hidden: true }, icon('plus'), t('nics.add'));
  const note = h('p', { class: 'banner banner-info', 'data-testid': 'nics-test-driver', hidden: true }, t('nics.testDriver'));
  const hint = h('p', { class: 'muted', 'data-testid': 'nics-hint' });
  const error = h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'nics-error', hidden: true });
  const body = h('tbody');
  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'data-table', 'data-testid': 'nics-list', 'aria-labelledby': 'nics-title' },
      h('thead', null, h('tr', null,
        [t('nics.col.mac'), t('nics.col.network'), t('nics.col.model'), t('nics.col.link'), t('nics.col.actions')]
          .map((c) => h('th', { scope: 'col' }, c)))),
      body));
  const empty = h('p', { class: 'muted', 'data-testid': 'nics-empty', hidden: true }, t('nics.empty'));
  container.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'nics-title' },
    h('div', { class: 'toolbar' }, heading, addButton), note, hint, error, table, empty));

  const canEdit = () => can(current, 'vm.edit');

  async function load() {
    try {
      list = await request('GET', base, { signal: controller.signal });
      error.hidden = true;
    } catch (err) {
      if (controller.signal.aborted) return;
      setText(error, t('nics.loadFailed', { message: err.message }));
      error.hidden = false;
      return;
    }
    render();
  }

  function render() {
    if (!list) return;
    const edit = canEdit();
    addButton.hidden = !edit;
    note.hidden = list.live || !edit;
    setText(hint, list.running ? t('nics.hintRunning') : t('nics.hintOff'));
    empty.hidden = list.items.length > 0;
    table.hidden = list.items.length === 0;
    body.replaceChildren(...list.items.map((n) => {
      const up = n.link !== 'down';
      const link = edit
        ? h('button', {
          type: 'button', class: 'btn btn-sm', 'aria-pressed': String(up), 'data-testid': 'nic-link',
          title: up ? t('nics.linkDownTitle') : t('nics.linkUpTitle'),
          onclick: () => change(n, { link: up ? 'down' : 'up' }),
        }, t(up ? 'nics.link.up' : 'nics.link.down'))
        : h('span', { class: up ? 'tag tag-info' : 'tag tag-warn' }, t(up ? 'nics.link.up' : 'nics.link.down'));
      const actions = edit ? h('div', { class: 'c-actions' },
        h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'nic-edit', onclick: () => openEditor(n) }, t('nics.edit')),
        h('button', { type: 'button', class: 'btn btn-sm btn-danger', 'data-testid': 'nic-remove', onclick: () => remove(n) }, t('nics.remove')))
        : '';
      return h('tr', { 'data-testid': 'nic-row', 'data-mac': n.mac },
        h('td', { 'data-label': t('nics.col.mac') }, h('code', null, n.mac)),
        h('td', { 'data-label': t('nics.col.network') }, sourceLabel(n)),
        h('td', { 'data-label': t('nics.col.model') }, n.model || t('nics.modelDefault')),
        h('td', { 'data-label': t('nics.col.link') }, link),
        h('td', { 'data-label': t('nics.col.actions') }, actions));
    }));
  }

  async function change(n, patch) {
    try {
      const res = await request('PUT', `${base}/${enc(n.mac)}`, { body: patch });
      toast(appliesText(res.applies), { title: t('nics.changed', { mac: n.mac }) });
    } catch (err) {
      toast(err.message, { kind: 'error', title: t('nics.changeFailed', { mac: n.mac }) });
    }
    await load();
  }

  async function remove(n) {
    const { confirmed } = await confirmDialog({
      title: t('nics.removeTitle', { mac: n.mac }),
      body: running ? t('nics.removeBodyRunning', { name }) : t('nics.removeBody', { name }),
      confirmLabel: t('nics.remove'),
      danger: true,
    });
    if (!confirmed) return;
    try {
      const res = await request('DELETE', `${base}/${enc(n.mac)}`);
      toast(appliesText(res.applies), { title: t('nics.removed', { mac: n.mac }) });
    } catch (err) {
      toast(err.message, { kind: 'error', title: t('nics.changeFailed', { mac: n.mac }) });
    }
    await load();
  }

  /** The add (n null) or edit dialog. */
  function openEditor(n) {
    const adding = !n;
    const types = list.types.length > 0 ? list.types : ['network'];
    const typeField = createField({
      name: 'type', label: t('nics.field.type'), value: n?.type && types.includes(n.type) ? n.type : 'network',
      options: types.map((x) => ({ value: x, label: typeLabel(x) })),
    });
    const nets = [...list.networks];
    if (n?.type === 'network' && n.source && !nets.includes(n.source)) nets.unshift(n.source);
    const netField = createField({
      name: 'network', label: t('nics.field.network'), value: n?.type === 'network' ? n.source : nets[0],
      options: nets.map((x) => ({ value: x, label: x })), hint: nets.length === 0 ? t('nics.noNetworks') : undefined,
    });
    const ifaceField = createField({
      name: 'iface', label: t('nics.field.iface'), value: n && n.type !== 'network' ? n.source : '', maxLength: 15,
      hint: t('nics.field.ifaceHint'),
    });
    const models = [...list.models];
    if (n?.model && !models.includes(n.model)) models.push(n.model);
    const modelField = createField({
      name: 'model', label: t('nics.field.model'), value: n?.model || list.default_model,
      options: models.map((x) => ({ value: x, label: x === list.default_model ? t('nics.modelIsDefault', { model: x }) : x })),
    });
    const macField = adding ? createField({
      name: 'mac', label: t('nics.field.mac'), maxLength: 17, placeholder: '52:54:00:…', hint: t('nics.field.macHint'),
    }) : null;
    const linkBox = h('input', { type: 'checkbox', id: 'nic-link-up', 'data-testid': 'field-link', checked: n ? n.link !== 'down' : true });
    const fields = [typeField, netField, ifaceField, modelField, macField].filter(Boolean);
    const errs = createFormErrors(fields);
    const sync = () => {
      const type = typeField.input.value;
      netField.el.hidden = type !== 'network';
      ifaceField.el.hidden = type === 'network';
    };
    typeField.input.addEventListener('change', sync);
    typeField.el.hidden = types.length < 2;
    sync();
    openDialog({
      title: adding ? t('nics.addTitle', { name }) : t('nics.editTitle', { mac: n.mac }),
      testid: 'nic-dialog',
      content: [errs.alert, ...fields.map((f) => f.el),
        h('div', { class: 'check-row' }, linkBox, h('label', { for: 'nic-link-up' }, t('nics.field.linkUp'))),
        h('p', { class: 'hint' }, running ? t('nics.hintRunning') : t('nics.hintOff'))],
      acceptLabel: adding ? t('nics.add') : t('nics.save'),
      focus: adding ? netField.input : modelField.input,
      onAccept: async () => {
        errs.clear();
        const v = { ...errs.values(), link: linkBox.checked };
        try {
          const res = adding
            ? await request('POST', base, { body: nicBody(v, true) })
            : await request('PUT', `${base}/${enc(n.mac)}`, { body: nicBody(v, false) });
          toast(appliesText(res.applies), { title: adding ? t('nics.added', { mac: res.nic.mac }) : t('nics.changed', { mac: n.mac }) });
          load();
          return true;
        } catch (err) {
          if (!errs.show(err)) {
            errs.alert.replaceChildren(h('p', null, err.message));
            errs.alert.hidden = false;
          }
          return undefined;
        }
      },
    });
  }

  addButton.addEventListener('click', () => list && openEditor(null));
  load();

  return {
    update(vm) {
      const wasRunning = running;
      current = vm;
      running = vm?.state === 'running';
      if (wasRunning !== running) load();
      else render();
    },
    unmount() {
      controller.abort();
    },
  };
}
