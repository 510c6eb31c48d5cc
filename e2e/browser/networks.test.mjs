// The Networks page against the real server in demo mode (the libvirt
// test driver): the host's networks with the guests using them, a NAT
// network created from the form (the free subnet filled in) and deleted
// again, a bridge network on the host's bridge, a hostile name refused before anything is sent, the driver's
// missing DHCP leases said plainly, and a phone's width without sideways
// scrolling.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

describe('networks page', () => {
  it('lists networks, creates a NAT network and deletes it', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.getByTestId('nav-networks').click();
    await page.getByTestId('network-card').first().waitFor();
    const nets = (await apiGet(page, '/hosts/local/networks')).body.items;
    const names = await page.$$eval('[data-testid=network-card]', (cs) => cs.map((c) => c.dataset.name));
    assert.deepEqual(names, nets.map((n) => n.name));
    const def = page.locator('[data-testid=network-card][data-name=default]');
    assert.equal(await def.getByTestId('network-subnet').textContent(), '192.168.122.0/24');
    const used = nets.find((n) => n.name === 'default').used_by;
    assert.match(await def.getByTestId('network-used-by').textContent(), new RegExp(used[0]));
    assert.equal(await def.getByTestId('network-delete').isDisabled(), true, 'a network in use cannot be deleted');
    // Stopping it is refused by the server, naming the running guests.
    await def.getByTestId('network-stop').click();
    await waitFor(page, () => /default/.test(document.querySelector('[data-testid=toast]')?.textContent ?? ''));
    const toastText = await page.getByTestId('toast').first().textContent();
    assert.ok(used.some((g) => toastText.includes(g)), `the refusal names a guest: ${toastText}`);
    assert.equal((await apiGet(page, '/hosts/local/networks/default')).body.state, 'active');

    // The demo driver keeps no leases: the page says so once.
    await def.getByTestId('network-leases').click();
    await page.getByTestId('leases-unsupported').waitFor();
    await screenshot(page, 'networks-1440');

    // A hostile name is refused in the form; nothing is created.
    await page.getByTestId('network-create').click();
    const free = (await apiGet(page, '/hosts/local/networks/free-subnet')).body;
    await waitFor(page, (s) => document.querySelector('[data-testid=net-subnet]')?.value === s, free.subnet);
    assert.equal(await page.getByTestId('net-dhcp-start').inputValue(), free.dhcp_start);
    await page.getByTestId('net-name').fill('../etc/x');
    await page.getByTestId('dialog-accept').click();
    await page.getByTestId('net-error').waitFor();
    await page.getByTestId('net-name').fill('e2e-nat');
    await page.getByTestId('net-subnet').fill('192.168.122.7/24');
    await page.getByTestId('dialog-accept').click();
    await waitFor(page, () => /network address/.test(document.querySelector('[data-testid=net-error]')?.textContent ?? ''));
    assert.equal((await apiGet(page, '/hosts/local/networks')).body.items.length, nets.length);

    // A real one, on the proposed subnet.
    await page.getByTestId('net-subnet').fill(free.subnet);
    await page.getByTestId('dialog-accept').click();
    const created = page.locator('[data-testid=network-card][data-name="e2e-nat"]');
    await created.waitFor();
    const net = (await apiGet(page, '/hosts/local/networks/e2e-nat')).body;
    assert.equal(net.kind, 'nat');
    assert.equal(net.subnet, free.subnet);
    assert.equal(net.state, 'active');
    assert.equal(net.dhcp_start, free.dhcp_start);
    await waitFor(page, (s) => document.querySelector('[data-testid=network-card][data-name="e2e-nat"] [data-testid=network-subnet]')?.textContent === s, free.subnet);

    await created.getByTestId('network-delete').click();
    await page.getByTestId('confirm-accept').click();
    await created.waitFor({ state: 'detached' });
    assert.equal((await apiGet(page, '/hosts/local/networks/e2e-nat')).status, 404);

    // A bridge network on the host's bridge: no subnet asked.
    await page.getByTestId('network-create').click();
    await page.getByTestId('net-name').fill('e2e-br');
    await page.getByTestId('net-kind').selectOption('bridge');
    assert.equal(await page.getByTestId('net-subnet').isVisible(), false);
    assert.deepEqual(await page.$$eval('[data-testid=net-iface] option', (os) => os.map((o) => o.value)), ['br0']);
    await page.getByTestId('dialog-accept').click();
    const bridged = page.locator('[data-testid=network-card][data-name="e2e-br"]');
    await bridged.waitFor();
    assert.equal(await bridged.getByTestId('network-bridge').textContent(), 'br0');
    const br = (await apiGet(page, '/hosts/local/networks/e2e-br')).body;
    assert.equal(br.kind, 'bridge');
    await bridged.getByTestId('network-delete').click();
    await page.getByTestId('confirm-accept').click();
    await bridged.waitFor({ state: 'detached' });
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('fits a phone', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password, '/login');
    await page.goto(server.url + '/networks');
    await page.getByTestId('network-card').first().waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
    await page.getByTestId('network-create').click();
    await page.getByTestId('net-name').waitFor();
    const dialogOverflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(dialogOverflow <= 0, `the form scrolls sideways by ${dialogOverflow}px`);
    await screenshot(page, 'networks-390', { fullPage: false });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
