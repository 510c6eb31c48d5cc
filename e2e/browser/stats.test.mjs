// The Host page's facts and statistics charts and a guest's charts on its
// Overview (issue 12), against the real server in demo mode: the host's
// charts are the real machine's /proc figures, following every second.
// The demo's test driver reports no guest usage, so the guest's history
// and current values come from a fixture (the answers' real shape).
// Screenshots at 1440×900 and 390×844.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiGet, launchBrowser, login, screenshot, watch, waitFor } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const SIZES = [['wide', { width: 1440, height: 900 }], ['narrow', { width: 390, height: 844 }]];

async function signedIn(viewport) {
  const context = await browser.newContext({ viewport, colorScheme: 'light' });
  const page = await context.newPage();
  const problems = watch(page);
  await login(page, server.url, 'admin', server.password);
  return { context, page, problems };
}

/** Waits until the chart of id has at least n points drawn. */
function chartPoints(page, id, n, timeout = 15000) {
  return waitFor(page, ([id, n]) => Number(document.querySelector(`[data-testid="uplot-${id}"]`)?.dataset.points ?? 0) >= n, [id, n], timeout);
}

/** An hour of a guest's history at 1 s, and its current value. */
async function guestFixture(page) {
  const now = Math.floor(Date.now() / 1000);
  const t = Array.from({ length: 600 }, (_, i) => now - 600 + i);
  const wave = (k, a, b) => t.map((s) => Math.max(0, a + b * Math.sin((s + k) / 40)));
  const tri = (v) => ({ min: v, mean: v, max: v });
  const series = { cpu_percent: tri(wave(0, 35, 25)), mem_percent: tri(wave(3, 60, 5)), disk_read_bps: tri(wave(5, 4e6, 3e6)),
    disk_write_bps: tri(wave(9, 2e6, 1.5e6)), net_rx_bps: tri(wave(1, 8e5, 6e5)), net_tx_bps: tri(wave(7, 3e5, 2e5)) };
  await page.route('**/api/v1/vms/*/stats/history**', (route) => route.fulfill({ status: 200, contentType: 'application/json',
    body: JSON.stringify({ from: now - 3600, to: now + 1, step: 1, t, series }) }));
  await page.route('**/api/v1/vms/*/stats', (route) => route.fulfill({ status: 200, contentType: 'application/json',
    body: JSON.stringify({ at: new Date().toISOString(), available: true, cpu_percent: 41, mem_percent: 62, disk_read_bps: 3.1e6, disk_write_bps: 1.2e6, net_rx_bps: 5e5, net_tx_bps: 2e5 }) }));
}

describe('host page', () => {
  for (const [size, viewport] of SIZES) {
    it(`shows the facts and the live charts following /proc (${size})`, async () => {
      const { context, page, problems } = await signedIn(viewport);
      await page.goto(server.url + '/hosts/local');
      await page.getByTestId('stats-panel').waitFor();
      // (graphics stay empty: the test driver has no domain capabilities)
      for (const id of ['host-os', 'host-kernel', 'host-cpu-model', 'host-arches', 'host-max-vcpus']) {
        const text = (await page.getByTestId(id).textContent()).trim();
        assert.ok(text && text !== '—', `${id} is empty`);
      }
      // The sampler needs two reads for a rate; then a point a second.
      await chartPoints(page, 'cpu', 2);
      const first = Number(await page.getByTestId('uplot-cpu').getAttribute('data-points'));
      await chartPoints(page, 'cpu', first + 1);
      assert.match(await page.getByTestId('stats-now').textContent(), /CPU/);
      assert.equal(await page.locator('[data-testid="chart-cpu"] canvas').count(), 1);
      await screenshot(page, `stats-host-${size}`, { fullPage: true });

      // Seven days: the minute aggregates (a point per minute the server
      // has run; none in its first minute, which the note says).
      await page.getByTestId('stats-range-week').click();
      await waitFor(page, () => document.querySelector('[data-testid="stats-panel"]')?.dataset.range === 'week');
      await waitFor(page, () => !document.querySelector('[data-testid="stats-note"]').hidden ||
        Number(document.querySelector('[data-testid="uplot-cpu"]').dataset.points) >= 1);
      const hist = await apiGet(page, '/hosts/local/stats/history?step=60s&from=' + (Math.floor(Date.now() / 1000) - 7 * 86400));
      assert.equal(hist.status, 200);
      assert.deepEqual(problems, []);
      await context.close();
    });
  }
});

describe('guest overview', () => {
  for (const [size, viewport] of SIZES) {
    it(`charts the guest's statistics (${size})`, async () => {
      const { context, page, problems } = await signedIn(viewport);
      const { body } = await apiGet(page, '/vms');
      const name = body.items.find((v) => v.state === 'running').name;
      await guestFixture(page);
      await page.goto(server.url + '/guests/' + encodeURIComponent(name));
      await page.getByTestId('stats-panel').waitFor();
      await chartPoints(page, 'network', 600);
      await chartPoints(page, 'cpu', 601); // the current value appended
      await page.getByTestId('stats-panel').scrollIntoViewIfNeeded();
      await screenshot(page, `stats-guest-${size}`, { fullPage: true });
      assert.deepEqual(problems, []);
      await context.close();
    });
  }
});
