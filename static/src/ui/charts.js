// Time-series charts with uPlot (npm uplot, pinned). This module and uPlot
// load only with the pages that chart: the Host page and a guest's
// Overview (lazily). uPlot's stylesheet is a constructed sheet (CSP: no
// inline <style>), adopted while a chart is shown.

import uPlot from 'uplot';
import uplotCSS from 'uplot/dist/uPlot.min.css';
import { none } from '../lib/format.js';
import { getLocale } from '../lib/i18n.js';

let sheet = null;
let users = 0;

function adoptSheet() {
  if (users++ === 0) {
    sheet ??= new CSSStyleSheet();
    sheet.replaceSync(uplotCSS);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  }
  return () => {
    if (--users === 0) document.adoptedStyleSheets = document.adoptedStyleSheets.filter((s) => s !== sheet);
  };
}

/** Line colours with contrast on the light and the dark theme. */
export const COLORS = ['#2f7ed8', '#e4572e', '#17a589', '#a25ddc'];

/**
 * Tick labels of a time axis in the active locale: clock times within a
 * day, dates beyond.
 * @param {number[]} splits unix seconds
 * @param {number} span seconds the axis covers
 */
export function timeTicks(splits, span) {
  const opts = span > 2 * 86400 ? { month: 'short', day: 'numeric' }
    : span > 3600 * 3 ? { weekday: 'short', hour: '2-digit', minute: '2-digit' }
      : span > 600 ? { hour: '2-digit', minute: '2-digit' }
        : { hour: '2-digit', minute: '2-digit', second: '2-digit' };
  const f = new Intl.DateTimeFormat(getLocale(), opts);
  return splits.map((s) => f.format(new Date(s * 1000)));
}

/**
 * A chart of one or more series over time, as wide as its container.
 * @param {HTMLElement} el
 * @param {{title: string, series: {label: string}[], format: (v: number) => string, max?: number, height?: number, testid?: string}} spec
 */
export function createChart(el, spec) {
  const release = adoptSheet();
  const style = getComputedStyle(el);
  const ink = style.color || '#444';
  const grid = 'rgba(128,128,128,0.2)';
  const height = spec.height ?? 160;
  const fmt = (v) => (v == null || !Number.isFinite(v) ? none() : spec.format(v));
  const opts = {
    title: spec.title,
    width: Math.max(240, el.clientWidth || 320),
    height,
    // Room on the right for the last time label.
    padding: [12, 36, 0, 0],
    scales: {
      x: { time: true },
      y: { range: (_u, _min, max) => [0, spec.max ?? Math.max(max * 1.1, spec.floor ?? 1)] },
    },
    series: [
      { value: (_u, v) => (v == null ? none() : new Date(v * 1000).toLocaleString(getLocale())) },
      ...spec.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 1.5, fill: COLORS[i % COLORS.length] + '1f', value: (_u, v) => fmt(v), points: { show: false } })),
    ],
    axes: [
      // Room for a localised clock time under each tick.
      { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid }, space: 110, values: (u, splits) => timeTicks(splits, (u.scales.x.max ?? 0) - (u.scales.x.min ?? 0)) },
      { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid }, size: 80, values: (_u, splits) => splits.map(fmt) },
    ],
    cursor: { drag: { x: false, y: false } },
    legend: { live: true },
  };
  const empty = [[], ...spec.series.map(() => [])];
  const plot = new uPlot(opts, empty, el);
  if (spec.testid) plot.root.dataset.testid = spec.testid;
  const ro = new ResizeObserver(() => {
    const w = el.clientWidth;
    if (w > 0 && Math.abs(w - plot.width) > 2) plot.setSize({ width: w, height });
  });
  ro.observe(el);
  return {
    /** @param {Array<number[]>} data [t, ...series] */
    setData(data) {
      plot.setData(data);
      plot.root.dataset.points = String(data[0]?.length ?? 0);
    },
    destroy() {
      ro.disconnect();
      plot.destroy();
      release();
    },
  };
}
