// The Templates page against the real server in demo mode (the libvirt
// test driver): the three demo templates listed, one created from the
// form (the OS searched after the volume could not be read, its defaults
// filled in), copied, made invalid by removing its network through the
// API (the reason shown), and deleted; a phone's width without sideways
// scrolling.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, apiSend, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

const card = (page, name) => page.locator(`[data-testid=template-card][data-name="${name}"]`);

describe('templates page', () => {
  it('creates a template from the form, copies it, shows it invalid and deletes it', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.getByTestId('nav-templates').click();
    await page.getByTestId('template-card').first().waitFor();
    const demo = (await apiGet(page, '/templates')).body.items;
    assert.deepEqual((await page.$$eval('[data-testid=template-card]', (cs) => cs.map((c) => c.dataset.name))), demo.map((t) => t.name));
    assert.equal(demo.length, 3, 'the demo host has three templates');
    assert.equal(await page.getByTestId('template-invalid').count(), 0, 'the demo templates are usable');

    // The form: an installer ISO the test driver cannot read, so the OS is
    // searched; its defaults fill the devices and firmware.
    await page.getByTestId('template-create').click();
    await page.getByTestId('tpl-name').fill('e2e-win');
    await page.getByTestId('tpl-source-kind').selectOption('iso');
    await page.getByTestId('tpl-source-volume').selectOption('isos/Win11_24H2_English_x64.iso');
    await waitFor(page, () => /recognised/i.test(document.querySelector('[data-testid=tpl-detected]')?.textContent ?? ''));
    await page.getByTestId('tpl-os').fill('win11');
    await page.getByTestId('tpl-os').dispatchEvent('change');
    await waitFor(page, () => document.querySelector('[data-testid=tpl-disk-bus]')?.value === 'sata');
    assert.equal(await page.getByTestId('tpl-nic-model').inputValue(), 'e1000e');
    assert.equal(await page.getByTestId('tpl-firmware').inputValue(), 'uefi');
    assert.ok(Number(await page.getByTestId('tpl-memory').inputValue()) >= 4096);
    assert.equal(await page.getByTestId('tpl-cloud-init').isVisible(), false, 'no cloud-init for an installer');
    await screenshot(page, 'templates-form-1440');
    await page.getByTestId('dialog-accept').click();
    await card(page, 'e2e-win').waitFor();
    const made = (await apiGet(page, '/templates')).body.items.find((t) => t.name === 'e2e-win');
    assert.equal(made.os.short_id, 'win11');
    assert.equal(made.disks[0].bus, 'sata');
    assert.equal(made.nics[0].model, 'e1000e');
    assert.equal(made.firmware, 'uefi');
    assert.deepEqual(made.problems, []);

    // Copy.
    await card(page, 'e2e-win').getByTestId('template-copy').click();
    await card(page, 'e2e-win-copy').waitFor();
    const copy = (await apiGet(page, '/templates')).body.items.find((t) => t.name === 'e2e-win-copy');

    // The copy on a network of its own, which then goes away: the page says why it cannot be used.
    assert.equal((await apiSend(page, 'POST', '/hosts/local/networks', { name: 'e2e-tpl-net', kind: 'isolated', dhcp: false })).status, 201);
    const moved = { ...copy, nics: [{ network: 'e2e-tpl-net', model: 'e1000e' }] };
    for (const k of ['id', 'host', 'created', 'updated', 'problems', 'allowed_actions']) delete moved[k];
    assert.equal((await apiSend(page, 'PUT', `/templates/${copy.id}`, moved)).status, 200);
    assert.equal((await apiSend(page, 'DELETE', '/hosts/local/networks/e2e-tpl-net')).status, 204);
    await page.reload();
    await card(page, 'e2e-win-copy').getByTestId('template-invalid').waitFor();
    const reason = await card(page, 'e2e-win-copy').getByTestId('template-problems').textContent();
    assert.match(reason, /nics\[0\]\.network/);
    assert.match(reason, /e2e-tpl-net/);
    assert.equal(await card(page, 'e2e-win').getByTestId('template-invalid').count(), 0, 'the original is untouched');
    await screenshot(page, 'templates-1440');

    // Delete.
    await card(page, 'e2e-win-copy').getByTestId('template-delete').click();
    await page.getByTestId('confirm-accept').click();
    await card(page, 'e2e-win-copy').waitFor({ state: 'detached' });
    assert.equal((await apiGet(page, `/templates/${copy.id}`)).status, 404);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('fits a phone', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password, '/login');
    await page.goto(server.url + '/templates');
    await page.getByTestId('template-card').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await page.getByTestId('template-create').click();
    await page.getByTestId('tpl-name').waitFor();
    const dialogOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(dialogOverflow <= 0, `the form scrolls sideways by ${dialogOverflow}px`);
    await screenshot(page, 'templates-390', { fullPage: false });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
