// Cloning a shut-off guest from its page against the real server in demo
// mode (the libvirt test driver, which copies within a pool): the Clone
// action, "Verifying guest disks…", the plan dialog with the grants note,
// a refused name kept in the dialog, then the task in the drawer and the
// new guest with new disks and MACs.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

describe('guest clone', () => {
  it('clones a shut-off guest from its page', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.goto(server.url + '/guests');
    const vms = (await apiGet(page, '/vms')).body.items;
    const src = vms.find((v) => v.state === 'shutoff');
    assert.ok(src, 'the demo has a shut-off guest');
    const before = (await apiGet(page, `/vms/${src.name}`)).body;

    await page.goto(server.url + '/guests/' + encodeURIComponent(src.name));
    await page.getByTestId('vm-menu-button').waitFor();
    await page.getByTestId('vm-menu-button').click();
    const menu = page.getByTestId('vm-menu');
    await menu.waitFor();
    const actions = await menu.getByTestId('vm-menu-item').evaluateAll((els) => els.map((e) => e.dataset.action));
    assert.deepEqual(actions, ['clone', 'delete']);
    await menu.getByTestId('vm-menu-item').and(page.locator('[data-action=clone]')).click();

    const dialog = page.getByTestId('clone-dialog');
    await dialog.waitFor();
    // The plan: every disk with a place in its own pool, the grants note.
    await page.getByTestId('clone-plan').waitFor();
    assert.equal(await page.getByTestId('clone-verifying').isHidden(), true);
    const fits = await page.getByTestId('clone-disk').evaluateAll((els) => els.map((e) => e.dataset.fits));
    assert.ok(fits.length > 0 && fits.every((f) => f === 'true'), `disks fit: ${fits}`);
    assert.match(await page.getByTestId('clone-grants').textContent(), /grants|no access grants/);
    assert.equal(await page.getByTestId('clone-name').inputValue(), `${src.name}-clone`);
    await screenshot(page, 'guest-clone-1440');

    // A hostile name: refused, the dialog stays, nothing made.
    await page.getByTestId('clone-name').fill('../etc');
    await page.getByTestId('clone-accept').click();
    await page.getByTestId('clone-error').waitFor();
    assert.equal((await apiGet(page, '/vms')).body.items.length, vms.length);

    await page.getByTestId('clone-name').fill('e2e-clone');
    await page.getByTestId('clone-accept').click();
    await dialog.waitFor({ state: 'detached' });
    await page.getByTestId('tasks-drawer').waitFor();
    await waitFor(page, () => /e2e-clone/.test(document.querySelector('[data-testid=tasks-drawer]')?.textContent ?? ''));
    await waitFor(page, async () => {
      const r = await fetch('/api/v1/vms/e2e-clone');
      return r.status === 200;
    });
    const clone = (await apiGet(page, '/vms/e2e-clone')).body;
    assert.equal(clone.state, 'shutoff');
    assert.notEqual(clone.uuid, before.uuid);
    const macs = before.devices.nics.map((n) => n.mac);
    for (const n of clone.devices.nics) assert.ok(!macs.includes(n.mac), `new MAC ${n.mac}`);
    const disk = clone.devices.disks.find((d) => d.device === 'disk');
    assert.match(`${disk.source} ${disk.volume}`, /e2e-clone-/);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
