// The Processor & memory tab of the guest page: vCPUs and their maximum,
// topology, CPU mode, memory and its maximum; and an Identity & boot
// section (name, title, description, autostart, boot order and menu).
// Managers edit (vm.edit), everyone else reads. Each field says whether a
// change applies now or at the next boot, or needs the guest shut off; a
// save sends only the fields changed (PUT /api/v1/vms/{name}) and shows
// the server's 422 details next to their fields.

import { api } from '../lib/api.js';
import { h, setText } from '../lib/dom.js';
import { formatMiB } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { isActive } from '../lib/vmstate.js';
import { createField, createFormErrors } from '../ui/field.js';
import { toast } from '../ui/toast.js';

/** Boot devices a guest may boot from, as the API names them. */
export const BOOT_DEVICES = Object.freeze(['hd', 'cdrom', 'network']);

/** How many boot slots the form offers. */
const BOOT_SLOTS = 3;

/**
 * Where a change of field takes effect on a guest in state:
 * 'now', 'next_boot' or 'off' (only while the guest is shut off).
 * @param {string} field
 * @param {boolean} running
 */
export function appliesWhen(field, running) {
  if (!running) return 'now';
  switch (field) {
    case 'vcpus': case 'memory_mib': case 'title': case 'description': case 'autostart':
      return 'now';
    case 'boot_order': case 'boot_menu':
      return 'next_boot';
    default:
      return 'off';
  }
}

/** The words of appliesWhen. */
export function appliesText(when) {
  if (when === 'next_boot') return t('vmset.applies.nextBoot');
  if (when === 'off') return t('vmset.applies.off');
  return t('vmset.applies.now');
}

/**
 * The body of PUT /vms/{name}: the fields of next that differ from cur.
 * Topology goes whenever it or the maximum changes.
 * @param {any} cur settings as the server sent them
 * @param {any} next the form's values
 */
export function settingsPatch(cur, next) {
  const body = {};
  for (const k of ['name', 'title', 'description', 'autostart', 'vcpus', 'max_vcpus', 'memory_mib', 'max_memory_mib', 'boot_menu']) {
    if (next[k] !== undefined && next[k] !== cur[k]) body[k] = next[k];
  }
  const curTop = cur.topology ?? { sockets: cur.max_vcpus, cores: 1, threads: 1 };
  const nt = next.topology;
  if (nt && (nt.sockets !== curTop.sockets || nt.cores !== curTop.cores || nt.threads !== curTop.threads || body.max_vcpus !== undefined)) {
    body.topology = nt;
  }
  if (next.cpu_mode !== undefined && (next.cpu_mode !== cur.cpu_mode || (next.cpu_mode === 'custom' && next.cpu_model !== cur.cpu_model))) {
    body.cpu_mode = next.cpu_mode;
    if (next.cpu_mode === 'custom') body.cpu_model = next.cpu_model;
  }
  if (next.boot_order && next.boot_order.join(',') !== (cur.boot_order ?? []).join(',')) body.boot_order = next.boot_order;
  return body;
}

/**
 * The words for the API's field names in "saved for the next boot" notes.
 * @param {string[]} fields
 */
export function fieldNames(fields) {
  const words = {
    name: t('vmset.name'), title: t('vmset.title'), description: t('vmset.description'), autostart: t('vmset.autostart'),
    vcpus: t('vmset.vcpus'), max_vcpus: t('vmset.maxVcpus'), topology: t('vmset.topology'), cpu_mode: t('vmset.cpuMode'),
    memory_mib: t('vmset.memory'), max_memory_mib: t('vmset.maxMemory'), boot_order: t('vmset.bootOrder'), boot_menu: t('vmset.bootMenu'),
    serial: t('vmdev.serial'),
  };
  const gfx = { type: t('vmdev.type'), listen: t('vmdev.listen'), keymap: t('vmdev.keymap'), password: t('vmdev.password') };
  return fields.map((f) => words[f] ?? (f.startsWith('graphics') ? `${t('vmdev.graphics')}: ${gfx[f.split('.')[1]] ?? f}` : f)).join(', ');
}

/** A whole number from an input, or NaN (the server names what is wrong). */
const num = (input) => (input.value.trim() === '' ? NaN : Number(input.value));

/**
 * A checkbox with its label and hint.
 * @param {string} name
 * @param {string} label
 */
function checkField(name, label) {
  const input = /** @type {HTMLInputElement} */ (h('input', { id: `vmset-${name}`, type: 'checkbox', 'data-testid': `field-${name}` }));
  const hint = h('p', { class: 'hint' });
  const error = h('p', { class: 'field-error', hidden: true, 'data-testid': `field-error-${name}` });
  const el = h('div', { class: 'field', 'data-field': name }, h('div', { class: 'check-row' }, input, h('label', { for: input.id }, label)), hint, error);
  return {
    name, el, input, hint,
    value: () => input.checked,
    setError(messages) {
      const list = Array.isArray(messages) ? messages : messages ? [messages] : [];
      setText(error, list.join(' '));
      error.hidden = list.length === 0;
    },
  };
}

/**
 * Mount the tab.
 * @param {HTMLElement} panel
 * @param {{name: string, canEdit: boolean, onRenamed?: (name: string) => void}} o
 */
export function mountGuestCPU(panel, o) {
  let settings = null;
  let saving = false;
  let gone = false;
  const ctl = new AbortController();

  const status = h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('vmset.loading'));
  const demoNote = h('p', { class: 'banner banner-info', 'data-testid': 'vmset-demo', hidden: true }, t('vmset.demo'));
  const pendingNote = h('p', { class: 'banner banner-warn', 'data-testid': 'vmset-pending', hidden: true });
  const readOnly = h('p', { class: 'muted', 'data-testid': 'vmset-readonly', hidden: o.canEdit }, t('vmset.readOnly'));

  // Processor and memory.
  const vcpus = createField({ name: 'vcpus', label: t('vmset.vcpus'), type: 'number', testid: 'field-vcpus' });
  const maxVcpus = createField({ name: 'max_vcpus', label: t('vmset.maxVcpus'), type: 'number' });
  const sockets = createField({ name: 'sockets', label: t('vmset.sockets'), type: 'number' });
  const cores = createField({ name: 'cores', label: t('vmset.cores'), type: 'number' });
  const threads = createField({ name: 'threads', label: t('vmset.threads'), type: 'number' });
  const topoErr = createField({ name: 'topology', label: t('vmset.topology'), type: 'hidden' });
  const mode = createField({ name: 'cpu_mode', label: t('vmset.cpuMode'), options: [] });
  const model = createField({ name: 'cpu_model', label: t('vmset.cpuModel'), options: [] });
  const memory = createField({ name: 'memory_mib', label: t('vmset.memory'), type: 'number' });
  const maxMemory = createField({ name: 'max_memory_mib', label: t('vmset.maxMemory'), type: 'number' });
  const smt = h('p', { class: 'hint', 'data-testid': 'vmset-smt' });
  const limits = h('p', { class: 'hint', 'data-testid': 'vmset-limits' });
  const procFields = [vcpus, maxVcpus, sockets, cores, threads, topoErr, mode, model, memory, maxMemory];
  topoErr.el.querySelector('label').hidden = true;
  const procErrors = createFormErrors(procFields, { testid: 'vmset-proc-error' });
  const procSave = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'vmset-proc-save', hidden: !o.canEdit }, t('vmset.save'));
  const procForm = h('form', { class: 'card vmset-card', 'aria-labelledby': 'vmset-proc', 'data-testid': 'vmset-proc', novalidate: true },
    h('h2', { id: 'vmset-proc' }, t('vmset.processor')),
    procErrors.alert,
    h('div', { class: 'vmset-row' }, vcpus.el, maxVcpus.el),
    h('fieldset', { class: 'vmset-topology' }, h('legend', null, t('vmset.topology')),
      h('div', { class: 'vmset-row vmset-row3' }, sockets.el, cores.el, threads.el), smt, topoErr.el),
    h('div', { class: 'vmset-row' }, mode.el, model.el),
    h('h3', null, t('vmset.memoryTitle')),
    h('div', { class: 'vmset-row' }, memory.el, maxMemory.el),
    limits,
    h('div', { class: 'form-actions' }, procSave));

  // Identity and boot.
  const nameF = createField({ name: 'name', label: t('vmset.name'), maxLength: 64, autocomplete: 'off' });
  const title = createField({ name: 'title', label: t('vmset.title'), maxLength: 256 });
  const description = createField({ name: 'description', label: t('vmset.description'), multiline: true, maxLength: 4096 });
  const autostart = checkField('autostart', t('vmset.autostart'));
  const bootMenu = checkField('boot_menu', t('vmset.bootMenu'));
  const bootOpts = [{ value: '', label: t('vmset.boot.none') }, { value: 'hd', label: t('vmset.boot.hd') },
    { value: 'cdrom', label: t('vmset.boot.cdrom') }, { value: 'network', label: t('vmset.boot.network') }];
  const boots = Array.from({ length: BOOT_SLOTS }, (_, i) => createField({
    name: `boot_order[${i}]`, label: t('vmset.bootSlot', { n: i + 1 }), options: bootOpts, testid: `field-boot-${i}`,
  }));
  const bootHint = h('p', { class: 'hint' });
  const idFields = [nameF, title, description, autostart, bootMenu, ...boots];
  const idErrors = createFormErrors(idFields, { testid: 'vmset-id-error' });
  const idSave = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'vmset-id-save', hidden: !o.canEdit }, t('vmset.save'));
  const idForm = h('form', { class: 'card vmset-card', 'aria-labelledby': 'vmset-id', 'data-testid': 'vmset-identity', novalidate: true },
    h('h2', { id: 'vmset-id' }, t('vmset.identity')),
    idErrors.alert,
    nameF.el, title.el, description.el, autostart.el,
    h('fieldset', null, h('legend', null, t('vmset.bootOrder')), h('div', { class: 'vmset-row vmset-row3' }, boots.map((b) => b.el)), bootHint),
    bootMenu.el,
    h('div', { class: 'form-actions' }, idSave));

  const body = h('div', { class: 'cards', hidden: true }, procForm, idForm);
  panel.replaceChildren(demoNote, pendingNote, readOnly, status, body);

  const hintOf = (f) => {
    let p = f.el.querySelector('.hint');
    if (!p) {
      p = h('p', { class: 'hint' });
      f.el.querySelector('.field-error').before(p);
    }
    return p;
  };
  function applyHints(s) {
    const running = isActive(s.state);
    const hint = (f, field) => {
      const when = appliesWhen(field, running);
      const p = f.hint ?? hintOf(f);
      p.dataset.applies = when;
      setText(p, appliesText(when));
      p.hidden = !o.canEdit;
      f.input.disabled = !o.canEdit || when === 'off';
    };
    hint(vcpus, 'vcpus');
    hint(maxVcpus, 'max_vcpus');
    for (const f of [sockets, cores, threads]) f.input.disabled = !o.canEdit || running;
    hint(mode, 'cpu_mode');
    model.input.disabled = !o.canEdit || running;
    hint(memory, 'memory_mib');
    hint(maxMemory, 'max_memory_mib');
    hint(nameF, 'name');
    hint(title, 'title');
    hint(description, 'description');
    hint(autostart, 'autostart');
    hint(bootMenu, 'boot_menu');
    const bw = appliesWhen('boot_order', running);
    bootHint.dataset.applies = bw;
    setText(bootHint, appliesText(bw));
    bootHint.hidden = !o.canEdit;
    for (const b of boots) b.input.disabled = !o.canEdit;
    if (o.canEdit && running && s.memory_slots > 0) setText(hintOf(memory), t('vmset.applies.hotplug', { max: formatMiB(s.hotplug_max_memory_mib) }));
  }

  function renderSMT() {
    const th = num(threads.input);
    setText(smt, th > 1 ? t('vmset.smt', { threads: th }) : t('vmset.noSmt'));
  }

  function fill(s) {
    settings = s;
    status.hidden = true;
    body.hidden = false;
    demoNote.hidden = s.limits?.live_changes !== false;
    const pending = s.pending ?? [];
    pendingNote.hidden = pending.length === 0;
    setText(pendingNote, t('vmset.pending', { fields: fieldNames(pending) }));
    vcpus.input.value = String(s.vcpus);
    maxVcpus.input.value = String(s.max_vcpus);
    const top = s.topology ?? { sockets: s.max_vcpus, cores: 1, threads: 1 };
    sockets.input.value = String(top.sockets);
    cores.input.value = String(top.cores);
    threads.input.value = String(top.threads);
    renderSMT();
    const modes = [...(s.limits?.cpu_modes ?? [])];
    if (s.cpu_mode && !modes.includes(s.cpu_mode)) modes.push(s.cpu_mode);
    const modeLabel = (m) => ({ 'host-passthrough': t('vmset.mode.passthrough'), 'host-model': t('vmset.mode.hostModel'), custom: t('vmset.mode.custom') })[m] ?? m;
    mode.input.replaceChildren(...(s.cpu_mode ? [] : [h('option', { value: '' }, t('vmset.mode.default'))]),
      ...modes.map((m) => h('option', { value: m }, modeLabel(m))));
    mode.input.value = s.cpu_mode ?? '';
    const models = [...(s.limits?.cpu_models ?? [])];
    if (s.cpu_model && !models.includes(s.cpu_model)) models.push(s.cpu_model);
    model.input.replaceChildren(...models.map((m) => h('option', { value: m }, m)));
    model.input.value = s.cpu_model || models[0] || '';
    model.el.hidden = mode.input.value !== 'custom';
    memory.input.value = String(s.memory_mib);
    maxMemory.input.value = String(s.max_memory_mib);
    setText(limits, t('vmset.limits', { vcpus: s.limits?.max_vcpus ?? '?', memory: formatMiB(s.limits?.host_memory_mib ?? 0) }));
    nameF.input.value = s.name;
    title.input.value = s.title ?? '';
    description.input.value = s.description ?? '';
    autostart.input.checked = !!s.autostart;
    autostart.input.disabled = !o.canEdit || !s.persistent;
    bootMenu.input.checked = !!s.boot_menu;
    boots.forEach((b, i) => { b.input.value = s.boot_order?.[i] ?? ''; });
    applyHints(s);
  }

  function procValues() {
    const v = { vcpus: num(vcpus.input), max_vcpus: num(maxVcpus.input), memory_mib: num(memory.input), max_memory_mib: num(maxMemory.input),
      topology: { sockets: num(sockets.input), cores: num(cores.input), threads: num(threads.input) }, cpu_mode: mode.input.value || undefined };
    if (v.cpu_mode === 'custom') v.cpu_model = model.input.value;
    // What a running guest cannot change is not sent.
    if (isActive(settings.state)) {
      delete v.max_vcpus; delete v.max_memory_mib; delete v.topology; delete v.cpu_mode;
    }
    return v;
  }

  function idValues() {
    const order = [];
    for (const b of boots) if (b.input.value && !order.includes(b.input.value)) order.push(b.input.value);
    return { name: nameF.input.value.trim(), title: title.input.value, description: description.input.value,
      autostart: autostart.input.checked, boot_menu: bootMenu.input.checked, boot_order: order };
  }

  async function save(values, errors, button) {
    if (saving || !settings) return;
    const patch = settingsPatch(settings, values);
    if (Object.keys(patch).length === 0) {
      toast(t('vmset.noChange'), { kind: 'info' });
      return;
    }
    saving = true;
    button.disabled = true;
    errors.clear();
    try {
      const res = await api.updateVM(settings.name, patch);
      const applied = Object.entries(res.applied ?? {});
      const later = applied.filter(([, w]) => w === 'next_boot').map(([f]) => f);
      toast(later.length ? t('vmset.savedNextBoot', { fields: fieldNames(later) }) : t('vmset.saved'), { kind: 'success' });
      if (patch.name && res.settings?.name === patch.name) {
        // The old name's page may be gone already (the event stream said
        // the guest was removed): follow the guest to its new address.
        o.onRenamed?.(patch.name);
        return;
      }
      if (gone) return;
      fill(res.settings);
    } catch (err) {
      if (gone) return;
      if (!errors.show(err)) {
        errors.alert.replaceChildren(h('p', null, err.message));
        errors.alert.hidden = false;
      }
    } finally {
      saving = false;
      button.disabled = false;
    }
  }

  procForm.addEventListener('submit', (e) => {
    e.preventDefault();
    save(procValues(), procErrors, procSave);
  });
  idForm.addEventListener('submit', (e) => {
    e.preventDefault();
    save(idValues(), idErrors, idSave);
  });
  threads.input.addEventListener('input', renderSMT);
  mode.input.addEventListener('change', () => { model.el.hidden = mode.input.value !== 'custom'; });
  // The maximum follows the topology, so the product always matches it.
  for (const f of [sockets, cores, threads]) {
    f.input.addEventListener('input', () => {
      const p = num(sockets.input) * num(cores.input) * num(threads.input);
      if (Number.isFinite(p) && p > 0) maxVcpus.input.value = String(p);
    });
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
    /** The guest changed (its state): re-read the settings unless a save runs. */
    update(vm) {
      if (settings && vm && vm.state !== settings.state && !saving) load();
    },
    unmount() {
      gone = true;
      ctl.abort();
    },
  };
}
