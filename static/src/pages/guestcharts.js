// A guest's statistics on its Overview tab: the current values and charts
// of the last hour (live) and of 7 days. Loaded lazily by guest.js, so the
// guest page pays for uPlot only when the Overview is shown.

import { mountStatsPanel } from '../ui/statspanel.js';

/**
 * Mount the guest's charts into el.
 * @param {HTMLElement} el
 * @param {string} name the guest's name
 * @returns {{unmount: () => void}}
 */
export function mountGuestCharts(el, name) {
  return mountStatsPanel(el, { base: `/vms/${encodeURIComponent(name)}`, kind: 'guest' });
}
