// The statistics card of the Host page and of a guest's Overview: the
// current values, and charts of the last hour (following the current
// values every second) or of the last 7 days (1-minute aggregates).

import { request } from '../lib/api.js';
import { h, setText } from '../lib/dom.js';
import { formatBytes, formatPercent, formatRate } from '../lib/format.js';
import { t } from '../lib/i18n.js';
import { appendNow, columns } from '../lib/statsdata.js';
import { createChart } from './charts.js';

const WEEK = 7 * 86400;

/** The charts: StatsNow fields and history metrics, in the same order. */
function chartSpecs() {
  return [
    { id: 'cpu', title: t('stats.cpu'), now: ['cpu_percent'], metrics: ['cpu_percent'], labels: [t('stats.cpu')], format: formatPercent, max: 100 },
    { id: 'memory', title: t('stats.memory'), now: ['mem_percent'], metrics: ['mem_percent'], labels: [t('stats.memory')], format: formatPercent, max: 100 },
    { id: 'disk', title: t('stats.disk'), now: ['disk_read_bps', 'disk_write_bps'], metrics: ['disk_read_bps', 'disk_write_bps'], labels: [t('stats.read'), t('stats.write')], format: formatRate, floor: 1024 },
    { id: 'network', title: t('stats.network'), now: ['net_rx_bps', 'net_tx_bps'], metrics: ['net_rx_bps', 'net_tx_bps'], labels: [t('stats.rx'), t('stats.tx')], format: formatRate, floor: 1024 },
  ];
}

/**
 * Mount the statistics card into el.
 * @param {HTMLElement} el
 * @param {{base: string, kind: 'host'|'guest', note?: string}} opts base: the API path of the subject (/hosts/NAME, /vms/NAME)
 */
export function mountStatsPanel(el, opts) {
  const specs = chartSpecs();
  let range = 'live';
  const note = h('p', { class: 'muted', 'data-testid': 'stats-note', hidden: true });
  const nowLine = h('p', { class: 'stats-now', 'data-testid': 'stats-now', 'aria-live': 'off' });
  const ifaces = h('div', { class: 'stats-ifaces', 'data-testid': 'stats-ifaces' });
  const buttons = {
    live: h('button', { type: 'button', class: 'btn btn-sm', 'aria-pressed': 'true', 'data-testid': 'stats-range-live', onclick: () => setRange('live') }, t('stats.range.live')),
    week: h('button', { type: 'button', class: 'btn btn-sm', 'aria-pressed': 'false', 'data-testid': 'stats-range-week', onclick: () => setRange('week') }, t('stats.range.week')),
  };
  const grid = h('div', { class: 'chart-grid' });
  const card = h('section', { class: 'card card-wide stats-card', 'aria-labelledby': `stats-title-${opts.kind}`, 'data-testid': 'stats-panel' },
    h('div', { class: 'stats-head' },
      h('h2', { id: `stats-title-${opts.kind}` }, t('stats.title')),
      h('div', { class: 'btn-group', role: 'group', 'aria-label': t('stats.range') }, buttons.live, buttons.week)),
    opts.note ? h('p', { class: 'muted', 'data-testid': 'stats-demo-note' }, opts.note) : null,
    note, nowLine, ifaces, grid);
  el.replaceChildren(card);
  const boxes = specs.map((s) => {
    const box = h('div', { class: 'chart-box', 'data-testid': `chart-${s.id}` });
    grid.append(box);
    return box;
  });
  const charts = specs.map((s, i) => createChart(boxes[i], { title: s.title, series: s.labels.map((label) => ({ label })), format: s.format, max: s.max, floor: s.floor, testid: `uplot-${s.id}` }));
  /** @type {Array<Array<number[]>>} live columns per chart */
  let data = specs.map((s) => [[], ...s.metrics.map(() => [])]);
  let timer = 0;
  let stopped = false;
  let ctrl = new AbortController();

  function showNote(text) {
    note.hidden = !text;
    setText(note, text ?? '');
  }

  function renderNow(n) {
    if (!n?.available) {
      setText(nowLine, '');
      ifaces.replaceChildren();
      return;
    }
    const parts = [
      t('stats.nowCPU', { value: formatPercent(n.cpu_percent) }),
      n.mem_total_bytes
        ? t('stats.nowMemoryOf', { used: formatBytes(n.mem_used_bytes), total: formatBytes(n.mem_total_bytes), percent: formatPercent(n.mem_percent) })
        : t('stats.nowMemory', { value: formatPercent(n.mem_percent) }),
      t('stats.nowDisk', { read: formatRate(n.disk_read_bps), write: formatRate(n.disk_write_bps) }),
      t('stats.nowNet', { rx: formatRate(n.net_rx_bps), tx: formatRate(n.net_tx_bps) }),
    ];
    setText(nowLine, parts.join(' · '));
    ifaces.replaceChildren(...(n.interfaces ?? []).map((i) => h('span', { class: 'tag', 'data-testid': 'stats-iface' },
      t('stats.iface', { name: i.name, rx: formatRate(i.rx_bps), tx: formatRate(i.tx_bps) }))));
  }

  async function loadHistory() {
    const q = range === 'live' ? 'step=1s' : `from=${Math.floor(Date.now() / 1000) - WEEK}&step=60s`;
    const hist = await request('GET', `${opts.base}/stats/history?${q}`, { signal: ctrl.signal });
    data = specs.map((s) => columns(hist, s.metrics.map((metric) => ({ metric }))));
    data.forEach((d, i) => charts[i].setData(d));
    return hist;
  }

  async function tick() {
    if (stopped || range !== 'live' || document.hidden) return;
    try {
      const n = await request('GET', `${opts.base}/stats`, { signal: ctrl.signal });
      renderNow(n);
      specs.forEach((s, i) => {
        if (appendNow(data[i], n, s.now)) charts[i].setData(data[i]);
      });
      showNote(n.available || data[0][0].length ? '' : t(opts.kind === 'host' ? 'stats.hostNone' : 'stats.guestNone'));
    } catch (err) {
      if (err?.name !== 'AbortError') showNote(t('stats.loadFailed', { message: err.message }));
    }
  }

  async function start() {
    clearInterval(timer);
    ctrl.abort();
    ctrl = new AbortController();
    try {
      const hist = await loadHistory();
      card.dataset.range = range;
      card.dataset.loaded = 'true';
      if (range === 'live') {
        await tick();
        timer = setInterval(tick, 1000);
      } else {
        showNote(hist.t?.length ? '' : t('stats.weekNone'));
        timer = setInterval(() => loadHistory().catch(() => {}), 60000);
      }
    } catch (err) {
      if (err?.name !== 'AbortError') showNote(t('stats.loadFailed', { message: err.message }));
    }
  }

  function setRange(r) {
    if (r === range) return;
    range = r;
    for (const [k, b] of Object.entries(buttons)) b.setAttribute('aria-pressed', String(k === r));
    start();
  }

  start();
  return {
    unmount() {
      stopped = true;
      clearInterval(timer);
      ctrl.abort();
      for (const c of charts) c.destroy();
    },
  };
}

