// The Networks page (/networks): the host's virtual networks with their
// kind, state, subnet, DHCP range and the guests using each; administrators
// create NAT and isolated networks (the free subnet filled in), start, stop
// and delete them, and read their DHCP leases. Users of guests see the
// names of the networks their guests use, nothing more.

import { api } from '../lib/api.js';
import { events } from '../lib/events.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatList, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { FORM_KINDS, NETWORK_NAME_MAX, hasSubnet, interfacesFor, networkNameProblem, parseSubnet, rangeProblem } from '../lib/networks.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import { helpButton } from '../ui/help.js';

const KIND = {
  nat: 'networks.kind.nat', isolated: 'networks.kind.isolated', routed: 'networks.kind.routed',
  bridge: 'networks.kind.bridge', direct: 'networks.kind.direct', other: 'networks.kind.other',
};
const STATE = { active: 'networks.state.active', inactive: 'networks.state.inactive' };

/**
 * @param {HTMLElement} main
 */
export function mountNetworks(main) {
  const controller = new AbortController();
  const heading = h('h1', { class: 'page-title', tabindex: '-1', id: 'networks-title' }, t('networks.title'));
  const summary = h('p', { class: 'page-summary', 'data-testid': 'networks-summary' });
  const errorBox = h('div', { hidden: true });
  const createBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'network-create', hidden: true },
    icon('plus'), t('networks.create.open'));
  const list = h('div', { class: 'net-grid', role: 'list', 'data-testid': 'network-list' },
    h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('networks.loading')));
  const leasesNote = h('p', { class: 'banner banner-info', role: 'status', 'data-testid': 'leases-unsupported', hidden: true },
    icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('networks.leases.unsupported')));

  main.replaceChildren(h('section', { class: 'page page-networks', 'aria-labelledby': 'networks-title' },
    h('header', { class: 'page-head' }, h('div', { class: 'page-heading' }, heading, summary), helpButton('networks'), createBtn),
    errorBox, leasesNote, list));

  let host = '';
  let nets = [];
  let actions = [];
  const may = (a) => actions.includes(a);

  function showError(err) {
    if (err?.name === 'AbortError' || err?.status === 401) return;
    errorBox.hidden = false;
    errorBox.replaceChildren(h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'networks-error' },
      icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('networks.loadFailed', { message: err?.message ?? '' })),
      h('button', { type: 'button', class: 'btn btn-sm', onclick: load }, icon('refresh'), t('common.retry'))));
  }

  function fact(label, value, testid) {
    return h('div', { class: 'net-fact' }, h('dt', null, label), h('dd', { 'data-testid': testid }, value || none()));
  }

  function card(n) {
    const full = may('network.read');
    const users = n.used_by ?? [];
    const el = h('article', { class: 'net-card', role: 'listitem', 'data-testid': 'network-card', dataset: { name: n.name } },
      h('h2', { class: 'net-name' }, icon('network'), n.name));
    if (!full) return el;
    el.append(
      h('div', { class: 'pool-tags' },
        h('span', { class: 'tag', 'data-testid': 'network-kind' }, t(KIND[n.kind] ?? KIND.other)),
        h('span', { class: `tag ${n.state === 'active' ? 'tag-info' : 'tag-warn'}`, 'data-testid': 'network-state' }, t(STATE[n.state] ?? STATE.inactive)),
        n.autostart ? h('span', { class: 'tag tag-info' }, t('networks.autostart')) : null),
      h('dl', { class: 'net-facts' },
        fact(t('networks.subnet'), n.subnet, 'network-subnet'),
        fact(t('networks.dhcp'), n.dhcp_start ? `${n.dhcp_start} – ${n.dhcp_end}` : '', 'network-dhcp'),
        n.bridge ? fact(t('networks.bridge'), n.bridge, 'network-bridge') : null,
        n.device ? fact(t('networks.device'), n.device, 'network-device') : null,
        fact(t('networks.usedBy'), users.length ? formatList(users) : t('networks.unused'), 'network-used-by')));
    const buttons = h('div', { class: 'net-actions' });
    buttons.append(h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'network-leases', onclick: () => showLeases(n) },
      icon('list'), t('networks.leases.open')));
    if (may('network.manage')) {
      const active = n.state === 'active';
      // Stopping is refused only while running guests use the network;
      // the server names them (the list does not say which run).
      const toggle = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': active ? 'network-stop' : 'network-start' },
        t(active ? 'networks.stop' : 'networks.start'));
      toggle.addEventListener('click', () => startStop(n, active ? 'stop' : 'start', toggle));
      const del = h('button', {
        type: 'button', class: 'btn btn-sm', 'data-testid': 'network-delete', disabled: users.length > 0,
        title: users.length ? t('networks.inUse', { guests: formatList(users) }) : null,
        'aria-label': t('networks.delete.for', { name: n.name }),
      }, icon('trash'), t('networks.delete.open'));
      del.addEventListener('click', () => deleteNetwork(n, del));
      const auto = h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'network-autostart', 'aria-pressed': String(Boolean(n.autostart)) },
        t(n.autostart ? 'networks.autostartOff' : 'networks.autostartOn'));
      auto.addEventListener('click', () => setAutostart(n, auto));
      buttons.append(toggle, auto, del);
    }
    el.append(buttons);
    return el;
  }

  function render() {
    setText(summary, t('networks.summary', { count: nets.length }));
    createBtn.hidden = !may('network.manage');
    list.replaceChildren(...(nets.length ? nets.map(card)
      : [h('div', { class: 'state-panel empty', 'data-testid': 'networks-empty' }, icon('network', 'empty-icon'),
        t(may('network.read') ? 'networks.empty' : 'networks.emptyUser'))]));
  }

  async function load() {
    try {
      if (!host) host = (await api.hosts(controller.signal))?.items?.[0]?.name ?? 'local';
      const got = await api.networks(host, controller.signal);
      nets = got?.items ?? [];
      actions = got?.allowed_actions ?? [];
      errorBox.hidden = true;
      render();
    } catch (err) {
      showError(err);
    }
  }

  async function startStop(n, action, btn) {
    btn.disabled = true;
    try {
      await api.networkAction(host, n.name, action);
      toast(t(action === 'stop' ? 'networks.stopped' : 'networks.started', { name: n.name }));
    } catch (err) {
      if (err?.status !== 401) toast(err?.message || t('error.unknown'), { kind: 'error', title: t('networks.actionFailed', { name: n.name }) });
    }
    load();
  }

  async function setAutostart(n, btn) {
    btn.disabled = true;
    try {
      await api.networkAutostart(host, n.name, !n.autostart);
    } catch (err) {
      if (err?.status !== 401) toast(err?.message || t('error.unknown'), { kind: 'error', title: t('networks.actionFailed', { name: n.name }) });
    }
    load();
  }

  async function deleteNetwork(n, btn) {
    const r = await confirmDialog({
      title: t('networks.delete.title', { name: n.name }),
      body: t('networks.delete.body', { name: n.name }),
      confirmLabel: t('networks.delete.accept'),
      danger: true,
      testid: 'network-delete-dialog',
    });
    if (!r.confirmed) return;
    btn.disabled = true;
    try {
      await api.deleteNetwork(host, n.name);
      toast(t('networks.delete.done', { name: n.name }));
    } catch (err) {
      if (err?.status !== 401) toast(err?.message || t('error.unknown'), { kind: 'error', title: t('networks.delete.failed', { name: n.name }) });
    }
    load();
  }

  async function showLeases(n) {
    let body;
    try {
      const got = await api.leases(host, n.name, controller.signal);
      const items = got?.items ?? [];
      body = items.length
        ? h('table', { class: 'lease-table', 'data-testid': 'lease-table' },
          h('thead', null, h('tr', null, ...['networks.leases.ip', 'networks.leases.mac', 'networks.leases.host', 'networks.leases.guest'].map((k) => h('th', { scope: 'col' }, t(k))))),
          h('tbody', null, ...items.map((l) => h('tr', null, h('td', null, l.ip), h('td', null, l.mac), h('td', null, l.hostname || none()), h('td', null, l.guest || none())))))
        : h('p', { 'data-testid': 'leases-empty' }, t('networks.leases.empty'));
    } catch (err) {
      if (err?.status === 401 || err?.name === 'AbortError') return;
      if (err?.code === 'leases_not_supported') {
        // Said once, on the page: the driver keeps no leases at all.
        leasesNote.hidden = false;
        leasesNote.scrollIntoView?.({ block: 'nearest' });
        return;
      }
      body = h('p', { class: 'field-error', role: 'alert' }, err?.message || t('error.unknown'));
    }
    openDialog({ title: t('networks.leases.title', { name: n.name }), content: body, acceptLabel: t('networks.leases.close'), testid: 'leases-dialog', wide: true });
  }

  // ---- create
  async function openCreate() {
    let free = null;
    let ifaces = [];
    const [f, i] = await Promise.allSettled([api.freeSubnet(host, controller.signal), api.interfaces(host, controller.signal)]);
    // Either may fail: the server picks a subnet; without interfaces the
    // bridge and direct kinds have nothing to offer.
    if (f.status === 'fulfilled') free = f.value;
    if (i.status === 'fulfilled') ifaces = i.value?.items ?? [];
    const nameIn = h('input', { id: 'net-name', class: 'input', type: 'text', autocomplete: 'off', spellcheck: 'false', maxlength: String(NETWORK_NAME_MAX), 'data-testid': 'net-name' });
    const kindIn = h('select', { id: 'net-kind', class: 'input', 'data-testid': 'net-kind' },
      FORM_KINDS.map((k) => h('option', { value: k }, t(KIND[k]))));
    const subnetIn = h('input', { id: 'net-subnet', class: 'input', type: 'text', inputmode: 'decimal', spellcheck: 'false', value: free?.subnet ?? '', 'data-testid': 'net-subnet' });
    const dhcpIn = h('input', { id: 'net-dhcp', type: 'checkbox', checked: true, 'data-testid': 'net-dhcp' });
    const startIn = h('input', { id: 'net-start', class: 'input', type: 'text', inputmode: 'decimal', value: free?.dhcp_start ?? '', 'data-testid': 'net-dhcp-start' });
    const endIn = h('input', { id: 'net-end', class: 'input', type: 'text', inputmode: 'decimal', value: free?.dhcp_end ?? '', 'data-testid': 'net-dhcp-end' });
    const autoIn = h('input', { id: 'net-autostart', type: 'checkbox', checked: true, 'data-testid': 'net-autostart' });
    const ifaceIn = h('select', { id: 'net-iface', class: 'input', 'data-testid': 'net-iface' });
    const ifaceHint = h('p', { class: 'hint', 'data-testid': 'net-iface-none', hidden: true }, t('networks.create.ifaceNone'));
    const ifaceLabel = h('label', { for: 'net-iface' });
    const ifaceRow = h('div', { class: 'field', hidden: true }, ifaceLabel, ifaceIn, ifaceHint);
    const vlanIn = h('input', { id: 'net-vlan', class: 'input', type: 'text', inputmode: 'numeric', 'data-testid': 'net-vlan' });
    const vlanRow = h('div', { class: 'field', hidden: true }, h('label', { for: 'net-vlan' }, t('networks.create.vlan')), vlanIn,
      h('p', { class: 'hint' }, t('networks.create.vlanHint')));
    const rangeRow = h('div', { class: 'net-range' },
      h('div', { class: 'field' }, h('label', { for: 'net-start' }, t('networks.create.dhcpStart')), startIn),
      h('div', { class: 'field' }, h('label', { for: 'net-end' }, t('networks.create.dhcpEnd')), endIn));
    const subnetRow = h('div', { class: 'field' }, h('label', { for: 'net-subnet' }, t('networks.create.subnet')), subnetIn,
      h('p', { class: 'hint' }, t('networks.create.subnetHint')));
    const dhcpRow = h('div', { class: 'check-row' }, dhcpIn, h('label', { for: 'net-dhcp' }, t('networks.create.dhcp')));
    const sync = () => {
      const ip = hasSubnet(kindIn.value);
      subnetRow.hidden = !ip;
      dhcpRow.hidden = !ip;
      rangeRow.hidden = !ip || !dhcpIn.checked;
      ifaceRow.hidden = ip;
      vlanRow.hidden = kindIn.value !== 'bridge';
      if (!ip) {
        const choices = interfacesFor(kindIn.value, ifaces);
        setText(ifaceLabel, t(kindIn.value === 'bridge' ? 'networks.create.bridge' : 'networks.create.device'));
        ifaceIn.replaceChildren(...choices.map((x) => h('option', { value: x.name }, x.name)));
        ifaceIn.hidden = choices.length === 0;
        ifaceHint.hidden = choices.length > 0;
      }
    };
    dhcpIn.addEventListener('change', sync);
    kindIn.addEventListener('change', sync);
    const err = h('p', { class: 'field-error', role: 'alert', 'data-testid': 'net-error', hidden: true });
    const fail = (msg, input) => {
      err.hidden = false;
      setText(err, msg);
      input?.focus();
      return undefined;
    };
    sync();
    const ref = openDialog({
      title: t('networks.create.title'),
      testid: 'network-create-dialog',
      acceptLabel: t('networks.create.accept'),
      content: [
        h('div', { class: 'field' }, h('label', { for: 'net-name' }, t('networks.create.name')), nameIn,
          h('p', { class: 'hint' }, t('networks.create.nameHint'))),
        h('div', { class: 'field' }, h('label', { for: 'net-kind' }, t('networks.create.kind')), kindIn),
        subnetRow,
        dhcpRow,
        rangeRow,
        ifaceRow,
        vlanRow,
        h('div', { class: 'check-row' }, autoIn, h('label', { for: 'net-autostart' }, t('networks.create.autostart'))),
        err,
      ],
      focus: nameIn,
      onAccept: async () => {
        const name = nameIn.value.trim();
        const problem = networkNameProblem(name);
        if (problem) return fail(t(problem, { max: NETWORK_NAME_MAX }), nameIn);
        const kind = kindIn.value;
        const body = { name, kind, autostart: autoIn.checked };
        if (!hasSubnet(kind)) {
          if (!ifaceIn.value) return fail(t('networks.create.ifaceNone'), kindIn);
          body[kind === 'bridge' ? 'bridge' : 'device'] = ifaceIn.value;
        }
        if (kind === 'bridge' && vlanIn.value.trim()) {
          const vlan = Number(vlanIn.value.trim());
          if (!Number.isInteger(vlan) || vlan < 1 || vlan > 4094) return fail(t('networks.create.vlanInvalid'), vlanIn);
          body.vlan = vlan;
        }
        const text = hasSubnet(kind) ? subnetIn.value.trim() : '';
        if (hasSubnet(kind)) body.dhcp = dhcpIn.checked;
        if (text) {
          const sub = parseSubnet(text);
          if (typeof sub === 'string') return fail(t(sub), subnetIn);
          body.subnet = text;
          if (dhcpIn.checked && (startIn.value.trim() || endIn.value.trim())) {
            const rp = rangeProblem(sub, startIn.value, endIn.value);
            if (rp) return fail(t(rp), startIn);
            body.dhcp_start = startIn.value.trim();
            body.dhcp_end = endIn.value.trim();
          }
        }
        try {
          return await api.createNetwork(host, body);
        } catch (e) {
          if (e?.status === 401) return null;
          return fail(e?.message || t('error.unknown'), nameIn);
        }
      },
    });
    ref.result.then((n) => {
      if (n?.name) {
        toast(t('networks.create.done', { name: n.name }));
        load();
      }
    });
  }
  createBtn.addEventListener('click', openCreate);

  // Live: network changes from anywhere (another admin, virsh); a burst reloads once.
  let timer = null;
  const soon = () => {
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  };
  const unsubs = [events().on('network', soon), events().on('reset', soon)];

  load();
  return {
    title: t('networks.title'), heading,
    unmount: () => {
      controller.abort();
      clearTimeout(timer);
      for (const u of unsubs) u();
    },
  };
}
