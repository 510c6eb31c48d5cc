// The Disks tab of the guest page against the real server in demo mode
// (the libvirt test driver: changes are saved, never live, which the tab
// says once): an administrator attaches a pool volume, adds a CD-ROM drive,
// inserts, ejects and inserts an ISO, detaches deleting the volume (wide
// window); an operator on a phone only changes the medium (narrow window).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiGet, apiSend, launchBrowser, login, screenshot, watch } from './lib/browser.mjs';
import { addUser, startServer } from './lib/server.mjs';

const GUEST = 'backup'; // shut off in the demo set
const OP_PASSWORD = 'operator-password-1';

let server;
let browser;

before(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'diskop', OP_PASSWORD);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

/** The rows of the disks table: target → the source cell's text. */
async function rows(page) {
  return page.getByTestId('disk-row').evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.target, e.children[3].textContent])));
}

async function toastText(page, re) {
  const t = page.getByTestId('toast').filter({ hasText: re }).last();
  await t.waitFor();
  return t.textContent();
}

describe('guest disks tab', () => {
  it('an administrator attaches, changes media and detaches (wide)', async () => {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', server.password);
    await page.goto(`${server.url}/guests/${GUEST}?tab=disks`);
    await page.getByTestId('guest-disks-table').waitFor();
    // The test driver's limit, said once.
    assert.equal(await page.getByTestId('disks-driver-note').count(), 1);
    assert.equal(await page.getByTestId('disks-driver-note').isVisible(), true);
    assert.match(await page.getByTestId('disks-state').textContent(), /shut off/);
    assert.deepEqual(Object.keys(await rows(page)), ['vda']);
    await screenshot(page, 'guest-disks-1440');

    // Attach an existing volume of the pool.
    await page.getByTestId('disk-attach').click();
    const dlg = page.getByTestId('disk-attach-dialog');
    await dlg.waitFor();
    assert.equal(await dlg.getByTestId('disk-bus').inputValue(), 'virtio');
    const options = await dlg.getByTestId('disk-volume').locator('option').evaluateAll((els) => els.map((e) => e.value));
    assert.ok(options.includes('default/spare-data.qcow2'), options.join());
    assert.ok(!options.some((o) => o.endsWith('.iso')), 'no ISOs among disk volumes');
    await dlg.getByTestId('disk-volume').selectOption('default/spare-data.qcow2');
    // Host paths are offered to administrators only where roots are configured: not here.
    assert.equal(await dlg.getByTestId('disk-source-kind').locator('option[value=path]').count(), 0);
    await screenshot(page, 'guest-disks-attach-1440');
    await dlg.getByTestId('dialog-accept').click();
    assert.match(await toastText(page, /vdb/), /vdb: saved/);
    await page.locator('[data-testid=disk-row][data-target=vdb]').waitFor();
    assert.equal((await rows(page)).vdb, 'default/spare-data.qcow2');

    // A CD-ROM drive on the guest's default bus, then media.
    await page.getByTestId('disk-add-cdrom').click();
    const cd = page.getByTestId('disk-cdrom-dialog');
    await cd.waitFor();
    assert.equal(await cd.getByTestId('disk-bus').inputValue(), 'sata');
    await cd.getByTestId('dialog-accept').click();
    await page.locator('[data-testid=disk-row][data-target=sda]').waitFor();
    assert.equal((await rows(page)).sda, 'No medium');
    const sda = page.locator('[data-testid=disk-row][data-target=sda]');
    for (const [iso, want] of [['isos/debian-12.8.0-amd64-netinst.iso', /debian-12/], ['', /No medium/], ['isos/virtio-win-0.1.262.iso', /virtio-win/]]) {
      if (iso) {
        await sda.getByTestId('disk-insert').click();
        const ins = page.getByTestId('disk-insert-dialog');
        await ins.waitFor();
        await ins.getByTestId('disk-iso').selectOption(iso);
        if (iso.includes('debian')) {
          // The ISO chooser names the detected OS; the demo's driver cannot
          // read volumes, so there it shows the name and size alone.
          const isos = (await apiGet(page, `/vms/${GUEST}/iso-choices`)).body.isos;
          assert.ok(isos.every((x) => x.status === 'unavailable'), JSON.stringify(isos));
          assert.match(await ins.getByTestId('disk-iso').locator('option:checked').textContent(), /^debian-12\.8\.0-amd64-netinst\.iso · \d+ MiB$/);
          await screenshot(page, 'guest-disks-insert-1440');
        }
        await ins.getByTestId('dialog-accept').click();
        await ins.waitFor({ state: 'detached' });
      } else {
        await sda.getByTestId('disk-eject').click();
      }
      await page.waitForFunction(([re]) => new RegExp(re).test(document.querySelector('[data-testid=disk-row][data-target=sda]')?.children[3].textContent ?? ''), [want.source]);
    }

    // Detach vdb, deleting its volume.
    await page.locator('[data-testid=disk-row][data-target=vdb]').getByTestId('disk-detach').click();
    const conf = page.getByTestId('disk-detach-dialog');
    await conf.waitFor();
    await conf.getByTestId('disk-delete-volume').check();
    await conf.getByTestId('confirm-accept').click();
    assert.match(await toastText(page, /deleted/), /spare-data\.qcow2 deleted/);
    await page.locator('[data-testid=disk-row][data-target=vdb]').waitFor({ state: 'detached' });
    const vols = (await apiGet(page, '/hosts/local/pools/default/volumes')).body.items.map((v) => v.name);
    assert.ok(!vols.includes('spare-data.qcow2'), 'the volume is gone');
    await screenshot(page, 'guest-disks-after-1440');

    // The operator of the next test.
    const r = await apiSend(page, 'PATCH', `/vms/${GUEST}/access`, { add: [{ kind: 'user', realm: 'local', name: 'diskop', role: 'operator' }] });
    assert.equal(r.status, 200);
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('an operator only changes the medium (narrow)', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, colorScheme: 'light', isMobile: true, hasTouch: true });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'diskop', OP_PASSWORD);
    await page.goto(`${server.url}/guests/${GUEST}?tab=disks`);
    await page.getByTestId('guest-disks-table').waitFor();
    assert.equal(await page.getByTestId('disk-attach').isHidden(), true);
    assert.equal(await page.getByTestId('disk-add-cdrom').isHidden(), true);
    assert.equal(await page.getByTestId('disk-detach').count(), 0);
    const sda = page.locator('[data-testid=disk-row][data-target=sda]');
    assert.match(await sda.textContent(), /virtio-win/);
    await screenshot(page, 'guest-disks-390-operator', { fullPage: true });
    await sda.getByTestId('disk-insert').click();
    const ins = page.getByTestId('disk-insert-dialog');
    await ins.waitFor();
    await ins.getByTestId('disk-iso').selectOption('isos/debian-12.8.0-amd64-netinst.iso');
    await screenshot(page, 'guest-disks-390-insert');
    await ins.getByTestId('dialog-accept').click();
    await page.waitForFunction(() => /debian-12/.test(document.querySelector('[data-testid=disk-row][data-target=sda]')?.textContent ?? ''));
    await sda.getByTestId('disk-eject').click();
    await page.waitForFunction(() => /No medium/.test(document.querySelector('[data-testid=disk-row][data-target=sda]')?.textContent ?? ''));
    // The API agrees: the operator may not attach.
    const r = await apiSend(page, 'POST', `/vms/${GUEST}/disks`, { device: 'cdrom' });
    assert.equal(r.status, 403);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
