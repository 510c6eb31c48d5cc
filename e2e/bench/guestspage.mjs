// The Guests page in Chromium against its floor, in one run (`make bench`
// runs it through `go run ./e2e/bench`, which starts the server on a
// test-driver host of N guests and passes its address):
//
//   node e2e/bench/guestspage.mjs --url http://127.0.0.1:PORT --user bench --password PW --guests N [--runs 7]
//
// Portal: navigation to /guests → the table reports every guest
// (aria-rowcount and the count line) and the first screen of rows is
// painted. The table is windowed, so "every row present" is that, and,
// after the timing, scrolling to the end renders the last guest (checked).
// Floor: a static HTML file holding the same rows (every one in the DOM),
// served from loopback and loaded in the same browser (a fixed table
// layout, no script) → its last row painted. Both are measured the same way (a requestAnimationFrame poll,
// then the frame after), interleaved, warm caches, median of the runs.
// A second baseline, the shell alone: the Account page (the same bundle, the
// same session and boot requests, no guest list) → its identity painted; the
// difference is what the list of N guests costs on top of the app itself.
// Prints the figures and ratios; exits 1 when a budget is missed:
// portal ≤ 1.5 × floor, and at 10,000 guests ≤ 0.2 × floor. The issue set
// "≤ 300 ms at 10,000" on a machine where the page with every row in the
// DOM took 1.5 s: 0.2 of that, which this same-run ratio keeps on a
// machine whose browser is several times slower (the milliseconds are
// printed too).

import { createServer } from 'node:http';
import { parseArgs } from 'node:util';
import { launchBrowser } from '../browser/lib/browser.mjs';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' }, user: { type: 'string' }, password: { type: 'string' },
    guests: { type: 'string' }, runs: { type: 'string', default: '7' },
  },
});
const N = Number(args.guests);
const RUNS = Number(args.runs);
if (!args.url || !args.user || !args.password || !(N > 0)) {
  console.error('usage: guestspage.mjs --url URL --user NAME --password PW --guests N [--runs 7]');
  process.exit(2);
}
const BUDGET_RATIO = 1.5;
const BUDGET_10K_RATIO = 0.2; // 300 ms against 1.5 s for every row in the DOM

const esc = (s) => String(s ?? '').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/** The floor: the same rows (same columns, same text) as plain, static HTML. */
function floorHTML(items) {
  const rows = items.map((v, i) => `<tr${i === items.length - 1 ? ' id="last"' : ''}><th scope="row"><a href="/guests/${encodeURIComponent(v.name)}">${esc(v.name)}</a></th>` +
    `<td><span class="badge">${esc(v.state)}</span></td><td>${esc(v.os?.distro ?? '—')} ${esc(v.os?.version ?? '')}</td>` +
    `<td>${v.vcpus}</td><td>${v.memory_mib} MiB</td><td>${v.cpu_percent ?? '—'}</td><td>${v.mem_percent ?? '—'}</td>` +
    `<td>R ${v.disk_read_bps ?? 0} B/s<br>W ${v.disk_write_bps ?? 0} B/s</td><td>RX ${v.net_rx_bps ?? 0} B/s<br>TX ${v.net_tx_bps ?? 0} B/s</td>` +
    `<td>${esc(v.graphics || '—')}</td><td><button type="button">Start</button><button type="button" aria-label="More">⋮</button></td></tr>`);
  // A fixed table layout, as a static page of this size should have: an
  // automatic one lays the whole table out again as each chunk is parsed.
  const style = '<style>body{font:14px sans-serif;margin:24px}table{table-layout:fixed;width:100%;border-collapse:collapse}' +
    'td,th{height:52px;padding:0 10px;border-bottom:1px solid #ddd;text-align:left;white-space:nowrap;overflow:hidden}</style>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>floor</title>${style}</head><body>` +
    `<h1>Guests</h1><p>${items.length} guests</p><table><thead><tr><th>Name</th><th>State</th><th>OS</th><th>vCPUs</th><th>Memory</th>` +
    `<th>CPU</th><th>Memory use</th><th>Disk I/O</th><th>Network I/O</th><th>Graphics</th><th>Actions</th></tr></thead><tbody>` +
    rows.join('') + '</tbody></table></body></html>';
}

// Runs in every page before its scripts: poll each frame for "done", then
// note the time of the frame after it (what was done is painted by then).
const probe = `(() => {
  const done = () => {
    if (location.pathname === '/floor.html') return document.getElementById('last') !== null;
    if (location.pathname === '/account') return (document.querySelector('[data-testid=account-username]')?.textContent ?? '') !== '';
    const t = document.querySelector('[data-testid=vm-table]');
    return t !== null && Number(t.getAttribute('aria-rowcount')) === ${N} + 1 &&
      t.querySelector('tbody [data-testid=vm-row][aria-rowindex="2"]') !== null &&
      document.querySelector('[data-testid=guest-count]')?.textContent === ${JSON.stringify(`${N.toLocaleString('en')} guests`)};
  };
  const tick = () => {
    if (done()) requestAnimationFrame(() => setTimeout(() => { window.__done = performance.now(); }, 0));
    else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();`;

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

const browser = await launchBrowser();
let floorServer;
let failed = false;
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const login = await context.request.post(`${args.url}/api/v1/session`, { data: { realm: 'local', username: args.user, password: args.password } });
  if (login.status() !== 200) throw new Error(`login: ${login.status()} ${await login.text()}`);
  const list = await (await context.request.get(`${args.url}/api/v1/vms`)).json();
  if (list.total !== N || list.items.length !== N) throw new Error(`the server lists ${list.items.length} of ${list.total} guests, want ${N}`);
  const items = [...list.items].sort((a, b) => collator.compare(a.name, b.name));

  const html = floorHTML(items);
  floorServer = createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(html);
  });
  await new Promise((r) => floorServer.listen(0, '127.0.0.1', r));
  const floorURL = `http://127.0.0.1:${floorServer.address().port}/floor.html`;
  await context.addInitScript({ content: probe });

  async function measure(url) {
    const page = await context.newPage();
    try {
      await page.goto(url, { waitUntil: 'commit' });
      const h = await page.waitForFunction(() => window.__done, undefined, { timeout: 120000, polling: 100 });
      const ms = await h.jsonValue();
      const { dom, parts } = await page.evaluate(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const list = performance.getEntriesByType('resource').find((r) => new URL(r.name).pathname === '/api/v1/vms');
        return {
          dom: document.querySelectorAll('tbody tr').length,
          parts: { html: nav.responseEnd, dcl: nav.domContentLoadedEventEnd, listStart: list?.startTime ?? null, listEnd: list?.responseEnd ?? null },
        };
      });
      return { ms, dom, parts, page };
    } catch (err) {
      await page.close();
      throw err;
    }
  }

  // One warm-up of each (caches, the server's first list), then interleaved runs.
  for (const u of [`${args.url}/guests`, floorURL, `${args.url}/account`]) (await measure(u)).page.close();
  const portal = [];
  const floor = [];
  const shell = [];
  let domRows = 0;
  const parts = { portal: [], floor: [] };
  let lastOK = false;
  for (let i = 0; i < RUNS; i++) {
    const p = await measure(`${args.url}/guests`);
    portal.push(p.ms);
    parts.portal.push(p.parts);
    domRows = p.dom;
    if (i === RUNS - 1) {
      // After the timing: the last guest is reachable by scrolling.
      await p.page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      const last = items[items.length - 1].name;
      await p.page.locator(`[data-testid=vm-row][aria-rowindex="${N + 1}"]`).waitFor({ timeout: 5000 });
      lastOK = (await p.page.locator(`[data-testid=vm-row][aria-rowindex="${N + 1}"]`).getAttribute('data-name')) === last;
    }
    await p.page.close();
    const f = await measure(floorURL);
    floor.push(f.ms);
    parts.floor.push(f.parts);
    await f.page.close();
    const a = await measure(`${args.url}/account`);
    shell.push(a.ms);
    await a.page.close();
  }

  const pm = median(portal);
  const fm = median(floor);
  const ratio = pm / fm;
  const label = N.toLocaleString('en');
  console.log(`Guests page in Chromium, ${label} guests (test driver), navigation → every guest counted and the first screen painted (median of ${RUNS}, interleaved)`);
  console.log(`  virtportal /guests     ${pm.toFixed(0).padStart(5)} ms   (${domRows} rows in the DOM, windowed; runs ${portal.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`  static HTML floor      ${fm.toFixed(0).padStart(5)} ms   (baseline, same browser, same run: all ${label} rows; runs ${floor.map((x) => x.toFixed(0)).join(' ')})`);
  const sm = median(shell);
  console.log(`  the shell alone        ${sm.toFixed(0).padStart(5)} ms   (baseline, same run: the Account page, same bundle and session, no list; runs ${shell.map((x) => x.toFixed(0)).join(' ')})`);
  console.log(`  the list's own cost    ${(pm - sm).toFixed(0).padStart(5)} ms   (portal − shell; ratio portal/shell ${(pm / sm).toFixed(2)})`);
  console.log(`  ratio portal/floor     ${ratio.toFixed(2)}   (goal: <= ${BUDGET_RATIO}${N >= 10000 ? `, and <= ${BUDGET_10K_RATIO} at 10,000: the issue's 300 ms against 1.5 s for every row in the DOM` : ''})`);
  const at = (list, xs, m) => xs[list.indexOf(m)];
  const pp = at(portal, parts.portal, pm);
  const fp = at(floor, parts.floor, fm);
  const f0 = (x) => (x === null ? '—' : x.toFixed(0));
  console.log(`  median runs, ms after navigation: portal HTML ${f0(pp.html)}, DOMContentLoaded ${f0(pp.dcl)}, list requested ${f0(pp.listStart)}, received ${f0(pp.listEnd)}, done ${pm.toFixed(0)};` +
    ` floor HTML received ${f0(fp.html)}, DOMContentLoaded ${f0(fp.dcl)}, done ${fm.toFixed(0)}`);
  console.log(`  last guest after scrolling to the end: ${lastOK ? 'rendered' : 'MISSING'}`);
  if (!lastOK) {
    console.error('the last guest did not render after scrolling to the end');
    failed = true;
  }
  if (ratio > BUDGET_RATIO || (N >= 10000 && ratio > BUDGET_10K_RATIO)) {
    console.error(`budget missed: ${pm.toFixed(0)} ms, ${ratio.toFixed(2)} × the floor`);
    failed = true;
  }
} finally {
  await browser.close();
  floorServer?.close();
}
process.exit(failed ? 1 : 0);
