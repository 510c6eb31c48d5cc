// New guest from a template on the Guests page, against the real server in
// demo mode (the libvirt test driver).
//
// A template is made through the API; the dialog offers it (an unusable
// one disabled with its reason), fills the default name, creates the guest
// with an override, the tasks drawer follows the task to done, and the
// new guest appears in the list.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, apiSend, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

describe('new guest', () => {
  it('creates a guest from a template made through the API', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    const tmpl = {
      name: 'e2e small', host: 'local', os: {}, vcpus: 1, max_vcpus: 2, memory_mib: 256, max_memory_mib: 512,
      firmware: 'bios', graphics: 'vnc', source: { kind: 'none' },
      disks: [{ pool: 'default', size: 1 << 30 }], nics: [{ network: 'default' }],
    };
    const made = await apiSend(page, 'POST', '/templates', tmpl);
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const broken = await apiSend(page, 'POST', '/templates', { ...tmpl, name: 'e2e broken', nics: [{ network: 'no-such-net' }] });
    assert.ok([201, 422].includes(broken.status), JSON.stringify(broken.body));

    await page.getByTestId('nav-guests').click();
    await page.getByTestId('new-guest').click();
    const dialog = page.getByTestId('new-guest-dialog');
    await dialog.waitFor();
    // The demo's own templates are offered too: pick the one made here.
    await page.locator(`[data-testid=ng-template] option[value="${made.body.id}"]`).waitFor({ state: 'attached' });
    await page.getByTestId('ng-template').selectOption(String(made.body.id));
    if (broken.status === 201) {
      const opt = page.locator(`[data-testid=ng-template] option[value="${broken.body.id}"]`);
      assert.equal(await opt.isDisabled(), true, 'an unusable template is offered disabled');
      assert.match(await opt.textContent(), /no-such-net/);
    }
    assert.equal(await page.getByTestId('ng-name').inputValue(), 'e2e-small-1');
    await page.getByTestId('ng-vcpus').fill('2');
    await screenshot(page, 'new-guest-dialog');
    await page.getByTestId('dialog-accept').click();
    await dialog.waitFor({ state: 'detached' });

    // The drawer follows the task; the guest joins the list.
    await waitFor(page, () => [...document.querySelectorAll('[data-testid=task-status]')].some((s) => /done|concluída|完成/i.test(s.textContent)), undefined, 30000);
    await page.locator('[data-testid=vm-row][data-name="e2e-small-1"]').waitFor();
    const vm = (await apiGet(page, '/vms/e2e-small-1')).body;
    assert.equal(vm.vcpus, 2);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
