// The Templates page (/templates, issue 10): the host's templates with
// their OS, sizes and source; a template whose pool, network or volume is
// gone is marked with the reasons. Administrators create and edit them
// (the OS detected from the chosen ISO or image, or searched, and its
// defaults filled in), copy and delete them.

import { api } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatBytes, formatMiB, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { applyDefaults, DISK_BUSES, formOf, GRAPHICS, NIC_MODELS, SOURCE_KINDS, templateBody, templatesApi, topologies } from '../lib/templates.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import { helpButton } from '../ui/help.js';

const GFX = { vnc: 'templates.graphics.vnc', spice: 'templates.graphics.spice', none: 'templates.graphics.none' };
const SOURCE = { none: 'templates.source.none', iso: 'templates.source.iso', cloud_image: 'templates.source.cloud_image', disk: 'templates.source.disk' };

/**
 * @param {HTMLElement} main
 */
export function mountTemplates(main) {
  const controller = new AbortController();
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: 'templates-title' }, t('templates.title'));
  const summary = h('p', { class: 'page-summary', 'data-testid': 'templates-summary' });
  const errorBox = h('div', { hidden: true });
  const createBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'template-create', hidden: true },
    icon('plus'), t('templates.create'));
  const list = h('div', { class: 'net-grid', role: 'list', 'data-testid': 'template-list' },
    h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('templates.loading')));
  main.replaceChildren(h('section', { class: 'page page-templates', 'aria-labelledby': 'templates-title' },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading, summary), helpButton('templates'), createBtn),
    errorBox, list));

  let host = '';
  let items = [];
  let actions = [];
  const may = (a) => actions.includes(a);

  function showError(err) {
    if (err?.name === 'AbortError' || err?.status === 401) return;
    if (err?.status === 403) {
      // Those who may not create guests see no templates: said plainly.
      list.replaceChildren(h('div', { class: 'state-panel empty', 'data-testid': 'templates-forbidden' }, icon('template', 'empty-icon'), t('templates.forbidden')));
      setText(summary, '');
      return;
    }
    errorBox.hidden = false;
    errorBox.replaceChildren(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'templates-error' },
      icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('templates.loadFailed', { message: err?.message ?? '' })),
      h('button', { type: 'button', class: 'btn btn-sm', onclick: load }, icon('refresh'), t('common.retry'))));
  }

  const fact = (label, value, testid) => h('div', { class: 'net-fact' }, h('dt', null, label), h('dd', { 'data-testid': testid }, value || none()));

  function card(tp) {
    const problems = tp.problems ?? [];
    const src = tp.source ?? { kind: 'none' };
    const el = h('article', { class: 'net-card', role: 'listitem', 'data-testid': 'template-card', dataset: { name: tp.name, id: tp.id } },
      h('h2', { class: 'net-name' }, icon('template'), tp.name),
      h('div', { class: 'pool-tags' },
        h('span', { class: 'tag', 'data-testid': 'template-source' }, t(SOURCE[src.kind] ?? SOURCE.none)),
        h('span', { class: 'tag' }, tp.firmware === 'uefi' ? t(tp.secure_boot ? 'templates.uefiSecure' : 'templates.uefi') : t('templates.bios')),
        problems.length ? h('span', { class: 'tag tag-warn', 'data-testid': 'template-invalid' }, t('templates.invalid')) : null),
      tp.description ? h('p', { class: 'hint' }, tp.description) : null,
      h('dl', { class: 'net-facts' },
        fact(t('templates.os'), tp.os?.name || tp.os?.short_id, 'template-os'),
        fact(t('templates.cpu'), t('templates.cpuValue', { vcpus: tp.vcpus, max: tp.max_vcpus }), 'template-cpu'),
        fact(t('templates.memory'), formatMiB(tp.memory_mib), 'template-memory'),
        fact(t('templates.disks'), (tp.disks ?? []).map((d) => `${formatBytes(d.size)} · ${d.pool}`).join(', '), 'template-disks'),
        fact(t('templates.nics'), (tp.nics ?? []).map((n) => n.network).join(', '), 'template-nics'),
        src.kind !== 'none' ? fact(t('templates.image'), `${src.pool}/${src.volume}`, 'template-image') : null));
    if (problems.length) {
      el.append(h('ul', { class: 'banner banner-error', role: 'note', 'data-testid': 'template-problems' },
        ...problems.map((p) => h('li', { dataset: { field: p.field, code: p.code } }, t('templates.problem', { field: p.field, message: p.message })))));
    }
    if (may('template.manage')) {
      el.append(h('div', { class: 'net-actions' },
        h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'template-edit', 'aria-label': t('templates.editFor', { name: tp.name }), onclick: () => openEditor(tp) },
          t('templates.edit')),
        h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'template-copy', 'aria-label': t('templates.copyFor', { name: tp.name }), onclick: (e) => copy(tp, e.currentTarget) },
          icon('clipboard'), t('templates.copy')),
        h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'template-delete', 'aria-label': t('templates.deleteFor', { name: tp.name }), onclick: (e) => remove(tp, e.currentTarget) },
          icon('trash'), t('templates.delete'))));
    }
    return el;
  }

  function render() {
    setText(summary, t('templates.summary', { count: items.length }));
    createBtn.hidden = !may('template.manage');
    list.replaceChildren(...(items.length ? items.map(card)
      : [h('div', { class: 'state-panel empty', 'data-testid': 'templates-empty' }, icon('template', 'empty-icon'), t('templates.empty'))]));
  }

  async function load() {
    try {
      if (!host) host = (await api.hosts(controller.signal))?.items?.[0]?.name ?? 'local';
      const got = await templatesApi.list(controller.signal);
      items = got?.items ?? [];
      actions = got?.allowed_actions ?? [];
      errorBox.hidden = true;
      render();
    } catch (err) {
      showError(err);
    }
  }

  async function copy(tp, btn) {
    btn.disabled = true;
    try {
      const c = await templatesApi.copy(tp.id);
      toast(t('templates.copied', { name: c.name }));
    } catch (err) {
      if (err?.status !== 401) toast(err?.message || t('error.unknown'), { kind: 'error', title: t('templates.failed', { name: tp.name }) });
    }
    load();
  }

  async function remove(tp, btn) {
    const r = await confirmDialog({
      title: t('templates.deleteTitle', { name: tp.name }), body: t('templates.deleteBody'),
      confirmLabel: t('templates.delete'), danger: true, testid: 'template-delete-dialog',
    });
    if (!r.confirmed) return;
    btn.disabled = true;
    try {
      await templatesApi.remove(tp.id);
      toast(t('templates.deleted', { name: tp.name }));
    } catch (err) {
      if (err?.status !== 401) toast(err?.message || t('error.unknown'), { kind: 'error', title: t('templates.failed', { name: tp.name }) });
    }
    load();
  }

  // ---- create and edit
  async function openEditor(old) {
    const [p, n] = await Promise.allSettled([api.pools(host, controller.signal), api.networks(host, controller.signal)]);
    const pools = p.status === 'fulfilled' ? (p.value?.items ?? []) : [];
    const nets = n.status === 'fulfilled' ? (n.value?.items ?? []) : [];
    // Every volume of every running pool, for the source.
    const vols = [];
    await Promise.all(pools.filter((x) => x.state === 'running').map(async (pl) => {
      try {
        for (const v of (await api.volumes(host, pl.name, controller.signal))?.items ?? []) vols.push({ pool: pl.name, name: v.name });
      } catch { /* a pool that cannot list its volumes offers none */ }
    }));
    vols.sort((a, b) => (a.pool + '/' + a.name).localeCompare(b.pool + '/' + b.name));
    let f = old ? formOf(old) : { ...formOf({}), diskPool: pools[0]?.name ?? '', network: nets[0]?.name ?? '', diskGiB: 20, vcpus: 1, maxVCPUs: 1, memoryMiB: 1024 };
    let limits = { max_vcpus: 64, threads_per_core: 1, uefi: false, secure_boot: false };
    try {
      limits = (await templatesApi.defaults(host, f.os?.short_id || f.os?.id || '', controller.signal))?.host ?? limits;
    } catch { /* the form still works; the server checks */ }

    const input = (id, attrs = {}) => h('input', { id, class: 'input', 'data-testid': id, autocomplete: 'off', spellcheck: 'false', ...attrs });
    const select = (id, values, label) => h('select', { id, class: 'input', 'data-testid': id }, values.map((v) => h('option', { value: v }, label ? label(v) : v)));
    const field = (id, label, el, hint) => h('div', { class: 'field' }, h('label', { for: id }, label), el, hint ? h('p', { class: 'hint' }, hint) : null);

    const nameIn = input('tpl-name', { value: f.name, maxlength: '64' });
    const descIn = input('tpl-description', { value: f.description, maxlength: '1000' });
    const kindIn = select('tpl-source-kind', SOURCE_KINDS, (k) => t(SOURCE[k]));
    const volIn = h('select', { id: 'tpl-source-volume', class: 'input', 'data-testid': 'tpl-source-volume' },
      h('option', { value: '' }, t('templates.form.pickVolume')), vols.map((v) => h('option', { value: `${v.pool}/${v.name}` }, `${v.pool}/${v.name}`)));
    const linkedIn = h('input', { id: 'tpl-linked', type: 'checkbox', 'data-testid': 'tpl-linked' });
    const detected = h('p', { class: 'hint', 'data-testid': 'tpl-detected', role: 'status' });
    const osIn = input('tpl-os', { list: 'tpl-os-list', value: f.os?.short_id ?? '', placeholder: t('templates.form.osSearch') });
    const osList = h('datalist', { id: 'tpl-os-list' });
    const osName = h('p', { class: 'hint', 'data-testid': 'tpl-os-name' });
    const vcpuIn = input('tpl-vcpus', { type: 'number', min: '1', inputmode: 'numeric' });
    const maxVcpuIn = input('tpl-max-vcpus', { type: 'number', min: '1', inputmode: 'numeric' });
    const topoIn = h('select', { id: 'tpl-topology', class: 'input', 'data-testid': 'tpl-topology' });
    const memIn = input('tpl-memory', { type: 'number', min: '16', inputmode: 'numeric' });
    const maxMemIn = input('tpl-max-memory', { type: 'number', min: '16', inputmode: 'numeric' });
    const fwIn = h('select', { id: 'tpl-firmware', class: 'input', 'data-testid': 'tpl-firmware' },
      h('option', { value: 'bios' }, t('templates.bios')), h('option', { value: 'uefi', disabled: !limits.uefi }, t('templates.uefi')));
    const sbIn = h('input', { id: 'tpl-secure-boot', type: 'checkbox', 'data-testid': 'tpl-secure-boot' });
    const poolIn = select('tpl-disk-pool', pools.map((x) => x.name));
    const sizeIn = input('tpl-disk-size', { type: 'number', min: '1', inputmode: 'numeric' });
    const busIn = select('tpl-disk-bus', DISK_BUSES);
    const netIn = select('tpl-network', nets.map((x) => x.name));
    const modelIn = select('tpl-nic-model', NIC_MODELS);
    const gfxIn = select('tpl-graphics', GRAPHICS, (g) => t(GFX[g]));
    const listenIn = input('tpl-listen', { placeholder: '127.0.0.1' });
    const ciUser = input('tpl-ci-user');
    const ciKeys = h('textarea', { id: 'tpl-ci-keys', class: 'input', rows: '3', 'data-testid': 'tpl-ci-keys', spellcheck: 'false' });
    const ciHash = input('tpl-ci-hash');
    const ciHost = input('tpl-ci-hostname', { placeholder: '{name}' });
    const ciData = h('textarea', { id: 'tpl-ci-userdata', class: 'input', rows: '3', 'data-testid': 'tpl-ci-userdata', spellcheck: 'false', placeholder: '#cloud-config' });
    const ciBox = h('fieldset', { class: 'field', 'data-testid': 'tpl-cloud-init' }, h('legend', null, t('templates.form.cloudInit')),
      field('tpl-ci-user', t('templates.form.ciUser'), ciUser), field('tpl-ci-keys', t('templates.form.ciKeys'), ciKeys, t('templates.form.ciKeysHint')),
      field('tpl-ci-hash', t('templates.form.ciHash'), ciHash, t('templates.form.ciHashHint')), field('tpl-ci-hostname', t('templates.form.ciHostname'), ciHost),
      field('tpl-ci-userdata', t('templates.form.ciUserData'), ciData));
    const err = h('div', { class: 'field-error', role: 'alert', 'data-testid': 'tpl-error', hidden: true });
    const volRow = h('div', { class: 'field' }, h('label', { for: 'tpl-source-volume' }, t('templates.form.volume')), volIn, detected);
    const linkedRow = h('div', { class: 'check-row' }, linkedIn, h('label', { for: 'tpl-linked' }, t('templates.form.linked')));

    // The form's values into the inputs and back.
    function show() {
      kindIn.value = f.sourceKind;
      volIn.value = f.sourcePool ? `${f.sourcePool}/${f.sourceVolume}` : '';
      linkedIn.checked = f.linked;
      osIn.value = f.os?.short_id ?? '';
      setText(osName, f.os?.name ? t('templates.form.osIs', { name: f.os.name }) : t('templates.form.osGeneric'));
      vcpuIn.value = String(f.vcpus);
      maxVcpuIn.value = String(f.maxVCPUs);
      memIn.value = String(f.memoryMiB);
      maxMemIn.value = String(f.maxMemoryMiB);
      fwIn.value = f.firmware === 'uefi' && limits.uefi ? 'uefi' : 'bios';
      sbIn.checked = f.secureBoot;
      poolIn.value = f.diskPool;
      sizeIn.value = String(f.diskGiB);
      busIn.value = f.diskBus || 'virtio';
      netIn.value = f.network;
      modelIn.value = f.nicModel || 'virtio';
      gfxIn.value = f.graphics;
      listenIn.value = f.listen;
      ciUser.value = f.ciUser;
      ciKeys.value = f.sshKeys;
      ciHash.value = f.passwordHash;
      ciHost.value = f.hostnamePattern;
      ciData.value = f.userData;
      sync();
    }
    function read() {
      const [sp, ...sv] = volIn.value.split('/');
      f = { ...f, name: nameIn.value, description: descIn.value, sourceKind: kindIn.value, sourcePool: sp ?? '', sourceVolume: sv.join('/'),
        linked: linkedIn.checked, vcpus: Number(vcpuIn.value), maxVCPUs: Number(maxVcpuIn.value), memoryMiB: Number(memIn.value),
        maxMemoryMiB: Number(maxMemIn.value), firmware: fwIn.value, secureBoot: sbIn.checked, diskPool: poolIn.value,
        diskGiB: Number(sizeIn.value), diskBus: busIn.value, network: netIn.value, nicModel: modelIn.value, graphics: gfxIn.value,
        listen: listenIn.value.trim(), ciUser: ciUser.value.trim(), sshKeys: ciKeys.value, passwordHash: ciHash.value.trim(),
        hostnamePattern: ciHost.value.trim(), userData: ciData.value };
      const topo = topoIn.value ? JSON.parse(topoIn.value) : null;
      f.topology = topo;
    }
    function sync() {
      const kind = kindIn.value;
      volRow.hidden = kind === 'none';
      linkedRow.hidden = kind === 'none' || kind === 'iso';
      ciBox.hidden = kind !== 'cloud_image';
      sbIn.disabled = fwIn.value !== 'uefi' || !limits.secure_boot;
      if (sbIn.disabled) sbIn.checked = false;
      const max = Math.max(Number(maxVcpuIn.value) || 1, Number(vcpuIn.value) || 1);
      const cur = f.topology ? JSON.stringify(f.topology) : '';
      topoIn.replaceChildren(h('option', { value: '' }, t('templates.form.topologyDefault')),
        ...topologies(max, limits.threads_per_core).map((x) => h('option', { value: JSON.stringify(x) }, t('templates.form.topologyValue', x))));
      topoIn.value = [...topoIn.options].some((o) => o.value === cur) ? cur : '';
    }
    async function fillDefaults(os) {
      try {
        const d = await templatesApi.defaults(host, os, controller.signal);
        read();
        f = applyDefaults(f, d);
        if (d.host) limits = d.host;
        if (f.maxVCPUs < f.vcpus) f.maxVCPUs = f.vcpus;
        if (f.maxMemoryMiB < f.memoryMiB) f.maxMemoryMiB = f.memoryMiB;
        f.topology = null;
        show();
      } catch (e) {
        if (e?.status !== 401 && e?.name !== 'AbortError') setText(osName, e?.message || t('error.unknown'));
      }
    }
    let searchTimer = null;
    osIn.addEventListener('input', () => {
      clearTimeout(searchTimer);
      const q = osIn.value.trim();
      searchTimer = setTimeout(async () => {
        try {
          const got = await templatesApi.searchOS(q, controller.signal);
          osList.replaceChildren(...(got?.items ?? []).map((o) => h('option', { value: o.short_id }, o.name)));
        } catch { /* no suggestions */ }
      }, 200);
    });
    osIn.addEventListener('change', () => { if (osIn.value.trim()) fillDefaults(osIn.value.trim()); });
    volIn.addEventListener('change', async () => {
      read();
      setText(detected, '');
      if (!f.sourcePool) return;
      setText(detected, t('templates.form.detecting'));
      try {
        const r = await api.volumeOS(host, f.sourcePool, f.sourceVolume, controller.signal);
        if (r?.os?.short_id) {
          setText(detected, t('templates.form.detected', { name: r.os.name }));
          await fillDefaults(r.os.short_id);
        } else {
          setText(detected, t('templates.form.notDetected'));
        }
      } catch (e) {
        if (e?.status === 401 || e?.name === 'AbortError') return;
        setText(detected, t('templates.form.notDetected'));
      }
    });
    for (const el of [kindIn, fwIn, vcpuIn, maxVcpuIn]) el.addEventListener('change', () => { read(); sync(); });
    show();

    const fail = (e) => {
      err.hidden = false;
      const details = e?.details ?? [];
      err.replaceChildren(h('p', null, e?.message || t('error.unknown')),
        details.length ? h('ul', null, ...details.map((d) => h('li', { dataset: { field: d.field } }, `${d.field}: ${d.message}`))) : null);
      return undefined;
    };
    const ref = openDialog({
      title: old ? t('templates.form.editTitle', { name: old.name }) : t('templates.form.createTitle'),
      testid: 'template-dialog', wide: true,
      acceptLabel: old ? t('templates.form.save') : t('templates.form.create'),
      content: [
        field('tpl-name', t('templates.form.name'), nameIn),
        field('tpl-description', t('templates.form.description'), descIn),
        field('tpl-source-kind', t('templates.form.source'), kindIn),
        volRow,
        linkedRow,
        h('div', { class: 'field' }, h('label', { for: 'tpl-os' }, t('templates.form.os')), osIn, osList, osName),
        h('div', { class: 'net-range' }, field('tpl-vcpus', t('templates.form.vcpus'), vcpuIn), field('tpl-max-vcpus', t('templates.form.maxVcpus'), maxVcpuIn)),
        field('tpl-topology', t('templates.form.topology'), topoIn),
        h('div', { class: 'net-range' }, field('tpl-memory', t('templates.form.memory'), memIn), field('tpl-max-memory', t('templates.form.maxMemory'), maxMemIn)),
        field('tpl-firmware', t('templates.form.firmware'), fwIn, limits.uefi ? null : t('templates.form.noUefi')),
        h('div', { class: 'check-row' }, sbIn, h('label', { for: 'tpl-secure-boot' }, t('templates.form.secureBoot'))),
        h('div', { class: 'net-range' }, field('tpl-disk-pool', t('templates.form.diskPool'), poolIn), field('tpl-disk-size', t('templates.form.diskSize'), sizeIn)),
        field('tpl-disk-bus', t('templates.form.diskBus'), busIn),
        h('div', { class: 'net-range' }, field('tpl-network', t('templates.form.network'), netIn), field('tpl-nic-model', t('templates.form.nicModel'), modelIn)),
        h('div', { class: 'net-range' }, field('tpl-graphics', t('templates.form.graphics'), gfxIn), field('tpl-listen', t('templates.form.listen'), listenIn, t('templates.form.listenHint'))),
        ciBox,
        err,
      ],
      focus: nameIn,
      onAccept: async () => {
        read();
        if (!f.name.trim()) {
          nameIn.focus();
          return fail({ message: t('templates.form.nameRequired') });
        }
        const body = templateBody(f, old);
        try {
          return await (old ? templatesApi.update(old.id, body) : templatesApi.create(body));
        } catch (e) {
          if (e?.status === 401) return null;
          return fail(e);
        }
      },
    });
    ref.result.then((tp) => {
      if (tp?.id) {
        toast(t(old ? 'templates.saved' : 'templates.created', { name: tp.name }));
        load();
      }
    });
  }
  createBtn.addEventListener('click', () => openEditor(null));

  load();
  return {
    title: t('templates.title'), heading,
    unmount: () => controller.abort(),
  };
}


