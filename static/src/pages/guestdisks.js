// The Disks tab of the guest page (issue 11): the guest's disks and CD-ROM
// drives with the pool volume behind each. Managers (allowed "edit")
// attach a pool volume, a new volume or (administrators, inside the
// configured roots) a host path, add CD-ROM drives and detach, optionally
// deleting the volume; operators (allowed "media") insert an ISO of the
// library and eject. Each change says whether it applied now or waits for
// the next boot; on a host whose driver cannot change a running guest's
// devices (the demo's test driver) the tab says so once.

import { request } from '../lib/api.js';
import { h, icon, setText } from '../lib/dom.js';
import { formatBytes, none } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { confirmDialog, openDialog } from '../ui/dialog.js';
import { toast } from '../ui/toast.js';

const enc = encodeURIComponent;

/** Buses a disk may be on, and a CD-ROM drive. */
export const DISK_BUSES = Object.freeze(['virtio', 'scsi', 'sata', 'ide', 'usb']);
export const CDROM_BUSES = Object.freeze(['sata', 'ide', 'scsi']);
/** Buses QEMU adds devices to while the guest runs. */
export const HOTPLUG_BUSES = Object.freeze(['virtio', 'scsi', 'usb']);

const GIB = 1024 ** 3;

/**
 * Where a disk's data lives, as the table shows it.
 * @param {{pool?: string, volume?: string, path?: string, empty?: boolean, device?: string}} d
 */
export function diskSourceText(d) {
  if (d.empty) return t('disks.noMedia');
  if (d.pool && d.volume) return `${d.pool}/${d.volume}`;
  return d.path || t('disks.hiddenPath');
}

/**
 * The sentence for a change's answer: applied now to a running guest,
 * saved for a shut-off one (it boots with it), or waiting for the next boot.
 * @param {{applies: string, disk: {target: string}}} ch
 * @param {boolean} running
 */
export function appliesText(ch, running) {
  if (ch.applies !== 'now') return t('disks.appliesNextBoot', { target: ch.disk.target });
  return running ? t('disks.appliedNow', { target: ch.disk.target }) : t('disks.savedChange', { target: ch.disk.target });
}

/**
 * Mount the Disks tab of guest name into panel.
 * @param {HTMLElement} panel
 * @param {{name: string}} o
 */
export function mountGuestDisks(panel, { name }) {
  const base = `/vms/${enc(name)}/disks`;
  let list = null;
  let running = null;
  let gone = false;
  const note = h('div', { class: 'banner banner-info', 'data-testid': 'disks-driver-note', hidden: true },
    icon('alert', 'banner-icon'), h('span', { class: 'banner-text' }, t('disks.driverNote')));
  const stateLine = h('p', { class: 'muted', 'data-testid': 'disks-state' });
  const attachBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'disk-attach', hidden: true },
    icon('plus'), h('span', null, t('disks.attach')));
  const cdromBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'disk-add-cdrom', hidden: true },
    icon('plus'), h('span', null, t('disks.addCdrom')));
  const tableWrap = h('div', { class: 'table-wrap' });
  const status = h('div', { class: 'state-panel', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), t('disks.loading'));
  panel.replaceChildren(h('section', { class: 'card card-wide guest-disks', 'aria-labelledby': 'disks-title' },
    h('div', { class: 'disks-head' },
      h('h2', { id: 'disks-title' }, icon('disk'), t('guest.tab.disks')),
      h('div', { class: 'toolbar' }, cdromBtn, attachBtn)),
    note, stateLine, status, tableWrap));

  const can = (a) => list?.allowed_actions?.includes(a);

  async function load() {
    try {
      list = await request('GET', base);
    } catch (err) {
      if (gone) return;
      status.hidden = false;
      setText(status, t('disks.loadFailed', { message: err.message }));
      return;
    }
    if (gone) return;
    render();
  }

  function render() {
    status.hidden = true;
    note.hidden = list.live_changes !== false;
    setText(stateLine, list.running ? t('disks.runningNote') : t('disks.shutoffNote'));
    attachBtn.hidden = !can('edit');
    cdromBtn.hidden = !can('edit');
    const actions = can('edit') || can('media');
    const cols = [t('disks.col.target'), t('disks.col.device'), t('disks.col.bus'), t('disks.col.source'),
      t('disks.col.format'), t('disks.col.size'), t('disks.col.status')];
    if (actions) cols.push(t('disks.col.actions'));
    if (list.items.length === 0) {
      tableWrap.replaceChildren(h('p', { class: 'muted', 'data-testid': 'disks-empty' }, t('disks.none')));
      return;
    }
    tableWrap.replaceChildren(h('table', { class: 'data-table', 'data-testid': 'guest-disks-table' },
      h('caption', { class: 'visually-hidden' }, t('guest.tab.disks')),
      h('thead', null, h('tr', null, cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, list.items.map((d) => row(d, cols, actions)))));
  }

  function row(d, cols, actions) {
    const cdrom = d.device === 'cdrom';
    const size = d.capacity ? `${formatBytes(d.capacity)} (${t('disks.allocated', { size: formatBytes(d.allocation) })})` : '';
    const pending = list.running && !d.live;
    const cells = [
      d.target,
      t(cdrom ? 'disks.kind.cdrom' : 'disks.kind.disk') + (d.readonly && !cdrom ? ` · ${t('disks.readonly')}` : ''),
      d.bus,
      diskSourceText(d),
      d.format,
      size,
      pending ? h('span', { class: 'tag', 'data-testid': 'disk-next-boot' }, t('disks.nextBoot')) : t(list.running ? 'disks.inUse' : 'disks.saved'),
    ];
    if (actions) {
      const btns = [];
      if (cdrom && can('media')) {
        btns.push(h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'disk-insert', onclick: () => insert(d) },
          t(d.empty ? 'disks.insert' : 'disks.change')));
        if (!d.empty) {
          btns.push(h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'disk-eject', onclick: () => eject(d) }, t('disks.eject')));
        }
      }
      if (can('edit')) {
        btns.push(h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'disk-detach', onclick: () => detach(d) },
          t('disks.detach')));
      }
      cells.push(btns.length ? h('div', { class: 'row-actions' }, btns) : '');
    }
    return h('tr', { 'data-testid': 'disk-row', 'data-target': d.target },
      cells.map((c, i) => h('td', { 'data-label': cols[i] }, c === '' || c == null ? none() : c)));
  }

  /** Run a change and say how it applied. */
  async function change(method, path, body) {
    try {
      const ch = await request(method, path, body === undefined ? {} : { body });
      if (ch?.pending) toast(t('disks.detachPending', { target: ch.disk.target }), { kind: 'info' });
      else if (ch && ch.applies) toast(appliesText(ch, list.running));
      await load();
      return ch;
    } catch (err) {
      toast(err.message, { kind: 'error', title: t('disks.failed') });
      return null;
    }
  }

  function select(label, testid, options, value) {
    const id = `disks-${testid}`;
    const el = h('select', { id, class: 'input', 'data-testid': testid }, options.map((o) => h('option', { value: o.value }, o.label)));
    if (value !== undefined) el.value = value;
    return { el, field: h('div', { class: 'field' }, h('label', { for: id }, label), el) };
  }

  function busSelect(buses, def) {
    const running = list.running && list.live_changes !== false;
    return select(t('disks.bus'), 'disk-bus', buses.map((b) => ({
      value: b, label: running && !HOTPLUG_BUSES.includes(b) ? t('disks.busShutOffOnly', { bus: b }) : b,
    })), def);
  }

  async function attach() {
    let choices = { pools: [], volumes: [] };
    try {
      choices = await request('GET', `/vms/${enc(name)}/disk-choices`);
    } catch (err) {
      toast(err.message, { kind: 'error' });
      return;
    }
    const kinds = [{ value: 'volume', label: t('disks.source.volume') }, { value: 'new', label: t('disks.source.new') }];
    if (list.host_paths) kinds.push({ value: 'path', label: t('disks.source.path') });
    const kind = select(t('disks.source'), 'disk-source-kind', kinds, choices.volumes.length ? 'volume' : 'new');
    const vol = select(t('disks.volume'), 'disk-volume', choices.volumes.map((v) => ({
      value: `${v.pool}/${v.name}`,
      label: `${v.pool}/${v.name} · ${formatBytes(v.capacity)}${v.used_by?.length ? ' · ' + t('disks.usedBy', { guests: v.used_by.join(', ') }) : ''}`,
    })));
    const pool = select(t('disks.pool'), 'disk-pool', choices.pools.map((p) => ({
      value: p.name, label: t('disks.poolFree', { pool: p.name, free: formatBytes(p.available) }),
    })));
    const sizeId = 'disks-size';
    const size = h('input', { id: sizeId, class: 'input', type: 'number', min: '1', step: '1', value: '10', 'data-testid': 'disk-size' });
    const sizeField = h('div', { class: 'field' }, h('label', { for: sizeId }, t('disks.sizeGiB')), size);
    const pathId = 'disks-path';
    const path = h('input', { id: pathId, class: 'input', type: 'text', 'data-testid': 'disk-path', placeholder: '/srv/images/disk.img' });
    const pathField = h('div', { class: 'field' }, h('label', { for: pathId }, t('disks.path')), path,
      h('span', { class: 'hint' }, t('disks.pathHint')));
    const bus = busSelect(DISK_BUSES, list.disk_bus);
    const ro = h('input', { type: 'checkbox', id: 'disks-ro', 'data-testid': 'disk-readonly' });
    const err = h('div', { class: 'banner banner-error form-alert', role: 'alert', 'data-testid': 'disk-attach-error', hidden: true });
    const sync = () => {
      vol.field.hidden = kind.el.value !== 'volume';
      pool.field.hidden = sizeField.hidden = kind.el.value !== 'new';
      pathField.hidden = kind.el.value !== 'path';
      ref.sync();
    };
    const ref = openDialog({
      title: t('disks.attachTitle', { name }),
      testid: 'disk-attach-dialog',
      acceptLabel: t('disks.attach'),
      content: [kind.field, vol.field, pool.field, sizeField, pathField, bus.field,
        h('div', { class: 'check-row' }, ro, h('label', { for: 'disks-ro' }, t('disks.readonlyAttach'))), err],
      canAccept: () => (kind.el.value !== 'volume' || !!vol.el.value) && (kind.el.value !== 'new' || !!pool.el.value),
      onAccept: async () => {
        const body = { bus: bus.el.value, readonly: ro.checked };
        if (kind.el.value === 'volume') {
          const [p, ...v] = vol.el.value.split('/');
          Object.assign(body, { pool: p, volume: v.join('/') });
        } else if (kind.el.value === 'new') {
          body.new_volume = { pool: pool.el.value, capacity: Math.round(Number(size.value) * GIB) };
        } else {
          body.path = path.value;
        }
        try {
          const res = await request('POST', base, { body });
          if (res?.applies) toast(appliesText(res, list.running));
          else if (res?.id) {
            toast(t('disks.creating'));
            waitTask(res.id);
          }
          await load();
          return true;
        } catch (e) {
          err.hidden = false;
          setText(err, e.message);
          return undefined;
        }
      },
    });
    kind.el.addEventListener('change', sync);
    vol.el.addEventListener('change', sync);
    sync();
  }

  async function waitTask(id) {
    for (let i = 0; i < 600 && !gone; i++) {
      await new Promise((r) => setTimeout(r, 500));
      try {
        const tk = await request('GET', `/tasks/${id}`);
        if (tk.finished) {
          if (tk.status === 'done') toast(tk.message || t('disks.created'));
          else toast(tk.error?.message || tk.status, { kind: 'error', title: t('disks.failed') });
          await load();
          return;
        }
      } catch {
        return;
      }
    }
  }

  /** The ISOs the caller may insert, as select options ("pool/name"). */
  async function isoOptions() {
    const choices = await request('GET', `/vms/${enc(name)}/iso-choices`);
    return choices.isos.map((x) => ({
      value: `${x.pool}/${x.name}`,
      // The detected OS; nothing where this host cannot read volumes (the test driver).
      label: [x.name, x.status === 'detected' ? x.os?.name : x.status === 'unavailable' ? '' : t('disks.osUnknown'), formatBytes(x.capacity)]
        .filter(Boolean).join(' · '),
    }));
  }

  async function addCdrom() {
    let isos = [];
    try {
      isos = await isoOptions();
    } catch (err) {
      toast(err.message, { kind: 'error' });
      return;
    }
    // libvirt hot-plugs a drive with a medium only.
    const live = list.running && list.live_changes !== false;
    const bus = busSelect(CDROM_BUSES, list.cdrom_bus);
    const media = select(t('disks.iso'), 'disk-cdrom-iso',
      [{ value: '', label: t(live ? 'disks.emptyDriveShutOff' : 'disks.emptyDrive') }, ...isos], live && isos.length ? isos[0].value : '');
    openDialog({
      title: t('disks.addCdromTitle', { name }),
      testid: 'disk-cdrom-dialog',
      acceptLabel: t('disks.addCdrom'),
      content: [bus.field, media.field],
      onAccept: async () => {
        const body = { device: 'cdrom', bus: bus.el.value };
        if (media.el.value) {
          const [pool, ...v] = media.el.value.split('/');
          Object.assign(body, { pool, volume: v.join('/') });
        }
        return (await change('POST', base, body)) ? true : undefined;
      },
    });
  }

  async function insert(d) {
    let isos;
    try {
      isos = await isoOptions();
    } catch (err) {
      toast(err.message, { kind: 'error' });
      return;
    }
    if (!isos.length) {
      toast(t('disks.noISOs'), { kind: 'info' });
      return;
    }
    const iso = select(t('disks.iso'), 'disk-iso', isos);
    openDialog({
      title: t('disks.insertTitle', { target: d.target }),
      testid: 'disk-insert-dialog',
      acceptLabel: t('disks.insert'),
      content: [iso.field],
      onAccept: async () => {
        const [pool, ...v] = iso.el.value.split('/');
        return (await change('PUT', `${base}/${enc(d.target)}/media`, { pool, volume: v.join('/') })) ? true : undefined;
      },
    });
  }

  async function eject(d) {
    await change('DELETE', `${base}/${enc(d.target)}/media`);
  }

  async function detach(d) {
    const withVolume = d.device !== 'cdrom' && !!d.volume;
    const r = await confirmDialog({
      title: t('disks.detachTitle', { target: d.target }),
      body: t(list.running && !HOTPLUG_BUSES.includes(d.bus) ? 'disks.detachShutOff' : 'disks.detachBody', { target: d.target, name }),
      confirmLabel: t('disks.detach'),
      danger: true,
      checkbox: withVolume ? { label: t('disks.deleteVolume', { volume: `${d.pool}/${d.volume}` }), hint: t('disks.deleteVolumeHint'), testid: 'disk-delete-volume' } : undefined,
      testid: 'disk-detach-dialog',
    });
    if (!r.confirmed) return;
    const ch = await change('DELETE', `${base}/${enc(d.target)}${r.checked ? '?delete_volume=true' : ''}`);
    if (ch?.volume_deleted) toast(t('disks.volumeDeleted', { volume: `${d.pool}/${d.volume}` }));
  }

  attachBtn.addEventListener('click', () => attach());
  cdromBtn.addEventListener('click', () => addCdrom());
  load();

  return {
    /** The guest changed (state): reload when it starts or stops. */
    update(vm) {
      const r = vm.state === 'running' || vm.state === 'paused';
      if (running !== null && r !== running) load();
      running = r;
    },
    unmount() {
      gone = true;
    },
  };
}
