// A section of the guest's Devices tab for administrators (hostdev.manage
// in the guest's allowed_actions): the host devices passed through to the
// guest, with Detach, and the host's PCI and USB devices (IOMMU group,
// driver, the guests using each) with Attach. PCI passthrough needs the
// host's IOMMU: while it is off, PCI rows say so instead of offering a
// button that would fail.

import { request } from '../lib/api.js';
import { h, setText } from '../lib/dom.js';
import { t } from '../lib/i18n.js';
import { can } from '../lib/vmstate.js';
import { confirmDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';
import { appliesText } from './guestnics.js';

const enc = encodeURIComponent;

/** Whether the section is for this caller on this guest. */
export function hostDevicesAllowed(vm) {
  return can(vm, 'hostdev.manage');
}

/**
 * Mount the host devices section into container.
 * @param {HTMLElement} container an element of the Devices tab, emptied and filled here
 * @param {{name: string, vm: any}} opts the guest's name and its GET /api/v1/vms/{name} answer (host, state, allowed_actions)
 * @returns {{update: (vm: any) => void, unmount: () => void}} update: the guest changed (state, allowed_actions); unmount: stop
 */
export function hostDevicesSection(container, { name, vm }) {
  const controller = new AbortController();
  let current = vm;
  let host = null;
  let guest = null;
  const heading = h('h2', { id: 'hostdevs-title' }, t('hostdevs.title'));
  const note = h('p', { class: 'banner banner-info', 'data-testid': 'hostdevs-test-driver', hidden: true }, t('hostdevs.testDriver'));
  const iommu = h('p', { class: 'banner banner-warn', 'data-testid': 'hostdevs-iommu-off', hidden: true }, t('hostdevs.iommuOff'));
  const error = h('div', { class: 'banner banner-error', role: 'alert', 'data-testid': 'hostdevs-error', hidden: true });
  const mine = h('ul', { class: 'plain-list', 'data-testid': 'hostdevs-guest' });
  const mineEmpty = h('p', { class: 'muted', hidden: true }, t('hostdevs.noneAttached'));
  const body = h('tbody');
  const table = h('div', { class: 'table-wrap' },
    h('table', { class: 'data-table', 'data-testid': 'hostdevs-host' },
      h('caption', { class: 'visually-hidden' }, t('hostdevs.hostCaption')),
      h('thead', null, h('tr', null, [t('hostdevs.col.kind'), t('hostdevs.col.address'), t('hostdevs.col.device'),
        t('hostdevs.col.iommu'), t('hostdevs.col.driver'), t('hostdevs.col.usedBy'), t('hostdevs.col.actions')]
        .map((c) => h('th', { scope: 'col' }, c)))),
      body));
  container.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'hostdevs-title', 'data-testid': 'hostdevs-section' },
    heading, note, iommu, error,
    h('h3', null, t('hostdevs.attachedTo', { name })), mine, mineEmpty,
    h('h3', null, t('hostdevs.hostDevices')), table));

  async function load() {
    if (!hostDevicesAllowed(current)) {
      container.hidden = true;
      return;
    }
    container.hidden = false;
    try {
      [host, guest] = await Promise.all([
        request('GET', `/hosts/${enc(current?.host || 'local')}/devices`, { signal: controller.signal }),
        request('GET', `/vms/${enc(name)}/hostdevs`, { signal: controller.signal }),
      ]);
      error.hidden = true;
    } catch (err) {
      if (controller.signal.aborted) return;
      setText(error, t('hostdevs.loadFailed', { message: err.message }));
      error.hidden = false;
      return;
    }
    render();
  }

  function render() {
    note.hidden = guest.live;
    iommu.hidden = host.iommu;
    mineEmpty.hidden = guest.items.length > 0;
    mine.replaceChildren(...guest.items.map((d) => h('li', { 'data-testid': 'hostdev-attached' },
      h('span', null, d.label), ' ',
      h('button', { type: 'button', class: 'btn btn-sm', onclick: () => detach(d) }, t('hostdevs.detach')))));
    body.replaceChildren(...host.items.map((d) => {
      const pciOff = d.kind === 'pci' && d.iommu_group == null;
      const used = d.used_by.length > 0;
      const action = pciOff
        ? h('span', { class: 'muted' }, t('hostdevs.needsIommu'))
        : used ? h('span', { class: 'muted' }, t('hostdevs.inUse'))
          : h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'hostdev-attach', onclick: () => attach(d) }, t('hostdevs.attach'));
      return h('tr', { 'data-testid': 'hostdev-row', 'data-name': d.name },
        h('td', { 'data-label': t('hostdevs.col.kind') }, d.kind.toUpperCase()),
        h('td', { 'data-label': t('hostdevs.col.address') }, d.address),
        h('td', { 'data-label': t('hostdevs.col.device') }, [d.vendor, d.product].filter(Boolean).join(' ') || `${d.vendor_id}:${d.product_id}`),
        h('td', { 'data-label': t('hostdevs.col.iommu') }, d.iommu_group == null ? '—' : String(d.iommu_group)),
        h('td', { 'data-label': t('hostdevs.col.driver') }, d.driver || '—'),
        h('td', { 'data-label': t('hostdevs.col.usedBy') }, d.used_by.join(', ') || '—'),
        h('td', { 'data-label': t('hostdevs.col.actions') }, action));
    }));
  }

  async function attach(d) {
    try {
      const res = await request('POST', `/vms/${enc(name)}/hostdevs`, { body: { device: d.name } });
      toast(appliesText(res.applies), { title: t('hostdevs.attached', { device: d.address, name }) });
    } catch (err) {
      toast(err.message, { kind: 'error', title: t('hostdevs.attachFailed', { device: d.address }) });
    }
    await load();
  }

  async function detach(d) {
    const { confirmed } = await confirmDialog({
      title: t('hostdevs.detachTitle', { device: d.label }),
      body: t('hostdevs.detachBody', { device: d.label, name }),
      confirmLabel: t('hostdevs.detach'),
      danger: true,
    });
    if (!confirmed) return;
    try {
      const res = await request('DELETE', `/vms/${enc(name)}/hostdevs/${enc(d.id)}`);
      toast(appliesText(res.applies), { title: t('hostdevs.detached', { device: d.label }) });
    } catch (err) {
      toast(err.message, { kind: 'error', title: t('hostdevs.detachFailed', { device: d.label }) });
    }
    await load();
  }

  load();
  return {
    update(vm) {
      const was = hostDevicesAllowed(current) && current?.state;
      current = vm;
      if (was !== (hostDevicesAllowed(vm) && vm?.state)) load();
    },
    unmount() {
      controller.abort();
    },
  };
}
