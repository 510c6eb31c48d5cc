// The Devices tab of the guest page: a list of sections, each a card
// mounted with the guest's settings. This module brings the display
// (VNC or SPICE, listen address, keymap, password with expiry) and the
// serial console; another module adds its own section (host devices) by
// passing DEVICE_SECTIONS plus its own to mountGuestDevices. Managers edit
// (vm.edit); a password is sent, never shown: the server says only
// whether one is set and until when.

import { api } from '../lib/api.js';
import { h, setText } from '../lib/dom.js';
import { formatTime } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { isActive } from '../lib/vmstate.js';
import { fieldNames } from './guestcpu.js';
import { createField, createFormErrors } from '../ui/field.js';
import { toast } from '../ui/toast.js';

/** QEMU's keymaps, as the server accepts them. */
export const KEYMAPS = Object.freeze(['ar', 'bepo', 'cz', 'da', 'de', 'de-ch', 'en-gb', 'en-us', 'es', 'et', 'fi', 'fo', 'fr', 'fr-be',
  'fr-ca', 'fr-ch', 'hr', 'hu', 'is', 'it', 'ja', 'lt', 'lv', 'mk', 'nl', 'no', 'pl', 'pt', 'pt-br', 'ru', 'sl', 'sv', 'th', 'tr']);

/** The API's name of a display field (graphics dot field), as its 422 details name it. */
const gfield = (f) => ['graphics', f].join('.');

/** The most a VNC password can hold (VNC reads 8 bytes). */
export const VNC_PASSWORD_MAX = 8;

/**
 * The body of PUT /vms/{name}/graphics from the display form: only what
 * changed; an empty password box leaves the password as it is.
 * @param {any} cur settings.graphics
 * @param {{type: string, listen: string, keymap: string, password: string, clearPassword: boolean, validTo: string}} f
 *   validTo: a datetime-local value ('' none)
 */
export function graphicsPatch(cur, f) {
  const body = {};
  if (f.type !== cur.type) body.type = f.type;
  if (f.type !== 'none') {
    if (f.listen && f.listen !== (cur.listen ?? '')) body.listen = f.listen;
    if (f.keymap !== (cur.keymap ?? '')) body.keymap = f.keymap;
  }
  if (f.clearPassword) body.password = '';
  else if (f.password) {
    body.password = f.password;
    if (f.validTo) body.password_valid_to = new Date(f.validTo).toISOString();
  }
  return body;
}

/** "applies at next boot" for a running guest, "applied now" otherwise. */
function bootHint(running) {
  return running ? t('vmset.applies.nextBoot') : t('vmset.applies.now');
}

/**
 * Send a change of the display or serial console and report it.
 * @returns {Promise<any|null>} the settings afterwards, null when refused
 */
async function send(name, patch, errors, button) {
  if (Object.keys(patch).length === 0) {
    toast(t('vmset.noChange'), { kind: 'info' });
    return null;
  }
  button.disabled = true;
  errors.clear();
  try {
    const res = await api.updateVMGraphics(name, patch);
    const later = Object.entries(res.applied ?? {}).filter(([, w]) => w === 'next_boot').map(([f]) => f);
    toast(later.length ? t('vmset.savedNextBoot', { fields: fieldNames(later) }) : t('vmset.saved'), { kind: 'success' });
    return res.settings;
  } catch (err) {
    if (!errors.show(err)) {
      errors.alert.replaceChildren(h('p', null, err.message));
      errors.alert.hidden = false;
    }
    return null;
  } finally {
    button.disabled = false;
  }
}

/**
 * The display section.
 * @type {{id: string, mount: (el: HTMLElement, ctx: any) => {update: (s: any) => void, unmount: () => void}}}
 */
export const graphicsSection = {
  id: 'graphics',
  mount(el, ctx) {
    const typeF = createField({ name: gfield('type'), label: t('vmdev.type'), testid: 'field-graphics-type',
      options: [{ value: 'vnc', label: 'VNC' }, { value: 'spice', label: 'SPICE' }, { value: 'none', label: t('vmdev.none') }] });
    const listenF = createField({ name: gfield('listen'), label: t('vmdev.listen'), testid: 'field-graphics-listen', maxLength: 45,
      hint: ctx.isAdmin ? t('vmdev.listenAdmin') : t('vmdev.listenUser') });
    const keymapF = createField({ name: gfield('keymap'), label: t('vmdev.keymap'), testid: 'field-graphics-keymap',
      options: [{ value: '', label: t('vmdev.keymapDefault') }, ...KEYMAPS.map((k) => ({ value: k, label: k }))] });
    const pwF = createField({ name: gfield('password'), label: t('vmdev.newPassword'), type: 'password', autocomplete: 'new-password',
      testid: 'field-graphics-password', maxLength: 60 });
    const validF = createField({ name: gfield('password_valid_to'), label: t('vmdev.validTo'), type: 'datetime-local',
      testid: 'field-graphics-valid-to', hint: t('vmdev.validToHint') });
    const clearIn = /** @type {HTMLInputElement} */ (h('input', { id: 'vmdev-clear-pw', type: 'checkbox', 'data-testid': 'graphics-clear-password' }));
    const clearRow = h('div', { class: 'check-row' }, clearIn, h('label', { for: 'vmdev-clear-pw' }, t('vmdev.clearPassword')));
    const pwState = h('p', { class: 'hint', 'data-testid': 'graphics-password-state' });
    const typeHint = h('p', { class: 'hint', 'data-testid': 'graphics-applies' });
    const pwHint = h('p', { class: 'hint' });
    const fields = [typeF, listenF, keymapF, pwF, validF];
    const errors = createFormErrors(fields, { testid: 'graphics-error' });
    const saveB = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'graphics-save', hidden: !ctx.canEdit }, t('vmset.save'));
    const form = h('form', { class: 'card vmset-card', 'aria-labelledby': 'vmdev-gfx', 'data-testid': 'vmdev-graphics', novalidate: true },
      h('h2', { id: 'vmdev-gfx' }, t('vmdev.graphics')), errors.alert,
      typeF.el, typeHint, h('div', { class: 'vmset-row' }, listenF.el, keymapF.el),
      h('fieldset', null, h('legend', null, t('vmdev.password')), pwState, h('div', { class: 'vmset-row' }, pwF.el, validF.el), clearRow, pwHint),
      h('div', { class: 'form-actions' }, saveB));
    el.append(form);
    let cur = null;

    function update(s) {
      cur = s;
      const g = s.graphics;
      const running = isActive(s.state);
      typeF.input.value = g.type;
      listenF.input.value = g.listen ?? '';
      keymapF.input.value = g.keymap ?? '';
      pwF.input.value = '';
      validF.input.value = '';
      clearIn.checked = false;
      setText(pwState, g.password_set
        ? (g.password_valid_to ? t('vmdev.passwordUntil', { time: formatTime(new Date(g.password_valid_to)) }) : t('vmdev.passwordSet'))
        : t('vmdev.noPassword'));
      setText(typeHint, bootHint(running));
      setText(pwHint, running ? t('vmdev.passwordLive') : t('vmset.applies.now'));
      for (const f of [typeF, keymapF, pwF, validF]) f.input.disabled = !ctx.canEdit;
      listenF.input.disabled = !ctx.canEdit;
      clearIn.disabled = !ctx.canEdit || !g.password_set;
      pwF.input.maxLength = typeF.input.value === 'vnc' ? VNC_PASSWORD_MAX : 60;
      // Readers see what is set, not boxes they cannot use.
      for (const x of [pwF.el, validF.el, clearRow, pwHint, typeHint]) x.hidden = !ctx.canEdit;
    }
    typeF.input.addEventListener('change', () => { pwF.input.maxLength = typeF.input.value === 'vnc' ? VNC_PASSWORD_MAX : 60; });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!cur) return;
      const patch = graphicsPatch(cur.graphics, { type: typeF.input.value, listen: listenF.input.value.trim(), keymap: keymapF.input.value,
        password: pwF.input.value, clearPassword: clearIn.checked, validTo: validF.input.value });
      const s = await send(cur.name, patch, errors, saveB);
      pwF.input.value = '';
      if (s) ctx.changed(s);
    });
    return { update, unmount() {} };
  },
};

/** The serial console section. */
export const serialSection = {
  id: 'serial',
  mount(el, ctx) {
    const input = /** @type {HTMLInputElement} */ (h('input', { id: 'vmdev-serial', type: 'checkbox', 'data-testid': 'field-serial' }));
    const hint = h('p', { class: 'hint', 'data-testid': 'serial-applies' });
    const errors = createFormErrors([], { testid: 'serial-error' });
    const saveB = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'serial-save', hidden: !ctx.canEdit }, t('vmset.save'));
    const form = h('form', { class: 'card vmset-card', 'aria-labelledby': 'vmdev-serial-h', 'data-testid': 'vmdev-serial', novalidate: true },
      h('h2', { id: 'vmdev-serial-h' }, t('vmdev.serial')), errors.alert,
      h('div', { class: 'check-row' }, input, h('label', { for: 'vmdev-serial' }, t('vmdev.serialPresent'))), hint,
      h('div', { class: 'form-actions' }, saveB));
    el.append(form);
    let cur = null;
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!cur) return;
      const patch = input.checked !== cur.serial ? { serial: input.checked } : {};
      const s = await send(cur.name, patch, errors, saveB);
      if (s) ctx.changed(s);
    });
    return {
      update(s) {
        cur = s;
        input.checked = !!s.serial;
        input.disabled = !ctx.canEdit;
        setText(hint, bootHint(isActive(s.state)));
        hint.hidden = !ctx.canEdit;
      },
      unmount() {},
    };
  },
};

/** The sections this module brings, in display order. */
export const DEVICE_SECTIONS = Object.freeze([graphicsSection, serialSection]);

/**
 * Mount the tab with sections (DEVICE_SECTIONS unless given).
 * @param {HTMLElement} panel
 * @param {{name: string, canEdit: boolean, isAdmin?: boolean, sections?: ReadonlyArray<typeof graphicsSection>}} o
 */
export function mountGuestDevices(panel, o) {
  const ctl = new AbortController();
  let gone = false;
  let settings = null;
  const status = h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('vmset.loading'));
  const demoNote = h('p', { class: 'banner banner-info', 'data-testid': 'vmdev-demo', hidden: true }, t('vmset.demo'));
  const readOnly = h('p', { class: 'muted', hidden: o.canEdit }, t('vmset.readOnly'));
  const grid = h('div', { class: 'cards', hidden: true, 'data-testid': 'vmdev-sections' });
  panel.replaceChildren(demoNote, readOnly, status, grid);
  const ctx = {
    name: o.name, canEdit: o.canEdit, isAdmin: !!o.isAdmin,
    /** A section saved: every section shows the new settings. */
    changed(s) { fill(s); },
  };
  const mounted = (o.sections ?? DEVICE_SECTIONS).map((sec) => {
    const el = h('div', { class: 'vmdev-section', 'data-section': sec.id });
    grid.append(el);
    return sec.mount(el, ctx);
  });

  function fill(s) {
    settings = s;
    status.hidden = true;
    grid.hidden = false;
    demoNote.hidden = s.limits?.live_changes !== false;
    for (const m of mounted) m.update(s);
  }

  async function load() {
    try {
      fill(await api.vmSettings(o.name, ctl.signal));
    } catch (err) {
      if (err?.name === 'AbortError' || gone) return;
      status.replaceChildren(h('p', { class: 'banner banner-error', role: 'alert' }, t('vmset.loadFailed', { message: err.message })));
    }
  }
  load();

  return {
    update(vm) {
      if (settings && vm && vm.state !== settings.state) load();
    },
    unmount() {
      gone = true;
      ctl.abort();
      for (const m of mounted) m.unmount();
    },
  };
}
