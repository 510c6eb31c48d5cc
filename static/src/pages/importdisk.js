// "Import a disk" in the New guest dialog: a guest around a volume that
// exists (an uploaded qcow2 or raw image, or an ISO), used in place. The
// OS is chosen from the osinfo search (the server detects it for an ISO
// when none is chosen; an unknown OS gets the generic profile).

import { api, request } from '../lib/api.js';
import { h } from '../lib/dom.js';
import { t } from '../lib/i18n.js';

/** The import request's API call. */
export const importApi = {
  importVM: (body) => request('POST', '/vms/import', { body }),
  searchOS: (q, signal) => request('GET', '/os', { query: { q }, signal }),
};

/** The body of POST /vms/import from the form's values; null when incomplete. */
export function importBody(v) {
  if (!v.pool || !v.volume) return null;
  const body = { pool: v.pool, volume: v.volume, start: Boolean(v.start) };
  if (v.name) body.name = v.name;
  if (v.os) body.os = v.os;
  if (v.network) body.network = v.network;
  if (v.vcpus > 0) body.vcpus = v.vcpus;
  if (v.memory > 0) body.memory_mib = v.memory;
  return body;
}

/**
 * The import fields: pool and volume (volumes no guest uses), OS, network.
 * @param {{onChange: () => void}} o
 */
export function importFields(o) {
  const poolIn = /** @type {HTMLSelectElement} */ (h('select', { id: 'ng-imp-pool', class: 'input', 'data-testid': 'ng-imp-pool' }));
  const volIn = /** @type {HTMLSelectElement} */ (h('select', { id: 'ng-imp-volume', class: 'input', 'data-testid': 'ng-imp-volume' }));
  const osIn = /** @type {HTMLInputElement} */ (h('input', { id: 'ng-imp-os', class: 'input', type: 'search', list: 'ng-imp-os-list', autocomplete: 'off', 'data-testid': 'ng-imp-os' }));
  const osList = h('datalist', { id: 'ng-imp-os-list' });
  const netIn = /** @type {HTMLSelectElement} */ (h('select', { id: 'ng-imp-network', class: 'input', 'data-testid': 'ng-imp-network' }));
  let host = '';
  const controller = new AbortController();
  const loadVolumes = async () => {
    volIn.replaceChildren();
    if (!poolIn.value) return o.onChange();
    try {
      const got = await api.volumes(host, poolIn.value, controller.signal);
      const free = (got?.items ?? []).filter((v) => !(v.used_by?.length));
      volIn.replaceChildren(...free.map((v) => h('option', { value: v.name }, v.name)));
    } catch { /* the pool is listed empty */ }
    o.onChange();
  };
  poolIn.addEventListener('change', loadVolumes);
  volIn.addEventListener('change', () => o.onChange());
  let timer = null;
  osIn.addEventListener('input', () => {
    clearTimeout(timer);
    const q = osIn.value.trim();
    timer = setTimeout(async () => {
      try {
        const got = await importApi.searchOS(q, controller.signal);
        osList.replaceChildren(...(got?.items ?? []).map((x) => h('option', { value: x.short_id }, x.name)));
      } catch { /* no suggestions */ }
    }, 200);
  });
  const el = h('div', { 'data-testid': 'ng-import', hidden: true },
    h('div', { class: 'field' }, h('label', { for: 'ng-imp-pool' }, t('importdisk.pool')), poolIn),
    h('div', { class: 'field' }, h('label', { for: 'ng-imp-volume' }, t('importdisk.volume')), volIn),
    h('div', { class: 'field' }, h('label', { for: 'ng-imp-os' }, t('importdisk.os')), osIn, osList,
      h('p', { class: 'hint' }, t('importdisk.osHint'))),
    h('div', { class: 'field' }, h('label', { for: 'ng-imp-network' }, t('importdisk.network')), netIn));
  return {
    el,
    /** Loads the pools and networks once. */
    async load() {
      if (host) return;
      host = (await api.hosts(controller.signal))?.items?.[0]?.name ?? 'local';
      const [pools, nets] = await Promise.all([api.pools(host, controller.signal), api.networks(host, controller.signal)]);
      poolIn.replaceChildren(...(pools?.items ?? []).map((p) => h('option', { value: p.name }, p.name)));
      netIn.replaceChildren(h('option', { value: '' }, t('importdisk.noNetwork')),
        ...(nets?.items ?? []).map((n) => h('option', { value: n.name }, n.name)));
      await loadVolumes();
    },
    values: () => ({ pool: poolIn.value, volume: volIn.value, os: osIn.value.trim(), network: netIn.value }),
    close: () => controller.abort(),
  };
}
