// The audit log (/audit, for administrators and auditors): who did what to
// which resource, newest first, with older events on request.

import { api } from '../lib/api.js';
import { h, icon } from '../lib/dom.js';
import { formatDateTime, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';

/** The badge tone of an audit result: "ok", "denied", "error:<code>". */
export function resultTone(result) {
  if (result === 'ok') return 'ok';
  if (result === 'denied') return 'warn';
  return 'danger';
}

/**
 * @param {HTMLElement} main
 */
export function mountAudit(main) {
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: 'audit-title' }, t('audit.title'));
  const tbody = h('tbody');
  const table = h('table', { class: 'data-table', 'data-testid': 'audit-table' },
    h('caption', { class: 'visually-hidden' }, t('audit.title')),
    h('thead', null, h('tr', null,
      ['audit.time', 'audit.actor', 'audit.action', 'audit.target', 'audit.result', 'audit.client'].map((k) => h('th', { scope: 'col' }, t(k))))),
    tbody);
  const more = h('button', { type: 'button', class: 'btn', 'data-testid': 'audit-more', hidden: true }, t('audit.more'));
  const status = h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('audit.loading'));
  const card = h('section', { class: 'card', hidden: true }, h('div', { class: 'table-wrap' }, table), h('div', { class: 'card-foot' }, more));
  main.replaceChildren(h('section', { class: 'page page-audit', 'aria-labelledby': 'audit-title' },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading,
      h('p', { class: 'page-summary' }, t('audit.summary')))),
    status, card));

  const controller = new AbortController();
  let next = '';

  function row(e) {
    const cols = [
      [t('audit.time'), formatDateTime(e.time)],
      [t('audit.actor'), e.actor || t('audit.unknownActor')],
      [t('audit.action'), e.action],
      [t('audit.target'), e.target || none()],
      [t('audit.result'), h('span', { class: 'badge', 'data-tone': resultTone(e.result), title: e.reason || null }, e.result)],
      [t('audit.client'), e.client || none()],
    ];
    return h('tr', { 'data-testid': 'audit-row' }, cols.map(([label, v]) => h('td', { 'data-label': label }, v)));
  }

  async function load() {
    more.disabled = true;
    try {
      const page = await api.audit(next, controller.signal);
      const items = Array.isArray(page?.items) ? page.items : [];
      tbody.append(...items.map(row));
      next = page?.next ?? '';
      more.hidden = !next;
      status.hidden = tbody.children.length > 0;
      card.hidden = tbody.children.length === 0;
      if (tbody.children.length === 0) {
        status.replaceChildren(icon('box', 'empty-icon'), h('p', null, t('audit.empty')));
        status.classList.add('empty');
      }
    } catch (err) {
      if (err?.name === 'AbortError' || err?.status === 401) return;
      status.hidden = false;
      status.classList.remove('empty');
      status.replaceChildren(h('div', { class: 'banner banner-error', role: 'alert' }, icon('alert', 'banner-icon'),
        h('span', { class: 'banner-text' }, t('audit.loadFailed', { message: err.message })),
        h('button', { type: 'button', class: 'btn btn-sm', onclick: () => load() }, icon('refresh'), t('common.retry'))));
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener('click', () => load());
  load();
  return { title: t('audit.title'), heading, unmount: () => controller.abort() };
}
