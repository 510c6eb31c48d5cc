// Import a disk in the New guest dialog, against the real server in demo
// mode (the libvirt test driver): a volume made through the API is picked
// from its pool, the OS chosen, and the guest appears around it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, apiSend, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

describe('import a disk', () => {
  it('makes a guest around an existing volume', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    const made = await apiSend(page, 'POST', '/hosts/local/pools/default/volumes', { name: 'imp-browser.qcow2', capacity: 1 << 30, format: 'qcow2' });
    assert.equal(made.status, 202, JSON.stringify(made.body));
    for (let i = 0; i < 100; i++) {
      if ((await apiGet(page, `/tasks/${made.body.id}`)).body.status === 'done') break;
      await page.waitForTimeout(100);
    }

    await page.getByTestId('nav-guests').click();
    await page.getByTestId('new-guest').click();
    const dialog = page.getByTestId('new-guest-dialog');
    await dialog.waitFor();
    await page.getByTestId('ng-mode').selectOption('import');
    await page.locator('[data-testid=ng-imp-pool] option[value="default"]').waitFor({ state: 'attached' });
    await page.getByTestId('ng-imp-pool').selectOption('default');
    await page.locator('[data-testid=ng-imp-volume] option[value="imp-browser.qcow2"]').waitFor({ state: 'attached' });
    await page.getByTestId('ng-imp-volume').selectOption('imp-browser.qcow2');
    await page.getByTestId('ng-imp-os').fill('debian12');
    await page.getByTestId('ng-memory').fill('256');
    await screenshot(page, 'import-disk-dialog');
    await page.getByTestId('dialog-accept').click();
    await dialog.waitFor({ state: 'detached' });

    await waitFor(page, () => [...document.querySelectorAll('[data-testid=task-status]')].some((s) => /done|concluída|完成/i.test(s.textContent)), undefined, 30000);
    await page.locator('[data-testid=vm-row][data-name="imp-browser"]').waitFor();
    const vm = (await apiGet(page, '/vms/imp-browser')).body;
    assert.equal(vm.memory_mib, 256);
    assert.equal(vm.devices.disks[0].volume, 'imp-browser.qcow2');
    assert.deepEqual(problems, []);
    await context.close();
  });
});
