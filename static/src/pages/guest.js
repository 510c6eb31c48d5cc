// The detail page of one guest (/guests/NAME): the same actions as the list
// (those the guest's allowed_actions allow) above tabs: Overview (fields, usage and
// device summary, refreshed every 3 s while visible), Console (the guest's
// display or serial port, for roles that allow it) and Access (who may use
// the guest; administrators and auditors). The tab is in the URL
// (?tab=console), so deep links work. A later release adds Snapshots.

import { actionLabel, runAction } from '../actions.js';
import { api } from '../lib/api.js';
import { consoleOffered } from '../lib/console.js';
import { h, icon, setAttr, setText } from '../lib/dom.js';
import { formatMiB, formatNumber, formatOS, formatRate, formatTime, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { events } from '../lib/events.js';
import { createPoller } from '../lib/poller.js';
import { DESTRUCTIVE, can, isActive, stateTone, vmActions } from '../lib/vmstate.js';
import { closeMenu, isMenuOpenFor, toggleMenu, updateMenu } from '../ui/menu.js';
import { createTabs } from '../ui/tabs.js';
import { mountAccess } from './access.js';
import { mountConsole } from './console.js';
import { mountGuestCPU } from './guestcpu.js';
import { mountGuestDisks } from './guestdisks.js';
import { DEVICE_SECTIONS, mountGuestDevices } from './guestdevices.js';
import { mountGuestNICs } from './guestnics.js';
import { mountGuestSnapshots } from './guestsnapshots.js';
import { hostDevicesSection } from './guesthostdevs.js';
import { graphicsLabel, setUsage } from './guestrow.js';
import { helpButton } from '../ui/help.js';

/** The overview's refresh (usage figures; states also come from the event stream). */
export const REFRESH_MS = 3000;

/**
 * The tabs of the guest page, in display order, and the permission in the
 * guest's allowed_actions each needs (known once the guest is loaded).
 */
export const GUEST_TABS = Object.freeze([
  { id: 'overview', permission: null },
  { id: 'cpu', permission: 'vm.read' }, // guestcpu.js
  { id: 'disks', permission: 'vm.read' }, // guestdisks.js
  { id: 'network', permission: 'vm.read' }, // guestnics.js
  { id: 'snapshots', permission: 'vm.read' }, // guestsnapshots.js
  { id: 'devices', permission: 'vm.read' }, // guestdevices.js, guesthostdevs.js
  { id: 'access', permission: 'access.read' },
  { id: 'console', permission: 'vm.console' },
]);

/** Every tab id, in display order. */
const ALL_TABS = GUEST_TABS.map((tab) => tab.id);

/**
 * The tabs this guest offers the caller (its allowed_actions decide).
 * @param {{allowed_actions?: string[]}|null} vm
 */
export function guestTabs(vm) {
  return GUEST_TABS.filter((tab) => !tab.permission || can(vm, tab.permission)).map((tab) => tab.id);
}

/**
 * The tab a URL asks for, if the caller has it; the first one otherwise.
 * @param {string} search location.search
 * @param {string[]} tabs
 */
export function tabFromSearch(search, tabs) {
  const want = new URLSearchParams(search).get('tab');
  return tabs.includes(want) ? want : tabs[0];
}

/**
 * The query string for a tab, keeping other parameters (the first tab is the default: no parameter).
 * @param {string} search
 * @param {string} tab
 * @param {string[]} tabs
 */
export function searchForTab(search, tab, tabs) {
  const p = new URLSearchParams(search);
  if (tab === tabs[0]) p.delete('tab');
  else p.set('tab', tab);
  const s = p.toString();
  return s ? '?' + s : '';
}

/** Per-guest roles shown next to the state, for callers whose grants decide. */
const GRANT_ROLE_TAG = new Set(['viewer', 'operator', 'manager']);

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
 * @param {{navigate: (path: string) => void, replaceURL: (url: string) => void, params: {name: string}}} ctx
 */
export function mountGuest(main, ctx) {
  const name = ctx.params.name;
  const tabs = ALL_TABS;
  let tab = tabFromSearch(location.search, tabs);
  /** @type {ReturnType<typeof mountAccess>|null} */
  let access = null;
  /** @type {ReturnType<typeof mountConsole>|null} */
  let consoleView = null;
  let consoleFocus = false;
  /** Tabs in modules of their own (issue 11): id → mount(panel, {name, vm}), and the mounted views. */
  const MODULE_TABS = {
    cpu: (panel, o) => mountGuestCPU(panel, {
      name, canEdit: can(o.vm, 'vm.edit'), onRenamed: (n) => ctx.navigate(`/guests/${encodeURIComponent(n)}?tab=cpu`),
    }),
    disks: (panel, o) => {
      const view = mountGuestDisks(panel, { name });
      view.update(o.vm);
      return view;
    },
    network: mountGuestNICs,
    snapshots: mountGuestSnapshots,
    devices: (panel, o) => mountGuestDevices(panel, {
      name, canEdit: can(o.vm, 'vm.edit'), isAdmin: o.vm?.my_role === 'admin', sections: [...DEVICE_SECTIONS, hostDevices],
    }),
  };
  /** The host devices section of the Devices tab (admins), on the guest as the page has it. */
  const hostDevices = {
    id: 'hostdevs',
    mount(el) {
      const view = hostDevicesSection(el, { name, vm });
      return { update: () => view.update(vm), unmount: () => view.unmount() };
    },
  };
  /** @type {Map<string, {update: (vm: any) => void, unmount: () => void}>} */
  const moduleViews = new Map();
  /** Tabs hidden for this guest (those its allowed_actions do not allow). */
  const hiddenTabs = new Set(ALL_TABS.filter((id) => id !== 'overview')); // until the guest's answer says
  let vm = null;
  let busy = false;
  let structureKey = '';
  let lastOk = null;
  let torn = false;

  const heading = h('h1', { class: 'page-title', tabindex: '-1', 'data-testid': 'guest-name' }, name);
  const badge = h('span', { class: 'badge', 'data-testid': 'state-badge', hidden: true });
  const roleTag = h('span', { class: 'tag tag-role', 'data-testid': 'my-role', hidden: true });
  const primary = h('button', { type: 'button', class: 'btn', 'data-testid': 'vm-primary-action', hidden: true });
  const menuButton = h('button', {
    type: 'button', class: 'btn', 'data-testid': 'vm-menu-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false', hidden: true,
  }, h('span', null, t('guest.moreActions')), icon('more'));
  const consoleButton = h('button', { type: 'button', class: 'btn', 'data-testid': 'vm-console-button', hidden: true },
    icon('screen'), h('span', null, t('console.open')));
  // The help of what the page shows: the console's, the access list's, or guests'.
  const help = helpButton(() => (tab === 'console' || tab === 'access' ? tab : 'guests'));
  const actions = h('div', { class: 'detail-actions' }, help, consoleButton, primary, menuButton);
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

  // Tabs (ui/tabs.js; links, so that each tab has an address).
  const tabView = createTabs({
    tabs: tabs.map((id) => ({ id, label: t(`guest.tab.${id}`) })),
    selected: tab,
    label: t('guest.tabs'),
    testid: 'guest-tabs',
    href: (id) => location.pathname + searchForTab(location.search, id, tabs),
    // Leaving the Access tab with unsaved edits asks first.
    beforeSelect: (from) => (access && from === 'access' ? access.confirmLeave() : true),
    onSelect: (id) => {
      showTab(id);
      ctx.replaceURL(location.pathname + searchForTab(location.search, id, tabs) + location.hash);
    },
  });
  // Hidden until the guest's answer says its allowed_actions allow them.
  for (const id of hiddenTabs) tabView.setHidden(id, true);
  const panels = { get: (id) => tabView.panel(id) };
  panels.get('overview').append(loading, body);
  // Statistics charts (issue 12): guestcharts.js, loaded with the Overview.
  const chartSlot = h('div', { class: 'cards guest-charts' });
  panels.get('overview').append(chartSlot);
  let charts = null;
  let chartsWanted = false;
  /** The charts poll while the Overview shows, not behind another tab. */
  function showCharts(on) {
    chartsWanted = on;
    if (on && !charts) {
      import('./guestcharts.js').then((m) => {
        if (!torn && chartsWanted && !charts) charts = m.mountGuestCharts(chartSlot, name);
      });
    } else if (!on && charts) {
      charts.unmount();
      charts = null;
      chartSlot.replaceChildren();
    }
  }

  const page = h('section', { class: 'page page-guest', 'aria-labelledby': 'guest-title' },
    h('nav', { class: 'crumbs', 'aria-label': t('nav.breadcrumb') },
      h('a', { href: '/guests', 'data-testid': 'back-to-guests' }, icon('back'), t('nav.guests'))),
    h('header', { class: 'page-head detail-head' },
      h('div', { class: 'page-heading' }, heading, badge, roleTag),
      h('div', { class: 'detail-side' }, actions, refreshNote)),
    errorBanner, tabView.tablist, tabView.panels());
  heading.id = 'guest-title';
  main.replaceChildren(page);

  function menuItems() {
    const { more } = vmActions(vm);
    return more.map((a) => ({
      label: actionLabel(a),
      danger: DESTRUCTIVE.has(a),
      testid: 'vm-menu-item',
      dataset: { action: a },
      onSelect: () => act(a),
    }));
  }

  function renderActions() {
    const { primary: p, more } = vmActions(vm);
    if (p) {
      primary.hidden = false;
      primary.dataset.action = p;
      setText(primary, actionLabel(p));
      primary.className = 'btn' + (p === 'start' || p === 'resume' ? ' btn-primary' : '');
    } else {
      primary.hidden = true;
    }
    menuButton.hidden = more.length === 0;
    consoleButton.hidden = tab === 'console' || !consoleOffered(vm);
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
      list((d.consoles ?? []).map((k) => (k === 'serial' ? t('console.view.serial') : graphicsLabel(k))), 'consoles-list'));
    body.replaceChildren(overview, usageCard, gfx, disks, nics);
  }

  function render() {
    setText(heading, vm.name);
    badge.hidden = false;
    badge.dataset.tone = stateTone(vm.state);
    badge.dataset.state = vm.state;
    setText(badge, t(`state.${vm.state}`));
    const role = vm.my_role;
    roleTag.hidden = !GRANT_ROLE_TAG.has(role);
    if (!roleTag.hidden) {
      roleTag.dataset.role = role;
      setText(roleTag, t('guest.yourRole', { role: t(`access.role.${role}`) }));
      roleTag.title = t(`access.roleHelp.${role}`);
    }
    loading.hidden = true;
    renderTabs();
    renderActions();
    renderUsage();
    renderBody();
    consoleView?.update(vm);
    for (const view of moduleViews.values()) view.update(vm);
    if (MODULE_TABS[tab] && !moduleViews.has(tab)) showTab(tab);
    setText(refreshNote, lastOk ? t('guests.updatedAt', { time: formatTime(lastOk) }) : '');
  }

  /** @type {Array<() => void>} unsubscribers of the event stream */
  let offEvents = [];

  // teardown stops polling and unmounts the tabs' views.
  function teardown() {
    torn = true;
    charts?.unmount();
    poller.stop();
    for (const off of offEvents) off();
    closeMenu();
    access?.unmount();
    access = null;
    consoleView?.unmount();
    consoleView = null;
    for (const view of moduleViews.values()) view.unmount();
    moduleViews.clear();
  }

  function notFound() {
    teardown();
    page.replaceChildren(
      h('nav', { class: 'crumbs', 'aria-label': t('nav.breadcrumb') },
        h('a', { href: '/guests' }, icon('back'), t('nav.guests'))),
      h('div', { class: 'state-panel empty', 'data-testid': 'guest-not-found' },
        icon('box', 'empty-icon'),
        h('h1', { class: 'page-title', tabindex: '-1' }, t('guest.notFound.title')),
        h('p', null, t('guest.notFound.text', { name })),
        h('a', { class: 'btn btn-primary', href: '/guests' }, t('guest.notFound.back'))));
  }

  /**
   * The guest is gone from the caller's sight (removed, or access revoked)
   * while its console is open: the console says why it closed, the header
   * offers nothing more, and the page stops asking.
   */
  function lostSight() {
    if (tab !== 'console' || !consoleView) {
      notFound();
      return;
    }
    poller.stop();
    if (vm) {
      vm = { ...vm, my_role: '', allowed_actions: [] };
      consoleView.update(vm); // first: it closes and keeps its tab with the reason
      render();
    }
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
        lostSight();
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

  // ---- tabs
  /** The Console and Access tabs need the guest's allowed_actions to allow them. */
  function renderTabs() {
    const allowed = guestTabs(vm);
    for (const id of tabs) {
      if (allowed.includes(id)) hiddenTabs.delete(id);
      else hiddenTabs.add(id);
      // Shown while selected (ui/tabs.js): a console that just lost its access says so there.
      tabView.setHidden(id, hiddenTabs.has(id));
    }
    if (tab === 'console' && hiddenTabs.has('console') && !consoleView?.hasNews()) {
      selectTab(tabs[0]);
    } else if (tab === 'access' && hiddenTabs.has('access')) {
      selectTab(tabs[0]);
    } else if (tab === 'access' && !access) {
      showTab('access');
    }
  }

  /** Mount the selected tab's view, unmount the others'. */
  function showTab(id) {
    tab = id;
    showCharts(id === 'overview');
    if (id === 'console' && !consoleView) {
      consoleView = mountConsole(panels.get('console'), { name, focus: consoleFocus });
      consoleFocus = false;
      if (vm) consoleView.update(vm);
    } else if (id !== 'console' && consoleView) {
      consoleView.unmount();
      consoleView = null;
      panels.get('console').replaceChildren();
    }
    if (vm) renderActions();
    for (const [other, view] of moduleViews) {
      if (other === id) continue;
      view.unmount();
      moduleViews.delete(other);
      panels.get(other).replaceChildren();
    }
    if (MODULE_TABS[id] && !moduleViews.has(id) && vm) moduleViews.set(id, MODULE_TABS[id](panels.get(id), { name, vm }));
    if (id === 'access' && !access && vm && !hiddenTabs.has('access')) {
      // Mounted once the guest says the caller may read its grants.
      access = mountAccess(panels.get('access'), { name, canEdit: can(vm, 'access.write') });
    } else if (id !== 'access' && access) {
      access.unmount();
      access = null;
      panels.get('access').replaceChildren();
    }
  }

  /** Switch tabs (asking first when the Access tab has unsaved edits), and say so in the URL. */
  function selectTab(id, { focus = false } = {}) {
    return tabView.select(id, { focus });
  }

  showTab(tab);
  // An unknown or forbidden ?tab= is dropped from the address.
  if (location.search !== searchForTab(location.search, tab, tabs)) {
    history.replaceState(history.state, '', location.pathname + searchForTab(location.search, tab, tabs) + location.hash);
  }

  consoleButton.addEventListener('click', () => {
    if (tab === 'console') {
      consoleView?.focusScreen();
      return;
    }
    consoleFocus = true;
    selectTab('console');
  });

  const poller = createPoller(refresh, { interval: REFRESH_MS });
  retry.addEventListener('click', () => poller.now());
  poller.start();

  // The event stream: a new state (with the guest) at once; changed grants
  // (allowed_actions may change) and a reset ask the server again.
  offEvents = [
    events().on('guest', (e) => {
      if (e.name !== name || (e.host && vm?.host && e.host !== vm.host)) return;
      if (e.type === 'removed') {
        // An open console says why it closed ("access revoked") instead of vanishing with the page.
        lostSight();
      } else if (e.type === 'state' && e.vm && vm && !busy) {
        vm = { ...vm, ...e.vm };
        render();
      } else poller.now();
    }),
    events().on('reset', () => poller.now()),
  ];

  return {
    title: name,
    heading,
    isDirty: () => access?.isDirty() ?? false,
    confirmLeave: () => (access ? access.confirmLeave() : Promise.resolve(true)),
    unmount: teardown,
  };
}
