// Volume row actions on the Storage page against the real server in demo
// mode (the libvirt test driver): a clone made from the dialog (a task in
// the drawer, then the new row), a hostile name refused before anything
// is sent, the wipe the test driver cannot do said plainly, and the
// download link of each volume.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

describe('volume actions', () => {
  it('clones a volume from the page', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.goto(server.url + '/storage?pool=default');
    await page.getByTestId('volume-row').first().waitFor();
    const vols = (await apiGet(page, '/hosts/local/pools/default/volumes')).body.items;
    const spare = vols.find((v) => v.used_by.length === 0);
    assert.ok(spare, 'the demo pool has a volume no guest uses');
    await page.getByTestId('volume-search').fill(spare.name);
    const row = page.locator(`[data-testid=volume-row][data-name="${spare.name}"]`);
    await row.waitFor();
    await row.getByTestId('volume-menu').click();
    assert.equal(await page.getByTestId('volume-download').getAttribute('data-href'),
      `/api/v1/hosts/local/pools/default/volumes/${encodeURIComponent(spare.name)}/content`);

    // A hostile name is refused in the dialog; nothing is created.
    await page.getByTestId('volume-clone').click();
    await page.getByTestId('volume-clone-dialog').waitFor();
    assert.match(await page.getByTestId('vol-clone-name').inputValue(), /-copy/);
    await page.getByTestId('vol-clone-name').fill('../etc/x');
    await page.getByTestId('dialog-accept').click();
    await page.getByTestId('vol-clone-error').waitFor();
    assert.equal((await apiGet(page, '/hosts/local/pools/default/volumes')).body.items.length, vols.length);
    await screenshot(page, 'volume-clone-1440');

    // A real one: a task in the drawer, then the row.
    await page.getByTestId('vol-clone-name').fill('e2e-clone.img');
    await page.getByTestId('dialog-accept').click();
    await page.getByTestId('volume-clone-dialog').waitFor({ state: 'detached' });
    const drawer = page.getByTestId('tasks-drawer');
    await drawer.waitFor();
    await waitFor(page, () => /e2e-clone\.img/.test(document.querySelector('[data-testid=tasks-drawer]')?.textContent ?? ''));
    await page.getByTestId('tasks-close').click();
    await drawer.waitFor({ state: 'hidden' });
    await page.getByTestId('volume-search').fill('e2e-clone');
    await page.locator('[data-testid=volume-row][data-name="e2e-clone.img"]').waitFor({ timeout: 15000 });
    const copy = (await apiGet(page, '/hosts/local/pools/default/volumes/e2e-clone.img')).body;
    assert.equal(copy.capacity, spare.capacity);
    assert.equal(copy.format, spare.format);

    // The test driver cannot wipe: said at once, and no task.
    const copyRow = page.locator('[data-testid=volume-row][data-name="e2e-clone.img"]');
    await copyRow.getByTestId('volume-menu').click();
    await page.getByTestId('volume-wipe').click();
    await page.getByTestId('confirm-accept').click();
    await waitFor(page, () => /cannot wipe/.test(document.body.textContent ?? ''));
    const tasks = (await apiGet(page, '/tasks')).body.items;
    assert.ok(!tasks.some((t) => t.kind === 'volume.wipe'), 'a refused wipe made no task');

    // Growing refuses a smaller size before sending anything.
    await copyRow.getByTestId('volume-menu').click();
    await page.getByTestId('volume-resize').click();
    await page.getByTestId('vol-grow').fill('0.001');
    await page.getByTestId('dialog-accept').click();
    await page.getByTestId('vol-grow-error').waitFor();
    await page.getByTestId('dialog-cancel').click();
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('downloads from a URL only where the server allows it', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.goto(server.url + '/storage?pool=default');
    await page.getByTestId('volume-row').first().waitFor();
    const before = (await apiGet(page, '/hosts/local/pools/default/volumes')).body.items.length;
    await page.getByTestId('volume-from-url').click();
    await page.getByTestId('volume-url-dialog').waitFor();
    // The name follows the address.
    await page.getByTestId('vol-url').fill('file:///etc/passwd');
    assert.equal(await page.getByTestId('vol-url-name').inputValue(), 'passwd');
    await page.getByTestId('dialog-accept').click();
    await waitFor(page, () => /http/.test(document.querySelector('[data-testid=vol-url-error]')?.textContent ?? ''));
    // Loopback is refused by the server, plainly, and nothing is made.
    await page.getByTestId('vol-url').fill('http://127.0.0.1:9/debian.qcow2');
    assert.equal(await page.getByTestId('vol-url-name').inputValue(), 'debian.qcow2');
    assert.equal(await page.getByTestId('vol-url-format').inputValue(), 'qcow2');
    await page.getByTestId('dialog-accept').click();
    await waitFor(page, () => (document.querySelector('[data-testid=vol-url-error]')?.textContent ?? '').length > 0
      && !/http:\/\/ or/.test(document.querySelector('[data-testid=vol-url-error]').textContent));
    await screenshot(page, 'volume-from-url-390');
    assert.equal((await apiGet(page, '/hosts/local/pools/default/volumes')).body.items.length, before);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
