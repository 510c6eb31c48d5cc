// The guest list and detail page against the real server in demo mode:
// every guest shown, filter, sort, actions with confirmation, detail, live
// updates in place, a failing refresh, themes, narrow windows, 1,000 rows.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  advanceClock, apiGet, apiSend, launchBrowser, login, pauseClock, screenshot, trackRequests, watch, waitFor,
} from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';

let server;
let browser;
let context;
let page;
let problems;

const row = (name) => page.locator(`[data-testid=vm-row][data-name=${JSON.stringify(name)}]`);
// The table is windowed: only rows near the screen are in the DOM. Its
// aria-rowcount (header row included) counts them all; every name is
// collected by scrolling through, in the order shown (aria-rowindex).
const scanRows = () => page.evaluate(async () => {
  const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const seen = new Map();
  const grab = () => {
    for (const r of document.querySelectorAll('[data-testid=vm-row]')) {
      seen.set(Number(r.getAttribute('aria-rowindex')), { name: r.dataset.name, state: r.querySelector('[data-testid=state-badge]').dataset.state });
    }
  };
  const start = window.scrollY;
  window.scrollTo(0, 0);
  await frames();
  grab();
  while (window.scrollY + innerHeight < document.documentElement.scrollHeight - 1) {
    window.scrollBy(0, innerHeight * 0.8);
    await frames();
    grab();
  }
  window.scrollTo(0, start);
  await frames();
  return [...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
});
const rowNames = async () => (await scanRows()).map((r) => r.name);
/** Wait until the table counts n rows (aria-rowcount less the header row). */
const waitRows = (n) => waitFor(page, (k) => Number(document.querySelector('[data-testid=vm-table]')?.getAttribute('aria-rowcount')) === k + 1, n);
const listed = async () => (await apiGet(page, '/vms')).body;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
  page = await context.newPage();
  problems = watch(page);
  await login(page, server.url, 'admin', server.password);
  await page.getByTestId('vm-row').first().waitFor();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** Hide and show the tab again, as the browser would: the list is fetched at once. */
const flipVisibility = () => {
  for (const v of ['hidden', 'visible']) {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => v });
    document.dispatchEvent(new Event('visibilitychange'));
  }
};

/**
 * Make the page fetch the guest list again (the tab hidden and shown) and
 * wait for the answer and two frames. The list's states come from the event
 * stream; a fetch happens at load, on a reset, every 15 s for the usage
 * figures, and when the tab comes back.
 */
async function refetch(p = page) {
  const answered = p.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/vms' && r.request().method() === 'GET');
  await p.evaluate(flipVisibility);
  await answered;
  await p.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}

async function gotoGuests(query = '') {
  await page.goto(server.url + '/guests' + query);
  await page.getByTestId('vm-table').waitFor({ state: 'attached' });
  await waitFor(page, () => !document.querySelector('[data-testid=guests-loading]') ||
    document.querySelector('[data-testid=guests-loading]').hidden);
}

describe('guest list', () => {
  it('shows every guest the server reports, with its state', async () => {
    await gotoGuests();
    const list = await listed();
    assert.ok(list.total > 0, 'the demo has guests');
    assert.equal(list.items.length, list.total, 'the server sent the whole list');
    await waitRows(list.total);
    assert.deepEqual((await rowNames()).sort(), list.items.map((v) => v.name).sort());
    assert.equal(await page.getByTestId('guest-count').textContent(), `${list.total} guest${list.total === 1 ? '' : 's'}`);
    assert.equal(await page.getByTestId('list-incomplete').isVisible(), false);
    const states = new Map((await scanRows()).map((r) => [r.name, r.state]));
    for (const vm of list.items) assert.equal(states.get(vm.name), vm.state, vm.name);
    for (const badge of await page.getByTestId('state-badge').all()) assert.ok((await badge.textContent()).trim().length > 0);
    assert.equal(await page.getByTestId('filter-all').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.getByTestId('filter-all').getByTestId('filter-count').textContent(), String(list.total));
    await screenshot(page, 'guests-wide');
    assert.deepEqual(problems, []);
  });

  it('filters by name and by state', async () => {
    await gotoGuests();
    const list = await listed();
    const name = list.items[0].name;
    const needle = name.slice(0, Math.max(2, Math.ceil(name.length / 2)));
    await page.getByTestId('guest-search').fill(needle.toUpperCase());
    const expected = list.items.filter((v) => v.name.toLowerCase().includes(needle.toLowerCase())).map((v) => v.name).sort();
    await waitRows(expected.length);
    assert.deepEqual((await rowNames()).sort(), expected);
    assert.match(page.url(), new RegExp(`q=${needle.toUpperCase()}`));
    await page.getByTestId('guest-search').press('Escape');
    await waitRows(list.total);

    const running = list.items.filter((v) => v.state === 'running' || v.state === 'blocked').map((v) => v.name).sort();
    await page.getByTestId('filter-running').click();
    assert.equal(await page.getByTestId('filter-running').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.getByTestId('filter-running').getByTestId('filter-count').textContent(), String(running.length));
    await waitRows(running.length);
    assert.deepEqual((await rowNames()).sort(), running);
    assert.equal(await page.getByTestId('guest-count').textContent(), `Showing ${running.length} of ${list.total} guests`);

    const off = list.items.filter((v) => v.state === 'shutoff').map((v) => v.name).sort();
    await page.getByTestId('filter-shutoff').click();
    await waitRows(off.length);
    assert.deepEqual((await rowNames()).sort(), off);

    // A search that matches nothing says so and offers a way back.
    await page.getByTestId('guest-search').fill('no-guest-is-called-like-this');
    await page.getByTestId('guests-empty').waitFor();
    await page.getByTestId('clear-filters').click();
    await waitRows(list.total);
    assert.equal(await page.getByTestId('filter-all').getAttribute('aria-pressed'), 'true');
  });

  it('sorts by the column headers', async () => {
    await gotoGuests();
    const list = await listed();
    const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
    const byName = list.items.map((v) => v.name).sort(collator.compare);
    assert.deepEqual(await rowNames(), byName, 'name ascending by default');
    assert.equal(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'ascending');

    await page.getByTestId('sort-name').click();
    assert.deepEqual(await rowNames(), [...byName].reverse());
    assert.equal(await page.locator('th[aria-sort]').getAttribute('aria-sort'), 'descending');

    await page.getByTestId('sort-memory').click();
    const mem = new Map(list.items.map((v) => [v.name, v.memory_mib]));
    const order = (await rowNames()).map((n) => mem.get(n));
    for (let i = 1; i < order.length; i++) assert.ok(order[i - 1] >= order[i], `memory descending: ${order}`);
    assert.match(page.url(), /sort=-memory/);

    await page.getByTestId('sort-vcpus').click();
    await page.getByTestId('sort-vcpus').click();
    const cpus = new Map(list.items.map((v) => [v.name, v.vcpus]));
    const up = (await rowNames()).map((n) => cpus.get(n));
    for (let i = 1; i < up.length; i++) assert.ok(up[i - 1] <= up[i], `vCPUs ascending: ${up}`);
  });

  it('starts a shut-off guest and shows it running', async () => {
    await gotoGuests();
    const list = await listed();
    const vm = list.items.find((v) => v.state === 'shutoff');
    assert.ok(vm, 'the demo has a shut-off guest');
    const button = row(vm.name).getByTestId('vm-primary-action');
    assert.equal(await button.getAttribute('data-action'), 'start');
    assert.equal(await button.getAttribute('aria-label'), `Start ${vm.name}`);
    await button.click();
    const toast = page.getByTestId('toast').filter({ hasText: vm.name });
    await toast.waitFor();
    assert.equal(await toast.getAttribute('data-kind'), 'success');
    await waitFor(page, (n) => document.querySelector(`[data-testid=vm-row][data-name="${n}"] [data-testid=state-badge]`)?.dataset.state === 'running', vm.name);
    assert.equal(await row(vm.name).getByTestId('state-badge').textContent(), 'Running');
    assert.equal(await row(vm.name).getByTestId('vm-primary-action').getAttribute('data-action'), 'shutdown');
    const after = (await apiGet(page, `/vms/${encodeURIComponent(vm.name)}`)).body;
    assert.equal(after.state, 'running');
    // The next fetch of the list must not flip it back.
    await refetch();
    assert.equal(await row(vm.name).getByTestId('state-badge').getAttribute('data-state'), 'running');
  });

  it('powers off a running guest only after confirmation, by keyboard too', async () => {
    await gotoGuests();
    const list = await listed();
    const vm = list.items.find((v) => v.state === 'running');
    assert.ok(vm, 'the demo has a running guest');

    // Keyboard: the menu button, arrows, Enter.
    await row(vm.name).getByTestId('vm-menu-button').focus();
    await page.keyboard.press('Enter');
    const menu = page.getByTestId('vm-menu');
    await menu.waitFor();
    const actions = await menu.getByTestId('vm-menu-item').evaluateAll((els) => els.map((e) => e.dataset.action));
    assert.deepEqual(actions, ['reboot', 'suspend', 'reset', 'poweroff']);
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.action), 'poweroff');
    await page.keyboard.press('Enter');
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    assert.match(await dialog.locator('h2').textContent(), new RegExp(`Power off ${vm.name}\\?`));
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'confirm-cancel', 'the safe choice has the focus');
    await screenshot(page, 'confirm-dialog');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'vm-menu-button', 'focus returns to the menu button');
    await page.waitForTimeout(300);
    assert.equal((await apiGet(page, `/vms/${encodeURIComponent(vm.name)}`)).body.state, 'running', 'cancel did nothing');

    // Mouse: confirm this time.
    await row(vm.name).getByTestId('vm-menu-button').click();
    await menu.getByTestId('vm-menu-item').and(page.locator('[data-action=poweroff]')).click();
    await dialog.getByTestId('confirm-accept').click();
    await waitFor(page, (n) => document.querySelector(`[data-testid=vm-row][data-name="${n}"] [data-testid=state-badge]`)?.dataset.state === 'shutoff', vm.name);
    assert.equal((await apiGet(page, `/vms/${encodeURIComponent(vm.name)}`)).body.state, 'shutoff');
    await page.getByTestId('toast').filter({ hasText: `${vm.name} is powered off.` }).waitFor();
  });

  it('shows the server’s message when an action is refused', async () => {
    await gotoGuests();
    const list = await listed();
    const vm = list.items.find((v) => v.state === 'shutoff');
    // The row still offers Start, but the guest was started behind the page's back.
    await page.route(`**/api/v1/vms/${encodeURIComponent(vm.name)}/start`, (route) => route.fulfill({
      status: 409, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'conflict', message: `guest ${vm.name} is already running` } }),
    }));
    await row(vm.name).getByTestId('vm-primary-action').click();
    const toast = page.getByTestId('toast').and(page.locator('[data-kind=error]'));
    await toast.waitFor();
    assert.match(await toast.textContent(), new RegExp(`Start ${vm.name} failed`));
    assert.match(await toast.textContent(), /already running/);
    assert.equal(await row(vm.name).getAttribute('aria-busy'), null, 'the row is not left busy');
    await page.unroute(`**/api/v1/vms/${encodeURIComponent(vm.name)}/start`);
  });

  it('updates rows in place from the event stream, keeping focus and open menus', async () => {
    await gotoGuests();
    const list = await listed();
    const vm = list.items.find((v) => v.state === 'running') ?? list.items[0];
    // Another guest changes: started through the API, not from this page.
    const onScreen = await page.$$eval('[data-testid=vm-row][data-state=shutoff]', (rows) => rows.map((r) => r.dataset.name));
    const other = onScreen.find((n) => n !== vm.name);
    assert.ok(other, 'a shut-off guest on screen');
    await page.evaluate((n) => {
      window.__marked = document.querySelector(`[data-testid=vm-row][data-name="${n}"]`);
    }, vm.name);
    await row(vm.name).getByTestId('vm-menu-button').click();
    await page.getByTestId('vm-menu').waitFor();
    assert.equal((await apiSend(page, 'POST', `/vms/${encodeURIComponent(other)}/start`)).status, 200);
    await waitFor(page, (n) => document.querySelector(`[data-testid=vm-row][data-name="${n}"]`)?.dataset.state === 'running', other, 5000);
    assert.equal(await page.evaluate((n) => window.__marked === document.querySelector(`[data-testid=vm-row][data-name="${n}"]`) && window.__marked.isConnected, vm.name), true, 'same row element');
    assert.equal(await page.getByTestId('vm-menu').count(), 1, 'menu still open');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('role')), 'menuitem', 'focus still in the menu');
    await page.keyboard.press('Escape');
    assert.equal((await apiSend(page, 'POST', `/vms/${encodeURIComponent(other)}/poweroff`)).status, 200);
    await waitFor(page, (n) => document.querySelector(`[data-testid=vm-row][data-name="${n}"]`)?.dataset.state === 'shutoff', other, 5000);
  });

  it('follows the event stream, with a slow refresh for the figures only, none while the tab is hidden', async () => {
    // Playwright's clock: the page's timers are stepped through, not waited for.
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    await ctx.clock.install();
    const p = await ctx.newPage();
    try {
      await login(p, server.url, 'admin', server.password);
      await p.getByTestId('vm-row').first().waitFor();
      const tracker = trackRequests(p);
      const calls = [];
      p.on('request', (req) => {
        if (new URL(req.url()).pathname === '/api/v1/vms') calls.push(req);
      });
      await pauseClock(p);
      await advanceClock(p, tracker, 100);
      const start = calls.length;
      // A guest started elsewhere (the API, as another user would): its row
      // changes within a second of the page's time, from the stream, without
      // a fetch of the list.
      const name = await p.$eval('[data-testid=vm-row][data-state=shutoff]', (r) => r.dataset.name);
      assert.equal((await apiSend(p, 'POST', `/vms/${encodeURIComponent(name)}/start`)).status, 200);
      const state = () => p.$eval(`[data-testid=vm-row][data-name=${JSON.stringify(name)}]`, (r) => r.dataset.state);
      for (let i = 0; i < 10 && (await state()) !== 'running'; i++) await advanceClock(p, tracker, 100);
      assert.equal(await state(), 'running', 'the row follows the stream');
      assert.equal(await p.$eval(`[data-testid=vm-row][data-name=${JSON.stringify(name)}] [data-testid=state-badge]`, (b) => b.textContent), 'Running');
      assert.equal(calls.length, start, 'no fetch of the list for it');
      // And back, the same way.
      assert.equal((await apiSend(p, 'POST', `/vms/${encodeURIComponent(name)}/poweroff`)).status, 200);
      for (let i = 0; i < 10 && (await state()) !== 'shutoff'; i++) await advanceClock(p, tracker, 100);
      assert.equal(await state(), 'shutoff');
      assert.equal(calls.length, start, 'still no fetch');

      // No 3 s poll: the usage figures are fetched every 15 s.
      await advanceClock(p, tracker, 6000, 500);
      assert.equal(calls.length, start, 'nothing in 6 s');
      await advanceClock(p, tracker, 12000, 500);
      assert.equal(calls.length, start + 1, 'one fetch for the figures within 15 s');
      await advanceClock(p, tracker, 15000, 500);
      assert.equal(calls.length, start + 2, 'and one 15 s later');
      // Hide the tab as the browser would.
      const setVisibility = (v) => p.evaluate((st) => {
        Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => st });
        document.dispatchEvent(new Event('visibilitychange'));
      }, v);
      await setVisibility('hidden');
      const hiddenAt = calls.length;
      await advanceClock(p, tracker, 40000, 1000);
      assert.equal(calls.length, hiddenAt, 'no fetch while hidden');
      await setVisibility('visible');
      await advanceClock(p, tracker, 1);
      assert.equal(calls.length, hiddenAt + 1, 'fetched at once when visible again');
      await advanceClock(p, tracker, 15100, 500);
      assert.equal(calls.length, hiddenAt + 2, 'and every 15 s again');
    } finally {
      await ctx.close();
    }
  });

  it('keeps the last data, marked stale, when a refresh fails, and recovers', async () => {
    await gotoGuests();
    const count = (await rowNames()).length;
    await page.route('**/api/v1/vms', (route) => route.fulfill({
      status: 503, contentType: 'application/json',
      body: JSON.stringify({ error: { code: 'unavailable', message: 'libvirt is not reachable.' } }),
    }));
    await refetch();
    const banner = page.getByTestId('refresh-error');
    await banner.waitFor({ timeout: 10000 });
    // The code (unavailable) through the catalog.
    assert.match(await banner.textContent(), /A service the portal needs is unavailable right now/);
    assert.equal(await page.getByTestId('stale').isVisible(), true);
    assert.equal((await rowNames()).length, count, 'rows are kept');
    await page.unroute('**/api/v1/vms');
    await page.getByTestId('retry').click();
    await banner.waitFor({ state: 'hidden' });
    assert.equal(await page.getByTestId('stale').isVisible(), false);
  });

  it('says so when the server sends fewer guests than it counts', async () => {
    await page.route('**/api/v1/vms', async (route) => {
      const res = await route.fetch();
      const body = await res.json();
      route.fulfill({ response: res, json: { items: body.items.slice(1), total: body.total } });
    });
    await gotoGuests();
    const banner = page.getByTestId('list-incomplete');
    await banner.waitFor();
    assert.match(await banner.textContent(), /incomplete/);
    await page.unroute('**/api/v1/vms');
  });
});

describe('guest detail', () => {
  it('opens from the list and shows fields, devices and actions', async () => {
    await gotoGuests();
    const list = await listed();
    const vm = list.items.find((v) => v.state === 'running') ?? list.items[0];
    await row(vm.name).locator('a.vm-name').click();
    await page.waitForURL((u) => u.pathname === `/guests/${encodeURIComponent(vm.name)}`);
    assert.equal(await page.getByTestId('guest-name').textContent(), vm.name);
    const detail = (await apiGet(page, `/vms/${encodeURIComponent(vm.name)}`)).body;
    await page.getByTestId('fact-uuid').waitFor();
    assert.equal(await page.getByTestId('fact-uuid').textContent(), detail.uuid);
    assert.equal(await page.getByTestId('state-badge').getAttribute('data-state'), detail.state);
    const disks = detail.devices?.disks ?? [];
    if (disks.length) assert.equal(await page.getByTestId('disks-table').locator('tbody tr').count(), disks.length);
    else await page.getByTestId('disks-table-empty').waitFor();
    const nics = detail.devices?.nics ?? [];
    if (nics.length) assert.equal(await page.getByTestId('nics-table').locator('tbody tr').count(), nics.length);
    else await page.getByTestId('nics-table-empty').waitFor();
    assert.equal(await page.title(), `${vm.name} · ${await page.getByTestId('brand').textContent()}`);
    await screenshot(page, 'detail', { fullPage: true });
    await page.goBack();
    await page.waitForURL((u) => u.pathname === '/guests');
    await page.getByTestId('vm-row').first().waitFor();
    assert.deepEqual(problems, []);
  });

  it('answers an unknown guest with a clear page', async () => {
    await page.goto(server.url + '/guests/no-such-guest-here');
    await page.getByTestId('guest-not-found').waitFor();
  });

  it('deletes a shut-off guest, keeping its volumes unless asked', async () => {
    const list = await listed();
    const vm = list.items.find((v) => v.state === 'shutoff');
    assert.ok(vm, 'a shut-off guest to delete');
    await page.goto(server.url + `/guests/${encodeURIComponent(vm.name)}`);
    await page.getByTestId('vm-menu-button').click();
    await page.getByTestId('vm-menu').locator('[data-action=delete]').click();
    const dialog = page.getByTestId('confirm-dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), new RegExp(`Delete ${vm.name}\\?`));
    assert.equal(await dialog.getByTestId('confirm-delete-volumes').isChecked(), false, 'volumes are kept by default');
    await dialog.getByTestId('confirm-accept').click();
    await page.waitForURL((u) => u.pathname === '/guests');
    await page.getByTestId('toast').filter({ hasText: `${vm.name} was deleted` }).waitFor();
    await waitFor(page, (n) => !document.querySelector(`[data-testid=vm-row][data-name="${n}"]`), vm.name);
    const now = await listed();
    assert.equal(now.total, list.total - 1);
    assert.equal((await apiGet(page, `/vms/${encodeURIComponent(vm.name)}`)).status, 404);
  });
});

describe('shell', () => {
  it('navigates between sections with history', async () => {
    await gotoGuests();
    await page.getByTestId('nav-templates').click();
    await page.locator('#templates-title').waitFor();
    assert.equal(new URL(page.url()).pathname, '/templates');
    assert.equal(await page.getByTestId('nav-templates').getAttribute('aria-current'), 'page');
    await page.getByTestId('nav-host').click();
    await page.getByTestId('host-hostname').waitFor();
    // The one host's page is /hosts/{name}; /host leads there.
    const hosts = (await apiGet(page, '/hosts')).body.items;
    assert.equal(new URL(page.url()).pathname, `/hosts/${hosts[0].name}`);
    assert.equal(await page.getByTestId('host-switcher').count(), 0, 'no switcher for one host');
    const host = (await apiGet(page, `/hosts/${hosts[0].name}`)).body;
    assert.equal(host.name, hosts[0].name);
    assert.equal(await page.getByTestId('host-hostname').textContent(), host.hostname);
    assert.equal(await page.getByTestId('host-summary').getAttribute('href'), `/hosts/${host.name}`);
    assert.equal(await page.getByTestId('host-name').textContent(), host.hostname);
    assert.equal(await page.getByTestId('demo-badge').isVisible(), host.demo);
    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-row').first().waitFor();
    const actions = await page.$$eval('[data-testid=audit-row] td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
    assert.ok(actions.includes('session.login'), `the audit log shows the sign-in (${actions.slice(0, 5)})`);
    await page.goBack();
    await page.getByTestId('host-hostname').waitFor();
    await page.goBack();
    await page.locator('#templates-title').waitFor();
    await page.goBack();
    await page.getByTestId('vm-table').waitFor();
  });

  it('switches to the dark theme and remembers it', async () => {
    await gotoGuests();
    const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const light = await bg();
    await page.getByTestId('user-menu-button').click();
    const toggle = page.getByTestId('theme-toggle');
    assert.equal(await toggle.getAttribute('aria-checked'), 'false');
    await toggle.click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    assert.equal(await page.getByTestId('theme-toggle').getAttribute('aria-checked'), 'true');
    assert.notEqual(await bg(), light);
    await page.keyboard.press('Escape');
    await page.reload();
    await page.getByTestId('vm-row').first().waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'kept after reload');
    await screenshot(page, 'guests-dark');
    await page.goto(server.url + '/guests/' + encodeURIComponent(await page.getByTestId('vm-row').first().getAttribute('data-name')));
    await page.getByTestId('fact-uuid').waitFor();
    await screenshot(page, 'detail-dark', { fullPage: true });
    await page.getByTestId('user-menu-button').click();
    await page.getByTestId('theme-toggle').click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
    await page.keyboard.press('Escape');
  });

  it('follows the system theme until the user chooses', async () => {
    const ctx = await browser.newContext({ viewport: { width: 800, height: 600 }, colorScheme: 'dark' });
    try {
      const p = await ctx.newPage();
      await p.goto(server.url + '/login');
      await p.getByTestId('login-form').waitFor();
      const [scheme, bg] = await p.evaluate(() => [getComputedStyle(document.documentElement).colorScheme, getComputedStyle(document.body).backgroundColor]);
      assert.match(scheme, /dark/);
      assert.equal(bg, 'rgb(14, 16, 20)');
      await screenshot(p, 'login-dark');
    } finally {
      await ctx.close();
    }
  });

  it('keeps every column inside the window at medium widths', async () => {
    try {
      await gotoGuests();
      for (const width of [1399, 1299, 1169, 1029, 900, 761]) {
        await page.setViewportSize({ width, height: 700 });
        const m = await page.evaluate(() => {
          const wrap = document.querySelector('.table-wrap').getBoundingClientRect();
          const cells = [...document.querySelectorAll('[data-testid=vm-row]:first-child > *')].filter((c) => getComputedStyle(c).display !== 'none');
          return {
            overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
            right: Math.max(...cells.map((c) => c.getBoundingClientRect().right)),
            wrap: wrap.right,
            header: document.querySelector('.topbar-end').getBoundingClientRect().right,
          };
        });
        assert.ok(m.overflow <= 0, `${width}px: page overflows by ${m.overflow}px`);
        assert.ok(m.right <= m.wrap + 0.5, `${width}px: a cell ends at ${m.right}, past the table at ${m.wrap}`);
        assert.ok(m.header <= width, `${width}px: the header ends at ${m.header}`);
      }
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });

  it('fits a narrow phone screen', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await gotoGuests();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `no horizontal overflow (got ${overflow}px)`);
      // Every row is a card that fits the width.
      const widest = await page.$$eval('[data-testid=vm-row]', (rows) => Math.max(...rows.map((r) => r.getBoundingClientRect().right)));
      assert.ok(widest <= 390, `rows fit (${widest})`);
      assert.equal(await page.getByTestId('sort-select').isVisible(), true);
      await page.getByTestId('sort-select').selectOption('-name');
      const names = await rowNames();
      const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
      assert.deepEqual(names, [...names].sort(collator.compare).reverse());
      await page.getByTestId('sort-select').selectOption('name');
      await screenshot(page, 'guests-narrow');
      await page.getByTestId('vm-row').first().getByTestId('vm-menu-button').click();
      await screenshot(page, 'guests-narrow-menu');
      await page.keyboard.press('Escape');
      const name = await page.getByTestId('vm-row').first().getAttribute('data-name');
      await page.goto(server.url + '/guests/' + encodeURIComponent(name));
      await page.getByTestId('fact-uuid').waitFor();
      const o2 = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(o2 <= 0, `detail: no horizontal overflow (got ${o2}px)`);
      await screenshot(page, 'detail-narrow', { fullPage: true });
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }
  });
});

describe('scale', () => {
  /** n generated guests, as the API sends them. */
  const generate = (n) => Array.from({ length: n }, (_, i) => ({
    name: `guest-${String(i).padStart(5, '0')}`, uuid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    state: i % 4 === 0 ? 'shutoff' : 'running', persistent: true, autostart: false, vcpus: 1 + (i % 8), memory_mib: 1024 * (1 + (i % 4)),
    cpu_percent: (i * 7) % 100, mem_percent: (i * 3) % 100, disk_read_bps: i * 1000, disk_write_bps: i * 10, net_rx_bps: i * 100, net_tx_bps: i,
    graphics: i % 2 ? 'vnc' : '', os: { distro: 'debian', version: '12', arch: 'x86_64' },
  }));
  /** Serve many as the guest list; every answer differs a little, as live numbers do. */
  async function serve(many) {
    let served = 0;
    await page.route('**/api/v1/vms', (route) => {
      served++;
      const items = many.map((v) => (v.state === 'running' ? { ...v, cpu_percent: (v.cpu_percent + served * 3) % 100 } : v));
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ items, total: items.length }) });
    });
  }
  const domRows = () => page.evaluate(() => document.querySelectorAll('[data-testid=vm-row]').length);

  it('renders 10,000 guests windowed: few rows in the DOM, the whole count, the last guest by scrolling, a deep one by search', async () => {
    const many = generate(10000);
    await serve(many);
    try {
      await page.goto(server.url + '/guests');
      await waitRows(10000);
      await page.getByTestId('vm-row').first().waitFor();
      const ms = await page.evaluate(() => performance.now());
      console.log(`10,000 guests: first screen and full count ${ms.toFixed(0)} ms after navigation start`);
      assert.equal(await page.getByTestId('guest-count').textContent(), '10,000 guests', 'the count is the total, never the rows in the DOM');
      assert.equal(await page.getByTestId('filter-all').getByTestId('filter-count').textContent(), '10,000');
      const n = await domRows();
      assert.ok(n > 0 && n <= 60, `a window of rows in the DOM, not all of them (${n})`);
      assert.equal(await page.getByTestId('vm-row').first().getAttribute('data-name'), 'guest-00000');
      assert.equal(await page.getByTestId('vm-row').first().getAttribute('aria-rowindex'), '2');
      // The page is as tall as all rows: scrolling to the end renders the last ones.
      await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await row('guest-09999').waitFor();
      assert.equal(await row('guest-09999').getAttribute('aria-rowindex'), '10001');
      assert.ok(await row('guest-09999').isVisible());
      assert.ok((await domRows()) <= 60, 'still a window after scrolling');
      await screenshot(page, 'guests-10000-end');
      // A guest deep in the list, by search.
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.getByTestId('guest-search').fill('guest-08765');
      await waitRows(1);
      assert.deepEqual(await rowNames(), ['guest-08765']);
      assert.equal(await page.getByTestId('guest-count').textContent(), 'Showing 1 of 10,000 guests');
      await page.getByTestId('guest-search').fill('guest-0876');
      await waitRows(10);
      assert.deepEqual(await rowNames(), Array.from({ length: 10 }, (_, i) => `guest-0876${i}`));
      await page.getByTestId('guest-search').press('Escape');
      await waitRows(10000);
      // Sorting 10,000 rows: the first row is the largest memory.
      await page.getByTestId('sort-memory').click();
      assert.equal(await page.getByTestId('vm-row').first().locator('.c-memory').textContent(), '4 GiB');
      await page.getByTestId('sort-name').click();
      await screenshot(page, 'guests-10000');
      // Narrow: the cards are windowed too, and the last one is reachable.
      await page.setViewportSize({ width: 390, height: 844 });
      try {
        await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
        await row('guest-09999').waitFor();
        assert.ok(await row('guest-09999').isVisible());
        assert.ok((await domRows()) <= 40, `a window of cards (${await domRows()})`);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `no horizontal overflow (${overflow}px)`);
        await screenshot(page, 'guests-10000-narrow-end');
      } finally {
        await page.setViewportSize({ width: 1440, height: 900 });
      }
      assert.deepEqual(problems, []);
    } finally {
      await page.unroute('**/api/v1/vms');
    }
  });

  it('moves through 10,000 rows by keyboard', async () => {
    await serve(generate(10000));
    try {
      await page.goto(server.url + '/guests');
      await waitRows(10000);
      const focused = () => page.evaluate(() => {
        const el = document.activeElement;
        const tr = el?.closest('tr');
        return { name: tr?.dataset.name ?? null, index: tr?.getAttribute('aria-rowindex') ?? null, cell: el?.cellIndex ?? null, tabindex: el?.getAttribute('tabindex') };
      });
      assert.equal(await page.getByTestId('vm-table').getAttribute('role'), 'grid');
      // The first cell is the one in the tab order.
      assert.equal(await page.locator('[data-testid=vm-table] tbody [tabindex="0"]').count(), 1);
      await page.locator('[data-testid=vm-table] tbody [tabindex="0"]').focus();
      assert.deepEqual(await focused(), { name: 'guest-00000', index: '2', cell: 0, tabindex: '0' });
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      assert.deepEqual(await focused(), { name: 'guest-00002', index: '4', cell: 0, tabindex: '0' });
      await page.keyboard.press('ArrowRight');
      assert.equal((await focused()).cell, 1);
      await page.keyboard.press('ArrowLeft');
      await page.keyboard.press('PageDown');
      const paged = await focused();
      assert.ok(Number(paged.index) > 8, `Page Down moves a screen (${paged.index})`);
      await page.keyboard.press('Control+End');
      assert.deepEqual(await focused(), { name: 'guest-09999', index: '10001', cell: 0, tabindex: '0' });
      assert.ok(await row('guest-09999').isVisible(), 'scrolled to the last row');
      await page.keyboard.press('ArrowUp');
      assert.equal((await focused()).name, 'guest-09998');
      await page.keyboard.press('Control+Home');
      assert.deepEqual(await focused(), { name: 'guest-00000', index: '2', cell: 0, tabindex: '0' });
      assert.equal(await page.locator('[data-testid=vm-table] tbody [tabindex="0"]').count(), 1, 'one cell in the tab order');
      // Enter on the name cell opens the guest.
      await page.keyboard.press('Enter');
      await page.waitForURL((u) => u.pathname === '/guests/guest-00000');
      assert.deepEqual(problems.filter((p) => !/404|guest-00000/.test(p)), []);
    } finally {
      await page.unroute('**/api/v1/vms');
    }
  });

  it('keeps 1,000 live guests cheap to refresh', async () => {
    await serve(generate(1000));
    try {
      await page.goto(server.url + '/guests');
      await waitRows(1000);
      assert.equal(await page.getByTestId('guest-count').textContent(), '1,000 guests');
      // A live refresh: measure the longest task it causes.
      const worst = await page.evaluate(async () => {
        let longest = 0;
        const obs = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) longest = Math.max(longest, e.duration);
        });
        obs.observe({ type: 'longtask', buffered: false });
        const note = document.querySelector('[data-testid=refresh-note]');
        // The list is fetched again when the tab comes back (a second on, so that the note's time differs).
        await new Promise((r) => setTimeout(r, 1100));
        const before = note.textContent;
        for (const v of ['hidden', 'visible']) {
          Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => v });
          document.dispatchEvent(new Event('visibilitychange'));
        }
        await new Promise((resolve) => {
          const mo = new MutationObserver(() => {
            if (note.textContent !== before) {
              mo.disconnect();
              resolve();
            }
          });
          mo.observe(note, { childList: true, characterData: true, subtree: true });
        });
        await new Promise((r) => setTimeout(r, 200));
        obs.disconnect();
        return longest;
      });
      console.log(`longest task during a 1,000-row refresh: ${worst.toFixed(0)} ms`);
      assert.ok(worst < 250, `refresh blocked the page for ${worst} ms`);
    } finally {
      await page.unroute('**/api/v1/vms');
    }
  });
});
