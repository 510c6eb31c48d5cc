// Pool management on the Storage page and the Networks page's autostart,
// against the real server in demo mode (the libvirt test driver): a dir
// pool created from the New pool dialog (bad input refused next to its
// field, the API's refusal shown), stopped and deleted with confirmations;
// stopping a pool running guests use refused naming them; and pools and
// networks another admin makes appear without a reload (the event stream).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, apiSend, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

describe('pool management', () => {
  it('creates, starts, stops and deletes a dir pool from the Storage page', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.getByTestId('nav-storage').click();
    await page.getByTestId('pool-card').first().waitFor();
    const before = (await apiGet(page, '/hosts/local/pools')).body.items.length;

    await page.getByTestId('pool-new').click();
    await page.getByTestId('pool-new-dialog').waitFor();
    // The type decides the source fields.
    await page.getByTestId('pool-type').selectOption('iscsi');
    assert.equal(await page.getByTestId('pool-iqn').isVisible(), true);
    assert.equal(await page.getByTestId('pool-devices').isVisible(), false);
    await screenshot(page, 'pools-new-iscsi-1440');
    await page.getByTestId('pool-type').selectOption('logical');
    assert.equal(await page.getByTestId('pool-vg').isVisible(), true);
    assert.equal(await page.getByTestId('pool-iqn').isVisible(), false);
    await page.getByTestId('pool-type').selectOption('dir');
    assert.equal(await page.getByTestId('pool-host').isVisible(), false);

    // Bad input is refused next to its field; nothing is sent.
    await page.getByTestId('pool-name').fill('../etc/x');
    await page.getByTestId('dialog-accept').click();
    await page.getByTestId('pool-name-error').waitFor();
    await page.getByTestId('pool-name').fill('e2e-pool');
    await page.getByTestId('pool-path').fill('/srv/../etc');
    await page.getByTestId('dialog-accept').click();
    await page.getByTestId('pool-path-error').waitFor();
    assert.equal(await page.getByTestId('pool-name-error').isVisible(), false);
    // The server's refusal (a name taken) is shown in the dialog.
    await page.getByTestId('pool-name').fill('default');
    await page.getByTestId('pool-path').fill('/srv/e2e-pool');
    await page.getByTestId('dialog-accept').click();
    await waitFor(page, () => /exists/.test(document.querySelector('[data-testid=pool-new-dialog]')?.textContent ?? ''));
    assert.equal((await apiGet(page, '/hosts/local/pools')).body.items.length, before);

    // A real one.
    await page.getByTestId('pool-name').fill('e2e-pool');
    await page.getByTestId('pool-new-autostart').uncheck();
    await page.getByTestId('dialog-accept').click();
    const card = page.locator('[data-testid=pool-card][data-name="e2e-pool"]');
    await card.waitFor();
    const made = (await apiGet(page, '/hosts/local/pools/e2e-pool')).body;
    assert.equal(made.type, 'dir');
    assert.equal(made.path, '/srv/e2e-pool');
    assert.equal(made.state, 'running');
    assert.equal(made.autostart, false);

    await card.click();
    const acts = page.getByTestId('pool-actions');
    await acts.waitFor();
    assert.equal(await acts.getByTestId('pool-delete').isDisabled(), true, 'a running pool cannot be deleted');
    await acts.getByTestId('pool-autostart').click();
    await waitFor(page, () => document.querySelector('[data-testid=pool-autostart]')?.getAttribute('aria-pressed') === 'true');
    assert.equal((await apiGet(page, '/hosts/local/pools/e2e-pool')).body.autostart, true);
    await acts.getByTestId('pool-refresh').click();
    await acts.getByTestId('pool-stop').click();
    await page.getByTestId('confirm-accept').click();
    await acts.getByTestId('pool-start').waitFor();
    assert.equal((await apiGet(page, '/hosts/local/pools/e2e-pool')).body.state, 'inactive');
    await acts.getByTestId('pool-start').click();
    await acts.getByTestId('pool-stop').waitFor();
    assert.equal((await apiGet(page, '/hosts/local/pools/e2e-pool')).body.state, 'running');
    await screenshot(page, 'pools-1440');
    await acts.getByTestId('pool-stop').click();
    await page.getByTestId('confirm-accept').click();
    await acts.getByTestId('pool-start').waitFor();
    await acts.getByTestId('pool-delete').click();
    await page.getByTestId('confirm-accept').click();
    await card.waitFor({ state: 'detached' });
    assert.equal((await apiGet(page, '/hosts/local/pools/e2e-pool')).status, 404);

    // The default pool holds running guests' disks: stopping it is refused, naming them.
    await page.locator('[data-testid=pool-card][data-name=default]').click();
    await acts.getByTestId('pool-stop').click();
    await page.getByTestId('confirm-accept').click();
    await page.getByTestId('pool-action-error').waitFor();
    const refusal = await page.getByTestId('pool-action-error').textContent();
    const running = (await apiGet(page, '/vms')).body.items.filter((v) => v.state === 'running').map((v) => v.name);
    assert.ok(running.some((g) => refusal.includes(g)), `the refusal names a running guest: ${refusal}`);
    assert.equal((await apiGet(page, '/hosts/local/pools/default')).body.state, 'running');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('shows pools and networks another admin makes, without a reload', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    const other = await (await browser.newContext()).newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await login(other, server.url, 'admin', server.password);
    await page.goto(server.url + '/storage');
    await page.getByTestId('pool-card').first().waitFor();
    const made = await apiSend(other, 'POST', '/hosts/local/pools', { name: 'e2e-live', type: 'dir', path: '/srv/e2e-live' });
    assert.equal(made.status, 201);
    await page.locator('[data-testid=pool-card][data-name="e2e-live"]').waitFor();
    assert.equal((await apiSend(other, 'POST', '/hosts/local/pools/e2e-live/stop')).status, 200);
    await waitFor(page, () => document.querySelector('[data-testid=pool-card][data-name="e2e-live"] [data-testid=pool-state]')?.textContent === 'Stopped');
    assert.equal((await apiSend(other, 'DELETE', '/hosts/local/pools/e2e-live')).status, 204);
    await page.locator('[data-testid=pool-card][data-name="e2e-live"]').waitFor({ state: 'detached' });

    await page.getByTestId('nav-networks').click();
    await page.getByTestId('network-card').first().waitFor();
    assert.equal((await apiSend(other, 'POST', '/hosts/local/networks', { name: 'e2e-live', kind: 'isolated', dhcp: true })).status, 201);
    const card = page.locator('[data-testid=network-card][data-name="e2e-live"]');
    await card.waitFor();
    // Autostart from the card.
    const auto = card.getByTestId('network-autostart');
    const was = (await apiGet(page, '/hosts/local/networks/e2e-live')).body.autostart;
    await auto.click();
    await waitFor(page, (w) => document.querySelector('[data-testid=network-card][data-name="e2e-live"] [data-testid=network-autostart]')?.getAttribute('aria-pressed') === String(!w), was);
    assert.equal((await apiGet(page, '/hosts/local/networks/e2e-live')).body.autostart, !was);
    assert.equal((await apiSend(other, 'DELETE', '/hosts/local/networks/e2e-live')).status, 204);
    await card.waitFor({ state: 'detached' });
    assert.deepEqual(problems, []);
    await other.context().close();
    await context.close();
  });
});
