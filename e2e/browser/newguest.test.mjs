// The New guest button on the Guests page (demo mode): shown to an admin
// (the list's allowed_actions say "create"), opening the dialog with its
// fields; Cancel closes it and nothing is created. The whole creation from
// a template is newguest.after-templates.mjs (it needs the templates API).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, login, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

describe('new guest button', () => {
  it('is offered to an admin and opens the dialog', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.getByTestId('nav-guests').click();
    await page.getByTestId('vm-row').first().waitFor();
    const before = (await apiGet(page, '/vms')).body;
    assert.deepEqual(before.allowed_actions, ['create']);
    await page.getByTestId('new-guest').click();
    const dialog = page.getByTestId('new-guest-dialog');
    await dialog.waitFor();
    for (const id of ['ng-template', 'ng-name', 'ng-vcpus', 'ng-memory', 'ng-start']) {
      assert.equal(await page.getByTestId(id).count(), 1, id);
    }
    await page.getByTestId('dialog-cancel').click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal((await apiGet(page, '/vms')).body.total, before.total);
    await context.close();
  });
});
