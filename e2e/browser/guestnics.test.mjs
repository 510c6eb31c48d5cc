// The Network and Snapshots tabs of a guest against the real server in
// demo mode (the libvirt test driver), on a wide and a narrow window: add
// a NIC with the guest's default model pre-selected, set its link down,
// remove it; take two snapshots (tasks in the drawer), see the tree with
// the current one marked, revert and delete. The test driver's limits are
// said once per tab. Screenshots go to e2e/artifacts.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiGet, launchBrowser, login, screenshot, watch, waitFor } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const [label, viewport] of [['1440', { width: 1440, height: 900 }], ['390', { width: 390, height: 844 }]]) {
  describe(`guest Network and Snapshots tabs at ${label}px`, () => {
    it('edits NICs and snapshots', async () => {
      const context = await browser.newContext({ viewport, colorScheme: 'light' });
      const page = await context.newPage();
      const problems = watch(page);
      await login(page, server.url, 'admin', server.password);
      // A shut-off guest for NICs (its changes apply at once), a running one's note.
      const vms = (await apiGet(page, '/vms')).body.items;
      const guest = vms.find((v) => v.state === 'shutoff' && v.name === 'backup') ?? vms.find((v) => v.state === 'shutoff');
      assert.ok(guest, 'the demo has a shut-off guest');
      const name = guest.name;

      // ---- Network
      await page.goto(`${server.url}/guests/${encodeURIComponent(name)}?tab=network`);
      await page.getByTestId('nic-row').first().waitFor();
      const before = await page.getByTestId('nic-row').count();
      assert.equal(await page.getByTestId('nics-test-driver').count(), 1, 'the test driver note, once');
      await screenshot(page, `guest-network-${label}`);

      await page.getByTestId('nic-add').click();
      const dialog = page.getByTestId('nic-dialog');
      await dialog.waitFor();
      assert.equal(await dialog.getByTestId('field-model').inputValue(), 'virtio', 'the default model is pre-selected');
      assert.match(await dialog.getByTestId('field-model').locator('option:checked').textContent(), /default/);
      // A bad MAC stays in the dialog with its error; nothing is added.
      await dialog.getByTestId('field-mac').fill('01:00:5e:00:00:01');
      await dialog.getByTestId('dialog-accept').click();
      await dialog.getByTestId('form-error').waitFor();
      await screenshot(page, `guest-network-add-error-${label}`);
      await dialog.getByTestId('field-mac').fill('');
      await dialog.getByTestId('field-network').selectOption('isolated');
      await dialog.getByTestId('dialog-accept').click();
      await dialog.waitFor({ state: 'detached' });
      await waitFor(page, (n) => document.querySelectorAll('[data-testid=nic-row]').length === n, before + 1);
      const added = page.getByTestId('nic-row').last();
      const mac = await added.getAttribute('data-mac');
      assert.match(mac, /^52:54:00:/);

      await added.getByTestId('nic-link').click();
      await waitFor(page, (m) => document.querySelector(`[data-mac="${m}"] [data-testid=nic-link]`)?.getAttribute('aria-pressed') === 'false', mac);
      const nics = (await apiGet(page, `/vms/${encodeURIComponent(name)}/nics`)).body.items;
      assert.equal(nics.find((n) => n.mac === mac).link, 'down');
      await screenshot(page, `guest-network-added-${label}`);

      await page.locator(`[data-mac="${mac}"]`).getByTestId('nic-remove').click();
      await page.getByTestId('confirm-dialog').waitFor();
      await page.getByTestId('confirm-accept').click();
      await waitFor(page, (n) => document.querySelectorAll('[data-testid=nic-row]').length === n, before);

      // ---- Snapshots
      await page.getByRole('tab', { name: 'Snapshots' }).click();
      await page.getByTestId('snapshot-create').waitFor();
      assert.equal(await page.getByTestId('snapshots-test-driver').count(), 1, 'the test driver note, once');
      for (const snap of [`base-${label}`, `after-${label}`]) {
        await page.getByTestId('snapshot-create').click();
        const sd = page.getByTestId('snapshot-dialog');
        await sd.waitFor();
        assert.match(await sd.getByTestId('field-name').inputValue(), /^snap-\d{8}-\d{4}$/);
        await sd.getByTestId('field-name').fill(snap);
        await sd.getByTestId('field-description').fill('taken by the browser test');
        if (snap.startsWith('base')) await screenshot(page, `guest-snapshot-create-${label}`);
        await sd.getByTestId('dialog-accept').click();
        await sd.waitFor({ state: 'detached' });
        await page.getByTestId('tasks-drawer').waitFor();
        await page.locator(`[data-testid=snapshot-row][data-name="${snap}"]`).waitFor();
        await page.getByTestId('tasks-close').click();
        await page.getByTestId('tasks-drawer').waitFor({ state: 'hidden' });
      }
      const current = page.locator('[data-testid=snapshot-row][aria-current=true]');
      assert.equal(await current.getAttribute('data-name'), `after-${label}`);
      assert.equal(await page.locator(`[data-name="after-${label}"]`).evaluate((el) => getComputedStyle(el).getPropertyValue('--depth').trim()), '1');
      await screenshot(page, `guest-snapshots-${label}`);

      await page.locator(`[data-name="base-${label}"]`).getByTestId('snapshot-revert').click();
      await page.getByTestId('snapshot-revert-dialog').waitFor();
      await page.getByTestId('confirm-accept').click();
      await waitFor(page, (s) => document.querySelector('[data-testid=snapshot-row][aria-current=true]')?.dataset.name === s, `base-${label}`);

      await page.locator(`[data-name="after-${label}"]`).getByTestId('snapshot-delete').click();
      await page.getByTestId('confirm-accept').click();
      await page.locator(`[data-name="after-${label}"]`).waitFor({ state: 'detached' });
      await page.locator(`[data-name="base-${label}"]`).getByTestId('snapshot-delete').click();
      await page.getByTestId('confirm-accept').click();
      await page.locator(`[data-name="base-${label}"]`).waitFor({ state: 'detached' });
      assert.deepEqual(problems, []);
      await context.close();
    });
  });
}
