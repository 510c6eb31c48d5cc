// The detail page of one guest (/guests/NAME): its fields, usage and device
// summary, and the same actions as the list. Refreshed every 3 s while
// visible. Later releases add tabs (Access, Console, Snapshots).

import { actionLabel, runAction } from '../actions.js';
import { api } from '../lib/api.js';
import { h, icon, setAttr, setText } from '../lib/dom.js';
import { formatMiB, formatNumber, formatOS, formatRate, formatTime, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { createPoller } from '../lib/poller.js';
import { DESTRUCTIVE, allowedActions, isActive, stateTone } from '../lib/vmstate.js';
import { closeMenu, isMenuOpenFor, toggleMenu, updateMenu } from '../ui/menu.js';
import { graphicsLabel, REFRESH_MS, setUsage } from './guests.js';

const yesNo = (b) => t(b ? 'common.yes' : 'common.no');

function facts(rows) {
  return h('dl', { class: 'facts' }, rows.map(([label, value, testid]) => [
    h('dt', null, label),
    h('dd', { 'data-testid': testid }, value === '' || value == null ? none() : value),
  ]));
}

function deviceTable(caption, columns, items, testid) {
  if (!items || items.length === 0) {
    return h('p', { class: 'muted', 'data-testid': testid + '-empty' }, t('guest.devices.none'));
  }
  return h('div', { class: 'table-wrap' },
    h('table', { class: 'data-table', 'data-testid': testid },
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', null, h('tr', null, columns.map(([label]) => h('th', { scope: 'col' }, label)))),
      h('tbody', null, items.map((it) => h('tr', null,
        columns.map(([label, get]) => h('td', { 'data-label': label }, get(it) || none())))))));
}

function diskSource(d) {
  if (d.pool && d.volume) return `${d.pool}/${d.volume}`;
  return d.source || (d.device === 'cdrom' ? t('guest.disk.noMedia') : '');
}

/**
 * Mount the detail page of the guest params.name.
 * @param {HTMLElement} main
 * @param {{readOnly: boolean, navigate: (path: string) => void, params: {name: string}}} ctx
 */
export function mountGuest(main, ctx) {
  const name = ctx.params.name;
  let vm = null;
  let busy = false;
  let structureKey = '';
  let lastOk = null;

  const heading = h('h1', { class: 'page-title', tabindex: '-1', 'data-testid': 'guest-name' }, name);
  const badge = h('span', { class: 'badge', 'data-testid': 'state-badge', hidden: true });
  const primary = h('button', { type: 'button', class: 'btn', 'data-testid': 'vm-primary-action', hidden: true });
  const menuButton = h('button', {
    type: 'button', class: 'btn', 'data-testid': 'vm-menu-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false', hidden: true,
  }, h('span', null, t('guest.moreActions')), icon('more'));
  const actions = h('div', { class: 'detail-actions' }, primary, menuButton);
  const refreshNote = h('span', { class: 'refresh-note' });

  const errorText = h('span', { class: 'banner-text' });
  const retry = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'retry' }, icon('refresh'), t('common.retry'));
  const errorBanner = h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'refresh-error', hidden: true },
    icon('alert', 'banner-icon'), errorText, retry);

  const usage = {
    cpu: h('dd', { class: 'usage', 'data-testid': 'usage-cpu' }),
    mem: h('dd', { class: 'usage', 'data-testid': 'usage-mem' }),
    disk: h('dd', { 'data-testid': 'usage-disk' }),
    net: h('dd', { 'data-testid': 'usage-net' }),
  };
  const usageCard = h('section', { class: 'card', 'aria-labelledby': 'card-usage' },
    h('h2', { id: 'card-usage' }, t('guest.usage')),
    h('dl', { class: 'facts' },
      h('dt', null, t('guests.col.cpu')), usage.cpu,
      h('dt', null, t('guests.col.mem')), usage.mem,
      h('dt', null, t('guests.col.disk')), usage.disk,
      h('dt', null, t('guests.col.net')), usage.net));
  const body = h('div', { class: 'cards' });
  const loading = h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('guest.loading'));

  const page = h('section', { class: 'page page-guest', 'aria-labelledby': 'guest-title' },
    h('nav', { class: 'crumbs', 'aria-label': t('nav.breadcrumb') },
      h('a', { href: '/guests', 'data-testid': 'back-to-guests' }, icon('back'), t('nav.guests'))),
    h('header', { class: 'page-head detail-head' },
      h('div', { class: 'page-heading' }, heading, badge),
      h('div', { class: 'detail-side' }, actions, refreshNote)),
    errorBanner, loading, body);
  heading.id = 'guest-title';
  main.replaceChildren(page);

  function menuItems() {
    const { more } = allowedActions(vm.state, { readOnly: ctx.readOnly });
    return more.map((a) => ({
      label: actionLabel(a),
      danger: DESTRUCTIVE.has(a),
      testid: 'vm-menu-item',
      dataset: { action: a },
      onSelect: () => act(a),
    }));
  }

  function renderActions() {
    const { primary: p, more } = allowedActions(vm.state, { readOnly: ctx.readOnly });
    if (p) {
      primary.hidden = false;
      primary.dataset.action = p;
      setText(primary, actionLabel(p));
      primary.className = 'btn' + (p === 'start' || p === 'resume' ? ' btn-primary' : '');
    } else {
      primary.hidden = true;
    }
    menuButton.hidden = more.length === 0;
    primary.disabled = busy;
    menuButton.disabled = busy;
    setAttr(page, 'aria-busy', busy ? 'true' : null);
    if (isMenuOpenFor(menuButton)) updateMenu(menuButton, menuItems());
  }

  function renderUsage() {
    const active = isActive(vm.state);
    const reported = active && vm.usage_reported !== false;
    setUsage(usage.cpu, reported ? vm.cpu_percent : null);
    setUsage(usage.mem, reported ? vm.mem_percent : null);
    setText(usage.disk, active
      ? `${t('guests.io.read', { rate: formatRate(vm.disk_read_bps) })} · ${t('guests.io.write', { rate: formatRate(vm.disk_write_bps) })}`
      : none());
    setText(usage.net, active
      ? `${t('guests.io.rx', { rate: formatRate(vm.net_rx_bps) })} · ${t('guests.io.tx', { rate: formatRate(vm.net_tx_bps) })}`
      : none());
  }

  function renderBody() {
    const d = vm.devices ?? {};
    // Everything but the usage numbers: rebuilt only when it changed.
    const key = JSON.stringify([vm.state, vm.uuid, vm.os, vm.vcpus, vm.memory_mib, vm.max_memory_mib, vm.machine, vm.os_type,
      vm.persistent, vm.autostart, vm.description, vm.graphics, d]);
    if (key === structureKey) return;
    structureKey = key;
    const mem = vm.max_memory_mib && vm.max_memory_mib !== vm.memory_mib
      ? t('guest.memoryOfMax', { memory: formatMiB(vm.memory_mib), max: formatMiB(vm.max_memory_mib) })
      : formatMiB(vm.memory_mib);
    const overview = h('section', { class: 'card', 'aria-labelledby': 'card-overview' },
      h('h2', { id: 'card-overview' }, t('guest.overview')),
      vm.description ? h('p', { class: 'description', 'data-testid': 'guest-description' }, vm.description) : null,
      facts([
        [t('guests.col.state'), t(`state.${vm.state}`), 'fact-state'],
        [t('guests.col.os'), formatOS(vm.os) + (vm.os?.arch ? ` (${vm.os.arch})` : ''), 'fact-os'],
        [t('guests.col.vcpus'), formatNumber(vm.vcpus), 'fact-vcpus'],
        [t('guests.col.memory'), mem, 'fact-memory'],
        [t('guest.uuid'), vm.uuid, 'fact-uuid'],
        [t('guest.machine'), [vm.os_type, vm.machine].filter(Boolean).join(' · '), 'fact-machine'],
        [t('guest.persistent'), yesNo(vm.persistent), 'fact-persistent'],
        [t('guest.autostart'), yesNo(vm.autostart), 'fact-autostart'],
      ]));
    const disks = h('section', { class: 'card card-wide', 'aria-labelledby': 'card-disks' },
      h('h2', { id: 'card-disks' }, icon('disk'), t('guest.disks'), h('span', { class: 'count-pill' }, formatNumber(d.disks?.length ?? 0))),
      deviceTable(t('guest.disks'), [
        [t('guest.disk.target'), (x) => x.target],
        [t('guest.disk.device'), (x) => (x.device ? t(`guest.disk.kind.${x.device}`) : '')],
        [t('guest.disk.bus'), (x) => x.bus],
        [t('guest.disk.source'), diskSource],
        [t('guest.disk.format'), (x) => x.format],
        [t('guest.disk.access'), (x) => t(x.readonly ? 'guest.disk.readonly' : 'guest.disk.readwrite')],
      ], d.disks, 'disks-table'));
    const nics = h('section', { class: 'card card-wide', 'aria-labelledby': 'card-nics' },
      h('h2', { id: 'card-nics' }, icon('network'), t('guest.nics'), h('span', { class: 'count-pill' }, formatNumber(d.nics?.length ?? 0))),
      deviceTable(t('guest.nics'), [
        [t('guest.nic.mac'), (x) => x.mac],
        [t('guest.nic.type'), (x) => x.type],
        [t('guest.nic.source'), (x) => x.source],
        [t('guest.nic.model'), (x) => x.model],
        [t('guest.nic.link'), (x) => (x.link ? t(x.link === 'down' ? 'guest.nic.down' : 'guest.nic.up') : '')],
        [t('guest.nic.address'), (x) => x.address],
      ], d.nics, 'nics-table'));
    const list = (items, testid) => (items && items.length
      ? h('ul', { class: 'plain-list', 'data-testid': testid }, items.map((g) => h('li', null, g)))
      : h('p', { class: 'muted', 'data-testid': testid + '-empty' }, t('guest.devices.none')));
    const gfx = h('section', { class: 'card', 'aria-labelledby': 'card-gfx' },
      h('h2', { id: 'card-gfx' }, t('guest.graphicsConsoles')),
      h('h3', null, t('guests.col.graphics')),
      list((d.graphics ?? []).map(graphicsLabel), 'graphics-list'),
      h('h3', null, t('guest.consoles')),
      list(d.consoles, 'consoles-list'));
    body.replaceChildren(overview, usageCard, gfx, disks, nics);
  }

  function render() {
    setText(heading, vm.name);
    badge.hidden = false;
    badge.dataset.tone = stateTone(vm.state);
    badge.dataset.state = vm.state;
    setText(badge, t(`state.${vm.state}`));
    loading.hidden = true;
    renderActions();
    renderUsage();
    renderBody();
    setText(refreshNote, lastOk ? t('guests.updatedAt', { time: formatTime(lastOk) }) : '');
  }

  function notFound() {
    poller.stop();
    closeMenu();
    page.replaceChildren(
      h('nav', { class: 'crumbs', 'aria-label': t('nav.breadcrumb') },
        h('a', { href: '/guests' }, icon('back'), t('nav.guests'))),
      h('div', { class: 'state-panel empty', 'data-testid': 'guest-not-found' },
        icon('box', 'empty-icon'),
        h('h1', { class: 'page-title', tabindex: '-1' }, t('guest.notFound.title')),
        h('p', null, t('guest.notFound.text', { name })),
        h('a', { class: 'btn btn-primary', href: '/guests' }, t('guest.notFound.back'))));
  }

  let fetchNo = 0;
  let pinned = -1;
  async function refresh(signal) {
    const no = ++fetchNo;
    try {
      const d = await api.getVM(name, signal);
      if (busy || no <= pinned) return; // an action's answer is newer
      vm = d;
      lastOk = new Date();
      errorBanner.hidden = true;
      render();
    } catch (err) {
      if (err?.name === 'AbortError') throw err;
      if (err?.status === 401) return;
      if (err?.status === 404) {
        notFound();
        return;
      }
      errorBanner.hidden = false;
      setText(errorText, vm && lastOk
        ? t('guest.refreshFailedStale', { message: err.message, time: formatTime(lastOk) })
        : t('guests.loadFailed', { message: err.message }));
      loading.hidden = true;
      throw err;
    }
  }

  function act(action) {
    runAction(name, action, {
      setBusy: (b) => {
        busy = b;
        if (vm) renderActions();
      },
      onUpdated: (updated) => {
        pinned = fetchNo;
        vm = { ...vm, ...updated };
        render();
      },
      onDeleted: () => ctx.navigate('/guests'),
    });
  }

  primary.addEventListener('click', () => {
    if (!busy && vm && primary.dataset.action) act(primary.dataset.action);
  });
  menuButton.addEventListener('click', () => {
    if (busy || !vm) return;
    toggleMenu(menuButton, menuItems(), { label: t('guest.moreActions'), testid: 'vm-menu' });
  });

  const poller = createPoller(refresh, { interval: REFRESH_MS });
  retry.addEventListener('click', () => poller.now());
  poller.start();

  return {
    title: name,
    heading,
    unmount() {
      poller.stop();
      closeMenu();
    },
  };
}
