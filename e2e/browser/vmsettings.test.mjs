// The guest page's Processor & memory and Devices tabs on the demo host: an
// administrator changes vCPUs, topology and memory of a shut-off guest, sees
// a 422 next to its field, changes the boot order of a running guest (next
// boot) and finds what needs the guest shut off locked; sets a display
// password that the page never shows; a viewer reads without controls.
// Wide (1440×900) and narrow (390×844) windows, screenshots in e2e/artifacts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiGet, apiSend, launchBrowser, login, screenshot, waitFor, watch } from './lib/browser.mjs';
import { addUser, startServer } from './lib/server.mjs';

const VIEWER_PW = 'vera-password-1';
const OFF = 'web06'; // shut off in the demo
const ON = 'web01'; // running

let server;
let browser;

async function open(viewport) {
  const context = await browser.newContext({ viewport, colorScheme: 'light' });
  const page = await context.newPage();
  return { context, page, problems: watch(page) };
}

before(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'vera', VIEWER_PW);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function openTab(page, name, tab, testid) {
  await page.goto(`${server.url}/guests/${encodeURIComponent(name)}?tab=${tab}`);
  await page.getByTestId(testid).waitFor();
}

const settings = async (page, name) => (await apiGet(page, `/vms/${encodeURIComponent(name)}/settings`)).body;

describe('guest settings tabs', () => {
  it('an administrator edits processor, memory and boot (wide)', async () => {
    const { context, page, problems } = await open({ width: 1440, height: 900 });
    await login(page, server.url, 'admin', server.password);
    await openTab(page, OFF, 'cpu', 'vmset-proc');
    // The demo says once what the test driver cannot do.
    await page.getByTestId('vmset-demo').waitFor();
    await page.getByTestId('field-vcpus').fill('3');
    await page.getByTestId('field-sockets').fill('1');
    await page.getByTestId('field-cores').fill('2');
    await page.getByTestId('field-threads').fill('2');
    assert.equal(await page.getByTestId('field-max_vcpus').inputValue(), '4', 'the maximum follows the topology');
    assert.match(await page.getByTestId('vmset-smt').textContent(), /2 threads per core/);
    await page.getByTestId('field-memory_mib').fill('1024');
    await page.getByTestId('vmset-proc-save').click();
    await page.getByTestId('toast').filter({ hasText: 'Saved' }).first().waitFor();
    const s = await settings(page, OFF);
    assert.deepEqual([s.vcpus, s.max_vcpus, s.memory_mib, s.topology], [3, 4, 1024, { sockets: 1, cores: 2, threads: 2 }]);
    await screenshot(page, 'vmsettings-cpu-wide');

    // A bad value: the server's 422 lands under its field, nothing changes.
    await page.getByTestId('field-memory_mib').fill('4');
    await page.getByTestId('vmset-proc-save').click();
    await page.getByTestId('field-error-memory_mib').waitFor();
    assert.match(await page.getByTestId('field-error-memory_mib').textContent(), /at least/);
    assert.equal((await settings(page, OFF)).memory_mib, 1024);
    await screenshot(page, 'vmsettings-cpu-422-wide');

    // A running guest: what needs it shut off is locked; boot order waits.
    await openTab(page, ON, 'cpu', 'vmset-proc');
    assert.equal(await page.getByTestId('field-max_vcpus').isDisabled(), true);
    assert.equal(await page.getByTestId('field-vcpus').isDisabled(), false);
    await page.getByTestId('field-boot-0').selectOption('cdrom');
    await page.getByTestId('field-boot-1').selectOption('hd');
    await page.getByTestId('vmset-id-save').click();
    await page.getByTestId('toast').filter({ hasText: 'next boot' }).first().waitFor();
    await page.getByTestId('vmset-pending').waitFor();
    assert.deepEqual((await settings(page, ON)).boot_order, ['cdrom', 'hd']);
    await screenshot(page, 'vmsettings-identity-running-wide', { fullPage: true });

    // Rename a shut-off guest: the page follows it to its new address.
    await openTab(page, 'backup', 'cpu', 'vmset-identity');
    await page.getByTestId('field-name').fill('backup-renamed');
    await page.getByTestId('vmset-id-save').click();
    await page.waitForURL((u) => u.pathname === '/guests/backup-renamed');
    await waitFor(page, () => document.querySelector('[data-testid=guest-name]')?.textContent === 'backup-renamed');
    assert.equal((await apiGet(page, '/vms/backup')).status, 404);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('an administrator sets a display password, never shown (wide and narrow)', async () => {
    for (const [label, viewport] of [['wide', { width: 1440, height: 900 }], ['narrow', { width: 390, height: 844 }]]) {
      const { context, page, problems } = await open(viewport);
      await login(page, server.url, 'admin', server.password);
      await openTab(page, OFF, 'devices', 'vmdev-graphics');
      await page.getByTestId('field-graphics-keymap').selectOption('de');
      await page.getByTestId('field-graphics-password').fill('pw' + label.slice(0, 4));
      await page.getByTestId('graphics-save').click();
      await page.getByTestId('toast').filter({ hasText: 'Saved' }).first().waitFor();
      await waitFor(page, () => /password is set/.test(document.querySelector('[data-testid=graphics-password-state]')?.textContent ?? ''));
      assert.equal(await page.getByTestId('field-graphics-password').inputValue(), '', 'the box is emptied');
      assert.ok(!(await page.content()).includes('pw' + label.slice(0, 4)), 'the password is nowhere in the page');
      const s = await settings(page, OFF);
      assert.equal(s.graphics.password_set, true);
      assert.equal(s.graphics.keymap, 'de');
      await screenshot(page, `vmsettings-devices-${label}`, { fullPage: true });
      if (label === 'narrow') {
        await openTab(page, OFF, 'cpu', 'vmset-proc');
        await screenshot(page, 'vmsettings-cpu-narrow', { fullPage: true });
      }
      assert.deepEqual(problems, []);
      await context.close();
    }
  });

  it('a viewer reads without controls', async () => {
    const admin = await open({ width: 1440, height: 900 });
    await login(admin.page, server.url, 'admin', server.password);
    const r = await apiSend(admin.page, 'PATCH', `/vms/${OFF}/access`, { add: [{ kind: 'user', realm: 'local', name: 'vera', role: 'viewer' }], remove: [] });
    assert.equal(r.status, 200);
    await admin.context.close();
    const { context, page, problems } = await open({ width: 390, height: 844 });
    await login(page, server.url, 'vera', VIEWER_PW);
    await openTab(page, OFF, 'cpu', 'vmset-proc');
    await page.getByTestId('vmset-readonly').waitFor();
    assert.equal(await page.getByTestId('vmset-proc-save').isHidden(), true);
    assert.equal(await page.getByTestId('field-vcpus').isDisabled(), true);
    await openTab(page, OFF, 'devices', 'vmdev-graphics');
    assert.equal(await page.getByTestId('graphics-save').isHidden(), true);
    await screenshot(page, 'vmsettings-devices-viewer-narrow', { fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });
});
