// The host page: what GET /api/v1/hosts/{host} says about a hypervisor.
// /host and /hosts show the first host; with several, a switcher lists
// them with their state.

import { api } from '../lib/api.js';
import { h, icon } from '../lib/dom.js';
import { formatMiB, formatNumber, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { hostPath } from '../lib/router.js';

/**
 * @param {HTMLElement} main
 * @param {{params?: {name?: string}, replaceURL?: (url: string) => void}} [ctx]
 */
export function mountHost(main, ctx = {}) {
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: 'host-title' }, t('host.title'));
  const body = h('div', { class: 'cards' },
    h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('host.loading')));
  main.replaceChildren(h('section', { class: 'page page-host', 'aria-labelledby': 'host-title' },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading)), body));

  const controller = new AbortController();
  async function load() {
    try {
      const { items = [] } = await api.hosts(controller.signal);
      let name = ctx.params?.name;
      if (!name) {
        name = items[0]?.name;
        if (name) ctx.replaceURL?.(hostPath(name) + location.search + location.hash);
      }
      const host = await api.host(name ?? '', controller.signal);
      const rows = [
        [t('host.hostname'), host.hostname, 'host-hostname'],
        [t('host.uri'), host.uri, 'host-uri'],
        [t('host.driver'), host.driver, 'host-driver'],
        [t('host.libvirt'), host.libvirt_version, 'host-libvirt'],
        [t('host.cpus'), formatNumber(host.cpus), 'host-cpus'],
        [t('host.memory'), formatMiB(host.memory_mib), 'host-memory'],
        [t('host.guests'), t('host.guestsValue', { running: host.vms_running, count: host.vms_total }), 'host-guests'],
        [t('host.mode'), t(host.demo ? 'host.modeDemo' : 'host.modeNormal'), 'host-mode'],
      ];
      const switcher = items.length > 1
        ? h('nav', { class: 'host-switcher', 'aria-label': t('host.switcher'), 'data-testid': 'host-switcher' },
          h('ul', null, items.map((it) => h('li', null,
            h('a', { href: hostPath(it.name), 'aria-current': it.name === host.name ? 'page' : null, 'data-state': it.state },
              it.name, ' ', h('span', { class: 'muted' }, it.state === 'connected' ? t('host.state.connected') : t('host.state.unreachable')))))))
        : null;
      body.replaceChildren(...[switcher].filter(Boolean), h('section', { class: 'card', 'aria-labelledby': 'card-host' },
        h('h2', { id: 'card-host' }, icon('server'), host.hostname || t('host.title'),
          host.demo ? h('span', { class: 'tag tag-info' }, t('shell.demo')) : null),
        host.demo ? h('p', { class: 'muted' }, t('host.demoText')) : null,
        h('dl', { class: 'facts' }, rows.map(([k, v, id]) => [h('dt', null, k), h('dd', { 'data-testid': id }, v === '' || v == null ? none() : String(v))]))));
    } catch (err) {
      if (err?.name === 'AbortError' || err?.status === 401) return;
      const retry = h('button', { type: 'button', class: 'btn btn-sm', onclick: () => load() }, icon('refresh'), t('common.retry'));
      body.replaceChildren(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'host-error' },
        icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('host.loadFailed', { message: err.message })), retry));
    }
  }
  load();
  return { title: t('host.title'), heading, unmount: () => controller.abort() };
}
