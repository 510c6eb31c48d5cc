// The Storage page against the real server in demo mode (the libvirt test
// driver): pools with their capacity, the default pool's volumes with the
// guests using them, a volume created from the dialog (a task) and deleted
// again, a hostile name refused before anything is sent, and the ISO
// library (which says once that the test driver cannot read ISOs).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

describe('storage page', () => {
  it('shows pools and volumes, creates and deletes a volume', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.getByTestId('nav-storage').click();
    await page.getByTestId('pool-card').first().waitFor();
    const pools = (await apiGet(page, '/hosts/local/pools')).body.items;
    const names = await page.$$eval('[data-testid=pool-card]', (cs) => cs.map((c) => c.dataset.name));
    assert.deepEqual(names, pools.map((p) => p.name));
    assert.equal(await page.locator('[data-testid=pool-card][data-name=default]').getAttribute('aria-pressed'), 'true');

    // The volumes of the default pool, with the guests using them.
    await page.getByTestId('volume-row').first().waitFor();
    const vols = (await apiGet(page, '/hosts/local/pools/default/volumes')).body.items;
    const used = vols.find((v) => v.used_by.length > 0);
    const row = page.locator(`[data-testid=volume-row][data-name="${used.name}"]`);
    await row.waitFor();
    assert.match(await row.getByTestId('volume-used-by').textContent(), new RegExp(used.used_by[0]));
    assert.equal(await row.getByTestId('volume-delete').isDisabled(), true, 'a volume in use cannot be deleted');
    const spare = vols.find((v) => v.used_by.length === 0);
    assert.ok(spare, 'the demo pool has a volume no guest uses');
    await page.getByTestId('volume-search').fill(spare.name);
    const spareRow = page.locator(`[data-testid=volume-row][data-name="${spare.name}"]`);
    await spareRow.waitFor();
    assert.equal(await spareRow.getByTestId('volume-delete').isDisabled(), false);
    await page.getByTestId('volume-search').fill('');
    await screenshot(page, 'storage-1440');

    // A hostile name is refused in the dialog; nothing is created.
    await page.getByTestId('volume-create').click();
    await page.getByTestId('vol-name').fill('../etc/x');
    await page.getByTestId('dialog-accept').click();
    await page.getByTestId('vol-error').waitFor();
    assert.equal((await apiGet(page, '/hosts/local/pools/default/volumes')).body.items.length, vols.length);

    // A real one: a task, then the row.
    await page.getByTestId('vol-name').fill('e2e-data.qcow2');
    await page.getByTestId('vol-size').fill('2');
    await page.getByTestId('dialog-accept').click();
    // The tasks drawer opens on the new task, which ends done.
    const drawer = page.getByTestId('tasks-drawer');
    await drawer.waitFor();
    await waitFor(page, () => /e2e-data\.qcow2/.test(document.querySelector('[data-testid=tasks-drawer]')?.textContent ?? ''));
    const created = page.locator('[data-testid=volume-row][data-name="e2e-data.qcow2"]');
    await created.waitFor({ timeout: 15000 });
    await page.getByTestId('tasks-close').click();
    await drawer.waitFor({ state: 'hidden' });
    const vol = (await apiGet(page, '/hosts/local/pools/default/volumes/e2e-data.qcow2')).body;
    assert.equal(vol.capacity, 2 * 1024 ** 3);
    assert.equal(vol.format, 'qcow2');

    await page.getByTestId('volume-search').fill('e2e-');
    await waitFor(page, () => document.querySelectorAll('[data-testid=volume-row]').length === 1);
    await created.getByTestId('volume-delete').click();
    await page.getByTestId('confirm-accept').click();
    await created.waitFor({ state: 'detached' });
    assert.equal((await apiGet(page, '/hosts/local/pools/default/volumes/e2e-data.qcow2')).status, 404);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('lists the ISO library and says once that this host cannot read ISOs', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password, '/login');
    await page.goto(server.url + '/storage');
    await page.getByTestId('iso-row').first().waitFor();
    const lib = (await apiGet(page, '/hosts/local/isos')).body;
    assert.equal(lib.unavailable, 'volume_read_not_supported', 'the demo runs on the test driver');
    const rows = await page.$$eval('[data-testid=iso-row]', (rs) => rs.map((r) => [r.dataset.pool, r.dataset.name, r.dataset.status]));
    assert.deepEqual(rows, lib.items.map((i) => [i.pool, i.name, 'unavailable']));
    assert.ok(rows.length > 0, 'the demo has ISOs');
    assert.equal(await page.getByTestId('isos-unavailable').count(), 1, 'said once');
    assert.equal(await page.getByTestId('isos-unavailable').isVisible(), true);
    await page.getByTestId('isos-card').scrollIntoViewIfNeeded();
    await screenshot(page, 'storage-isos-1440');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('fits a phone', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password, '/login');
    await page.goto(server.url + '/storage?pool=default');
    await page.getByTestId('volume-row').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await screenshot(page, 'storage-390', { fullPage: false });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
