// The ISO library on the Storage page: every .iso volume of the host's
// running pools with the operating system it holds, for those who may
// read volumes (administrators and auditors). Where the host's driver
// cannot read volumes (the demo's test driver), it says so once, plainly,
// and each ISO reads "not available on this host".

import { api } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatBytes } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { isoOS } from '../lib/storage.js';

const COLUMNS = [
  { label: 'storage.iso.name' },
  { label: 'storage.iso.pool' },
  { label: 'storage.iso.size', cls: 'c-num' },
  { label: 'storage.iso.os' },
];

/**
 * The library's card; it loads itself.
 * @param {string} host
 * @param {AbortSignal} signal
 * @returns {HTMLElement}
 */
export function isoLibrary(host, signal) {
  const summary = h('span', { class: 'muted', 'data-testid': 'isos-summary' });
  const state = h('div', { class: 'state-panel', role: 'status', 'data-testid': 'isos-state' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('storage.iso.loading'));
  const notice = h('p', { class: 'banner banner-info', role: 'status', 'data-testid': 'isos-unavailable', hidden: true },
    icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('storage.iso.unavailable')));
  const body = h('tbody');
  const table = h('table', { class: 'iso-table', 'data-testid': 'iso-table', hidden: true },
    h('caption', { class: 'visually-hidden' }, t('storage.iso.title')),
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col', class: c.cls ?? null }, t(c.label))))),
    body);
  const card = h('section', { class: 'card card-wide isos-card', 'aria-labelledby': 'isos-title', 'data-testid': 'isos-card' },
    h('div', { class: 'card-head' }, h('h2', { id: 'isos-title' }, icon('disk'), t('storage.iso.title')), summary),
    notice, state, h('div', { class: 'iso-wrap' }, table));

  function row(iso) {
    const shown = isoOS(iso);
    const os = shown.name
      ? h('span', { 'data-testid': 'iso-os' }, shown.name)
      : h('span', { class: 'muted', 'data-testid': 'iso-os', title: shown.hint ? t(shown.hint) : null }, t(shown.key));
    return h('tr', { 'data-testid': 'iso-row', dataset: { name: iso.name, pool: iso.pool, status: iso.status } },
      h('td', { class: 'volume-name', title: iso.volume_id || iso.name }, iso.name),
      h('td', {}, iso.pool),
      h('td', { class: 'c-num' }, formatBytes(iso.capacity)),
      h('td', {}, os));
  }

  async function load() {
    try {
      const got = await api.isos(host, signal);
      const items = got?.items ?? [];
      notice.hidden = !got?.unavailable;
      setText(summary, t('storage.iso.summary', { count: items.length }));
      if (!items.length) {
        state.replaceChildren(t('storage.iso.empty'));
        return;
      }
      state.hidden = true;
      table.hidden = false;
      body.replaceChildren(...items.map(row));
    } catch (err) {
      if (err?.name === 'AbortError' || err?.status === 401) return;
      const retry = h('button', { type: 'button', class: 'btn btn-sm', onclick: () => { state.replaceChildren(t('storage.iso.loading')); load(); } },
        icon('refresh'), t('common.retry'));
      state.hidden = false;
      state.replaceChildren(h('div', { class: 'banner banner-error', role: 'alert' }, icon('alert', 'banner-icon'),
        h('span', { class: 'banner-text' }, t('storage.iso.loadFailed', { message: err?.message ?? '' })), retry));
    }
  }
  load();
  return card;
}
