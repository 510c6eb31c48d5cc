// "New guest" on the Guests page: a button for callers whose list says
// they may create (allowed_actions "create"), and the dialog that picks a
// template (unusable ones shown disabled with their reason), a name (the
// next free <template>-N filled in), vCPU and memory overrides and "start
// after creation". The task's progress shows in the tasks drawer; the new
// guest joins the list through the event stream. "Import a disk" makes the
// guest around an existing volume instead (importdisk.js).

import { api } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { openDialog } from '../ui/dialog.js';
import { showTask } from '../ui/tasksdrawer.js';
import { importBody, importFields, importApi } from './importdisk.js';

/** The server's default name for a guest of template tname: the first free tname-N. */
export function defaultName(tname, names) {
  let base = String(tname).replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-._]+|[-._]+$/g, '');
  if (base === '') base = 'guest';
  base = base.slice(0, 59);
  const taken = new Set(names);
  for (let n = 1; n < 10000; n++) {
    if (!taken.has(`${base}-${n}`)) return `${base}-${n}`;
  }
  return '';
}

/**
 * The button and its dialog.
 * @param {{names: () => string[]}} o names: the guests listed now
 * @returns {{el: HTMLButtonElement, setAllowed: (actions: string[]|undefined) => void}}
 */
export function newGuestButton(o) {
  const el = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'new-guest', hidden: true },
    icon('plus'), t('newguest.open')));
  el.addEventListener('click', () => open(o));
  return {
    el,
    setAllowed(actions) {
      el.hidden = !(actions ?? []).includes('create');
    },
  };
}

async function open(o) {
  const modeIn = /** @type {HTMLSelectElement} */ (h('select', { id: 'ng-mode', class: 'input', 'data-testid': 'ng-mode' },
    h('option', { value: 'template' }, t('importdisk.modeTemplate')), h('option', { value: 'import' }, t('importdisk.modeImport'))));
  const imp = importFields({ onChange: () => ref.sync() });
  const importing = () => modeIn.value === 'import';
  const tmplIn = /** @type {HTMLSelectElement} */ (h('select', { id: 'ng-template', class: 'input', 'data-testid': 'ng-template' }));
  const nameIn = /** @type {HTMLInputElement} */ (h('input', { id: 'ng-name', class: 'input', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: '64', 'data-testid': 'ng-name' }));
  const cpuIn = /** @type {HTMLInputElement} */ (h('input', { id: 'ng-vcpus', class: 'input', type: 'number', min: '1', 'data-testid': 'ng-vcpus' }));
  const memIn = /** @type {HTMLInputElement} */ (h('input', { id: 'ng-memory', class: 'input', type: 'number', min: '16', step: '64', 'data-testid': 'ng-memory' }));
  const startIn = /** @type {HTMLInputElement} */ (h('input', { id: 'ng-start', type: 'checkbox', checked: true, 'data-testid': 'ng-start' }));
  const reason = h('p', { class: 'hint', 'data-testid': 'ng-reason', hidden: true });
  const err = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'ng-error', hidden: true });
  const fail = (msg, input) => {
    err.hidden = false;
    setText(err, msg);
    input?.focus();
    return undefined;
  };
  /** @type {any[]} */
  let templates = [];
  let nameTouched = false;
  nameIn.addEventListener('input', () => {
    nameTouched = true;
  });
  const selected = () => templates.find((x) => String(x.id) === tmplIn.value);
  const fill = () => {
    const tm = selected();
    reason.hidden = true;
    if (!tm) return;
    if (!nameTouched) nameIn.value = defaultName(tm.name, o.names());
    cpuIn.value = String(tm.vcpus ?? 1);
    cpuIn.max = String(tm.topology ? tm.max_vcpus : 255);
    memIn.value = String(tm.memory_mib ?? 1024);
    ref.sync();
  };
  tmplIn.addEventListener('change', fill);
  const tmplField = h('div', { class: 'field' }, h('label', { for: 'ng-template' }, t('newguest.template')), tmplIn, reason);
  modeIn.addEventListener('change', async () => {
    tmplField.hidden = importing();
    imp.el.hidden = !importing();
    if (!importing()) return fill();
    // The OS's defaults unless the user sets them; the volume's name.
    cpuIn.value = '';
    memIn.value = '';
    if (!nameTouched) nameIn.value = '';
    ref.sync();
    try {
      await imp.load();
    } catch (e) {
      if (e?.status !== 401 && e?.name !== 'AbortError') fail(e?.message || t('error.unknown'), null);
    }
  });

  const ref = openDialog({
    title: t('newguest.title'),
    testid: 'new-guest-dialog',
    acceptLabel: t('newguest.accept'),
    content: [
      h('div', { class: 'field' }, h('label', { for: 'ng-mode' }, t('importdisk.mode')), modeIn),
      tmplField,
      imp.el,
      h('div', { class: 'field' }, h('label', { for: 'ng-name' }, t('newguest.name')), nameIn,
        h('p', { class: 'hint' }, t('newguest.nameHint'))),
      h('div', { class: 'field' }, h('label', { for: 'ng-vcpus' }, t('newguest.vcpus')), cpuIn),
      h('div', { class: 'field' }, h('label', { for: 'ng-memory' }, t('newguest.memory')), memIn),
      h('div', { class: 'check-row' }, startIn, h('label', { for: 'ng-start' }, t('newguest.start'))),
      err,
    ],
    focus: tmplIn,
    canAccept: () => (importing() ? Boolean(importBody(imp.values())) : Boolean(selected())),
    onAccept: async () => {
      if (importing()) return acceptImport();
      const tm = selected();
      if (!tm) return fail(t('newguest.noTemplate'), tmplIn);
      const vcpus = Number(cpuIn.value);
      const memory = Number(memIn.value);
      if (!Number.isInteger(vcpus) || vcpus < 1) return fail(t('newguest.vcpusInvalid'), cpuIn);
      if (!Number.isInteger(memory) || memory < 16) return fail(t('newguest.memoryInvalid'), memIn);
      const body = { template: tm.id, start: startIn.checked, name: nameIn.value.trim() || undefined };
      if (vcpus !== tm.vcpus || memory !== tm.memory_mib) body.overrides = { vcpus, memory_mib: memory };
      try {
        return await api.createVM(body);
      } catch (e) {
        if (e?.status === 401) return null;
        return fail(e?.message || t('error.unknown'), nameIn);
      }
    },
  });
  async function acceptImport() {
    const vcpus = cpuIn.value === '' ? 0 : Number(cpuIn.value);
    const memory = memIn.value === '' ? 0 : Number(memIn.value);
    if (!Number.isInteger(vcpus) || vcpus < 0) return fail(t('newguest.vcpusInvalid'), cpuIn);
    if (!Number.isInteger(memory) || (memory !== 0 && memory < 16)) return fail(t('newguest.memoryInvalid'), memIn);
    const body = importBody({ ...imp.values(), name: nameIn.value.trim(), vcpus, memory, start: startIn.checked });
    if (!body) return fail(t('importdisk.noVolume'), null);
    try {
      return await importApi.importVM(body);
    } catch (e) {
      if (e?.status === 401) return null;
      return fail(e?.message || t('error.unknown'), nameIn);
    }
  }
  ref.result.then((task) => {
    imp.close();
    if (task?.id) showTask(task);
  });

  try {
    const got = await api.listTemplates();
    templates = Array.isArray(got?.items) ? got.items : [];
  } catch (e) {
    if (e?.status !== 401) fail(e?.message || t('error.unknown'), null);
    return;
  }
  const usable = templates.filter((x) => !(x.problems?.length));
  tmplIn.replaceChildren(
    ...templates.map((x) => {
      const bad = x.problems?.length ? x.problems.map((p) => p.message).join('; ') : '';
      return h('option', { value: String(x.id), disabled: Boolean(bad), title: bad || null },
        bad ? t('newguest.unusable', { name: x.name, reason: bad }) : x.name);
    }));
  if (templates.length === 0) {
    reason.hidden = false;
    setText(reason, t('newguest.none'));
  }
  if (usable.length > 0) tmplIn.value = String(usable[0].id);
  else tmplIn.value = '';
  fill();
}
