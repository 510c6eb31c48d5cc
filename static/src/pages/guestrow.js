// One row of the guest list (pages/guests.js): the columns, the prototype
// row cloned for each guest, and the Row that writes a guest into it,
// touching only what changed. The data table (ui/datatable.js) creates a
// Row when a guest scrolls into its window and destroys it when it leaves.

import { actionLabel } from '../actions.js';
import { consoleOffered } from '../lib/console.js';
import { h, setAttr, setText } from '../lib/dom.js';
import { formatMiB, formatNumber, formatOS, formatPercent, formatRate, none } from '../lib/format.js';
import { hasKey, t } from '../lib/i18n.js';
import { guestPath } from '../lib/router.js';
import { isActive, stateTone, vmActions } from '../lib/vmstate.js';

// Columns: key (sort key or null), class, heading key.
export const COLUMNS = [
  { key: 'name', cls: 'c-name', label: 'guests.col.name' },
  { key: 'state', cls: 'c-state', label: 'guests.col.state' },
  { key: 'os', cls: 'c-os', label: 'guests.col.os' },
  { key: 'vcpus', cls: 'c-vcpus num', label: 'guests.col.vcpus' },
  { key: 'memory', cls: 'c-memory num', label: 'guests.col.memory' },
  { key: 'cpu', cls: 'c-cpu', label: 'guests.col.cpu' },
  { key: 'mem', cls: 'c-mem', label: 'guests.col.mem' },
  { key: 'disk', cls: 'c-disk', label: 'guests.col.disk' },
  { key: 'net', cls: 'c-net', label: 'guests.col.net' },
  { key: 'graphics', cls: 'c-gfx', label: 'guests.col.graphics' },
  { key: null, cls: 'c-actions', label: 'guests.col.actions' },
];

/** The text of the graphics column. */
export function graphicsLabel(g) {
  if (!g) return none();
  return hasKey(`graphics.${g}`) ? t(`graphics.${g}`) : g;
}

/**
 * The prototype row, cloned for every guest (cheaper than building each).
 * Lean on purpose (about 30 nodes): a thousand rows must lay out fast, so
 * the bars, the state dot and the menu glyph are drawn by CSS.
 */
export function rowPrototype() {
  const tr = h('tr', { class: 'vm-row', 'data-testid': 'vm-row', role: 'row' });
  COLUMNS.forEach((col, i) => {
    const cell = h(i === 0 ? 'th' : 'td', { class: col.cls, role: i === 0 ? 'rowheader' : 'cell', 'data-label': t(col.label) });
    if (i === 0) cell.setAttribute('scope', 'row');
    tr.append(cell);
  });
  const c = tr.cells;
  c[0].append(h('a', { class: 'vm-name' }));
  c[1].append(h('span', { class: 'badge', 'data-testid': 'state-badge' }));
  c[5].classList.add('usage');
  c[6].classList.add('usage');
  c[7].classList.add('io');
  c[8].classList.add('io');
  // The screenshot box: decorative (the name links to the same place), its placeholder drawn by CSS.
  c[9].append(h('a', { class: 'thumb', 'data-testid': 'vm-thumb', 'data-thumb': 'off', tabindex: '-1', 'aria-hidden': 'true' }));
  c[10].append(
    h('a', { class: 'icon-button console-link is-empty', 'data-testid': 'vm-console' }),
    h('button', { type: 'button', class: 'btn btn-sm', 'data-testid': 'vm-primary-action' }),
    h('button', { type: 'button', class: 'icon-button more-button', 'data-testid': 'vm-menu-button', 'aria-haspopup': 'menu', 'aria-expanded': 'false' }));
  return tr;
}

/** One guest's row: its elements and the values last written to them. */
export class Row {
  /**
   * @param {HTMLTableRowElement} proto
   * @param {any} vm
   * @param {{thumbs: ReturnType<typeof createThumbs>}} opts
   */
  constructor(proto, vm, opts) {
    const tr = /** @type {HTMLTableRowElement} */ (proto.cloneNode(true));
    this.tr = tr;
    this.opts = opts;
    this.busy = false;
    this.name = vm.name;
    this.actionsKey = '';
    const c = tr.cells;
    this.link = c[0].firstChild;
    this.badge = c[1].firstChild;
    this.os = c[2];
    this.vcpus = c[3];
    this.memory = c[4];
    this.cpu = c[5];
    this.mem = c[6];
    this.disk = c[7];
    this.net = c[8];
    this.thumb = c[9].firstChild;
    this.consoleLink = c[10].firstChild;
    this.primary = c[10].children[1];
    this.menuButton = c[10].lastChild;
    this.consoleKey = null;

    tr.dataset.name = vm.name;
    this.link.href = guestPath(vm.name);
    this.link.textContent = vm.name;
    this.menuButton.setAttribute('aria-label', t('guests.moreActions', { name: vm.name }));
    this.update(vm);
  }

  /** Write vm into the row, touching only what changed. */
  update(vm) {
    this.vm = vm;
    const tr = this.tr;
    if (tr.dataset.state !== vm.state) {
      tr.dataset.state = vm.state;
      this.badge.dataset.tone = stateTone(vm.state);
      this.badge.dataset.state = vm.state;
      this.badge.textContent = t(`state.${vm.state}`);
    }
    const os = formatOS(vm.os);
    setText(this.os, os);
    if (!vm.os?.distro !== this.os.classList.contains('is-none')) this.os.classList.toggle('is-none');
    setAttr(this.os, 'title', vm.os?.arch ? `${os} (${vm.os.arch})` : null);
    setText(this.vcpus, formatNumber(vm.vcpus));
    setText(this.memory, formatMiB(vm.memory_mib));
    const active = isActive(vm.state);
    // usage_reported false: the host gives no figures (libvirt's test driver): "—", not 0 %.
    const usage = active && vm.usage_reported !== false;
    setUsage(this.cpu, usage ? vm.cpu_percent : null);
    setUsage(this.mem, usage ? vm.mem_percent : null);
    setText(this.disk, active
      ? `${t('guests.io.read', { rate: formatRate(vm.disk_read_bps) })}\n${t('guests.io.write', { rate: formatRate(vm.disk_write_bps) })}`
      : none());
    setText(this.net, active
      ? `${t('guests.io.rx', { rate: formatRate(vm.net_rx_bps) })}\n${t('guests.io.tx', { rate: formatRate(vm.net_tx_bps) })}`
      : none());
    const gfx = graphicsLabel(vm.graphics);
    if (this.thumb.dataset.label !== gfx) this.thumb.dataset.label = gfx;
    this.renderConsole();
    this.opts.thumbs.update(this.thumb, vm);
    this.renderActions();
  }

  /** The Console link and where the thumbnail leads: the console when allowed_actions allow it, else the detail. */
  renderConsole() {
    const offered = consoleOffered(this.vm);
    if (offered === this.consoleKey) return;
    this.consoleKey = offered;
    const a = this.consoleLink;
    const detail = guestPath(this.name);
    if (offered) {
      a.href = `${detail}?tab=console`;
      a.setAttribute('aria-label', t('guests.consoleFor', { name: this.name }));
      a.title = t('console.open');
      a.classList.remove('is-empty');
    } else {
      a.removeAttribute('href');
      a.removeAttribute('aria-label');
      a.removeAttribute('title');
      a.classList.add('is-empty');
    }
    this.thumb.href = offered ? `${detail}?tab=console` : detail;
  }

  /** What the caller may do to this guest now: its state and its allowed_actions. */
  allowed() {
    return vmActions(this.vm);
  }

  /** The menu items for the current state (everything but the primary action). */
  menuItems(onAction) {
    const { more } = this.allowed();
    return more.map((a) => ({
      label: actionLabel(a),
      danger: a === 'poweroff' || a === 'reset' || a === 'delete',
      testid: 'vm-menu-item',
      dataset: { action: a },
      onSelect: () => onAction(this, a),
    }));
  }

  renderActions() {
    const { primary, more } = this.allowed();
    const key = `${primary}|${more.join(',')}|${this.busy}`;
    if (key === this.actionsKey) return false;
    this.actionsKey = key;
    const p = this.primary;
    if (primary) {
      p.dataset.action = primary;
      p.textContent = actionLabel(primary);
      p.setAttribute('aria-label', t('guests.actionFor', { action: actionLabel(primary), name: this.name }));
      p.className = 'btn btn-sm' + (primary === 'start' || primary === 'resume' ? ' btn-primary' : '');
    } else {
      // Invisible rather than gone, so that the buttons of every row line up.
      p.className = 'btn btn-sm is-empty';
      p.textContent = '';
      p.removeAttribute('aria-label');
      delete p.dataset.action;
    }
    this.menuButton.classList.toggle('is-empty', more.length === 0);
    p.disabled = this.busy;
    this.menuButton.disabled = this.busy;
    return true;
  }

  setBusy(busy) {
    this.busy = busy;
    this.tr.classList.toggle('busy', busy);
    setAttr(this.tr, 'aria-busy', busy ? 'true' : null);
    this.renderActions();
  }
}

/**
 * A usage cell (class "usage"): its text, and the bar drawn by CSS from --p (0–1).
 * @param {HTMLElement} cell
 * @param {number|null} percent 0–100, or null when not meaningful
 */
export function setUsage(cell, percent) {
  if (percent === null || !Number.isFinite(percent)) {
    if (cell.dataset.p !== '') {
      cell.dataset.p = '';
      cell.classList.add('idle');
      cell.classList.remove('high');
    }
    setText(cell, none());
    return;
  }
  const p = Math.max(0, Math.min(100, percent));
  const key = p.toFixed(1);
  if (cell.dataset.p !== key) {
    cell.dataset.p = key;
    cell.style.setProperty('--p', String(p / 100));
    cell.classList.remove('idle');
    if ((p >= 90) !== cell.classList.contains('high')) cell.classList.toggle('high');
  }
  setText(cell, formatPercent(percent));
}

