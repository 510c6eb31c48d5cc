// The host page: what GET /api/v1/hosts/{host} says about a hypervisor
// (its facts: CPU, memory, OS, versions, capabilities) and its statistics,
// live and over 7 days (ui/statspanel.js, with uPlot). /host and /hosts
// show the first host; with several, a switcher lists them with their state.

import { api } from '../lib/api.js';
import { h, icon } from '../lib/dom.js';
import { formatBytes, formatList, formatMiB, formatNumber, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { hostPath } from '../lib/router.js';
import { mountStatsPanel } from '../ui/statspanel.js';
import { helpButton } from '../ui/help.js';

/** @param {boolean} v */
const yesNo = (v) => t(v ? 'common.yes' : 'common.no');

/**
 * The facts issue 12 added, as rows of the facts list.
 * @param {any} host a GET /api/v1/hosts/{host} answer
 */
function factRows(host) {
  const topo = host.sockets ? t('host.topologyValue', { sockets: host.sockets, cores: host.cores_per_socket, threads: host.threads_per_core }) : '';
  return [
    [t('host.cpuModel'), [host.cpu_model, host.cpu_mhz ? t('host.mhz', { mhz: formatNumber(host.cpu_mhz) }) : ''].filter(Boolean).join(' · '), 'host-cpu-model'],
    [t('host.topology'), topo, 'host-topology'],
    [t('host.memoryTotal'), host.memory_bytes ? formatBytes(host.memory_bytes) : '', 'host-memory-bytes'],
    [t('host.os'), host.os, 'host-os'],
    [t('host.kernel'), host.kernel, 'host-kernel'],
    [t('host.qemu'), host.qemu_version, 'host-qemu'],
    [t('host.kvm'), yesNo(host.kvm), 'host-kvm'],
    [t('host.iommu'), yesNo(host.iommu), 'host-iommu'],
    [t('host.graphics'), formatList((host.graphics ?? []).map((g) => g.toUpperCase())), 'host-graphics'],
    [t('host.maxVcpus'), host.max_vcpus ? formatNumber(host.max_vcpus) : '', 'host-max-vcpus'],
    [t('host.architectures'), formatList(host.architectures ?? []), 'host-arches'],
  ];
}

/** The machine types per architecture, folded (there are dozens). */
function machineTypes(host) {
  const ms = (host.machine_types ?? []).filter((m) => m.machines.length);
  if (!ms.length) return null;
  return h('details', { class: 'machine-types', 'data-testid': 'host-machines' },
    h('summary', null, t('host.machineTypes', { count: ms.reduce((n, m) => n + m.machines.length, 0) })),
    h('dl', { class: 'facts' }, ms.map((m) => [h('dt', null, m.arch), h('dd', null, m.machines.join(', '))])));
}

/**
 * @param {HTMLElement} main
 * @param {{params?: {name?: string}, replaceURL?: (url: string) => void}} [ctx]
 */
export function mountHost(main, ctx = {}) {
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: 'host-title' }, t('host.title'));
  const body = h('div', { class: 'cards' },
    h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('host.loading')));
  main.replaceChildren(h('section', { class: 'page page-host', 'aria-labelledby': 'host-title' },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading), helpButton('host')), body));

  const controller = new AbortController();
  let stats = null;
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
        ...factRows(host),
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
        h('dl', { class: 'facts facts-host' }, rows.map(([k, v, id]) => [h('dt', null, k), h('dd', { 'data-testid': id }, v === '' || v == null ? none() : String(v))])),
        machineTypes(host)), statsSlot);
      stats?.unmount();
      stats = mountStatsPanel(statsSlot, { base: `/hosts/${encodeURIComponent(host.name)}`, kind: 'host', note: host.demo ? t('stats.demoHost') : undefined });
    } catch (err) {
      if (err?.name === 'AbortError' || err?.status === 401) return;
      const retry = h('button', { type: 'button', class: 'btn btn-sm', onclick: () => load() }, icon('refresh'), t('common.retry'));
      body.replaceChildren(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'host-error' },
        icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('host.loadFailed', { message: err.message })), retry));
    }
  }
  const statsSlot = h('div', { class: 'card-wide' });
  load();
  return { title: t('host.title'), heading, unmount: () => { controller.abort(); stats?.unmount(); } };
}
