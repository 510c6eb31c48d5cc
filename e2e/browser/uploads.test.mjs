// Uploads from the Storage page on real libvirt (qemu:///system): a dir
// pool in a temp folder defined with virsh, the real server, an admin.
// - A 96 MiB file dropped on the page goes up in 64 MiB tus chunks; the
//   second PATCH's connection is cut (route abort), the client asks the
//   server for its offset (HEAD) and carries on from 64 MiB; the volume's
//   file in the pool folder has the file's SHA-256.
// - Pause holds an upload, a reload shows it as unfinished with the
//   server's offset, choosing the same file again finishes it.
// - Cancel deletes the partial volume.
// Needs VIRTPORTAL_E2E_URI (make e2e sets it and starts libvirtd); without
// it this file fails, never skips.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { apiGet, launchBrowser, login, screenshot, waitFor, watch } from './lib/browser.mjs';
import { addUser, startServer } from './lib/server.mjs';

const run = promisify(execFile);
const URI = process.env.VIRTPORTAL_E2E_URI;
const PW = 'admin-password-e2e-up';
const MiB = 1024 * 1024;
const CHUNK = 64 * MiB; // lib/uploads.js CHUNK_SIZE

const virsh = (...args) => run('virsh', ['-c', URI, ...args], { timeout: 30000 });
/** Poll fn (async) until it is true, for at most ms. */
async function until(fn, what, ms = 15000) {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (await fn()) return;
  assert.fail(`timed out: ${what}`);
}
const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

describe('uploads from the Storage page', () => {
  if (!URI) {
    it('needs VIRTPORTAL_E2E_URI', () => assert.fail('VIRTPORTAL_E2E_URI is not set: run through make e2e (it starts libvirtd)'));
    return;
  }
  const pool = `vpe2e-upui-${randomBytes(3).toString('hex')}`;
  let poolDir;
  let filesDir;
  let defined = false;
  let server;
  let browser;

  before(async () => {
    await virsh('version').catch((err) => {
      throw new Error(`libvirt at ${URI} does not answer (is libvirtd running?): ${err.stderr || err.message}`);
    });
    poolDir = await mkdtemp(join(tmpdir(), 'vpe2e-upui-pool-'));
    filesDir = await mkdtemp(join(tmpdir(), 'vpe2e-upui-files-'));
    await virsh('pool-define-as', pool, 'dir', '--target', poolDir);
    defined = true;
    await virsh('pool-start', pool);
    server = await startServer({ demo: false, libvirtURI: URI, setup: (dir) => addUser(dir, 'admin', PW, { admin: true }) });
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await server?.stop().catch(() => {});
    if (defined) {
      await virsh('pool-destroy', pool).catch(() => {});
      await virsh('pool-undefine', pool).catch((err) => console.error(`undefine ${pool}: ${err.stderr || err.message}`));
    }
    for (const d of [poolDir, filesDir]) if (d) await rm(d, { recursive: true, force: true });
  });

  async function open(viewport = { width: 1440, height: 900 }) {
    const context = await browser.newContext({ viewport, colorScheme: 'light' });
    const page = await context.newPage();
    const problems = watch(page);
    await login(page, server.url, 'admin', PW, `/storage?pool=${pool}`);
    await page.getByTestId('upload-drop').waitFor();
    await waitFor(page, (p) => document.querySelector(`[data-testid=pool-card][data-name="${p}"]`)?.getAttribute('aria-pressed') === 'true', pool);
    return { context, page, problems };
  }

  async function file(name, size) {
    const data = randomBytes(size);
    const path = join(filesDir, name);
    await writeFile(path, data);
    return { path, sum: sha256(data) };
  }

  const itemState = (page, name) => page.evaluate((n) => document.querySelector(`[data-testid=upload-item][data-name="${n}"]`)?.dataset.state ?? '', name);

  it('resumes from the server\'s offset after the connection is cut mid-upload', async () => {
    const { context, page, problems } = await open();
    const { path, sum } = await file('cut.img', 96 * MiB);
    const seen = [];
    let patches = 0;
    await page.route('**/uploads/*', async (route) => {
      const req = route.request();
      seen.push([req.method(), req.headers()['upload-offset'] ?? '']);
      if (req.method() === 'PATCH' && ++patches === 2) return route.abort('connectionreset');
      return route.continue();
    });
    await page.getByTestId('upload-input').setInputFiles(path);
    await waitFor(page, (n) => document.querySelector(`[data-testid=upload-item][data-name="${n}"]`)?.dataset.state === 'done', 'cut.img', 60000);

    // The cut PATCH started at 64 MiB; the client asked where the server stood
    // and sent the rest from there, not from zero.
    const cut = seen.findIndex(([m], i) => m === 'PATCH' && seen.slice(0, i + 1).filter(([x]) => x === 'PATCH').length === 2);
    assert.ok(cut > 0, `requests: ${JSON.stringify(seen)}`);
    assert.equal(seen[cut][1], String(CHUNK));
    const after = seen.slice(cut + 1);
    assert.equal(after[0]?.[0], 'HEAD', `after the cut: ${JSON.stringify(after)}`);
    assert.deepEqual(after.find(([m]) => m === 'PATCH'), ['PATCH', String(CHUNK)]);

    const got = await readFile(join(poolDir, 'cut.img'));
    assert.equal(got.length, 96 * MiB);
    assert.equal(sha256(got), sum, 'the volume holds the file, byte for byte');
    await page.getByTestId('volume-row').filter({ hasText: 'cut.img' }).waitFor();
    const listed = (await apiGet(page, '/hosts/local/uploads')).body.items;
    assert.deepEqual(listed.filter((u) => u.name === 'cut.img'), [], 'a finished upload is no longer listed');
    await screenshot(page, 'uploads-done-wide');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('pauses, continues after a reload with the file chosen again, and cancels', async () => {
    const { context, page, problems } = await open({ width: 390, height: 844 });
    const { path, sum } = await file('paused.img', 80 * MiB);
    // Hold the second PATCH (the first 64 MiB are on the server) until the
    // test has paused the upload, then cut it.
    let patches = 0;
    let secondArrived;
    const second = new Promise((r) => { secondArrived = r; });
    await page.route('**/uploads/*', async (route) => {
      if (route.request().method() === 'PATCH' && ++patches === 2) {
        secondArrived();
        await waitFor(page, () => document.querySelector('[data-testid=upload-item][data-name="paused.img"]')?.dataset.state === 'paused', undefined, 30000).catch(() => {});
        return route.abort('connectionreset').catch(() => {});
      }
      return route.continue();
    });
    await page.getByTestId('upload-input').setInputFiles(path);
    await second;
    await page.locator('[data-testid=upload-item][data-name="paused.img"] [data-testid=upload-pause]').click();
    assert.equal(await itemState(page, 'paused.img'), 'paused');
    await screenshot(page, 'uploads-paused-narrow');

    // The server keeps the upload: a reload lists it with its offset.
    const list = (await apiGet(page, '/hosts/local/uploads')).body.items;
    const mine = list.find((u) => u.name === 'paused.img');
    assert.equal(mine?.offset, CHUNK, JSON.stringify(list));
    await page.unroute('**/uploads/*');
    await page.reload();
    const row = page.locator('[data-testid=upload-item][data-name="paused.img"]');
    await row.waitFor();
    assert.equal(await itemState(page, 'paused.img'), 'unfinished');
    const chooser = page.waitForEvent('filechooser');
    await row.getByTestId('upload-pick').click();
    await (await chooser).setFiles(path);
    await waitFor(page, () => document.querySelector('[data-testid=upload-item][data-name="paused.img"]')?.dataset.state === 'done', undefined, 60000);
    assert.equal(sha256(await readFile(join(poolDir, 'paused.img'))), sum);

    // Cancel: the partial volume goes with it.
    const { path: p2 } = await file('cancel.img', 80 * MiB);
    await page.route('**/uploads/*', async (route) => {
      if (route.request().method() === 'PATCH') {
        await waitFor(page, () => !document.querySelector('[data-testid=upload-item][data-name="cancel.img"]'), undefined, 30000).catch(() => {});
        return route.abort('connectionreset').catch(() => {});
      }
      return route.continue();
    });
    await page.getByTestId('upload-input').setInputFiles(p2);
    await page.locator('[data-testid=upload-item][data-name="cancel.img"][data-state=uploading]').waitFor();
    await until(() => stat(join(poolDir, 'cancel.img')).then(() => true, () => false), 'the upload creates its volume');
    await page.locator('[data-testid=upload-item][data-name="cancel.img"] [data-testid=upload-cancel]').click();
    await waitFor(page, () => !document.querySelector('[data-testid=upload-item][data-name="cancel.img"]'), undefined, 15000);
    const left = await stat(join(poolDir, 'cancel.img')).then(() => true, () => false);
    assert.equal(left, false, 'cancel deletes the partial volume');
    assert.deepEqual((await apiGet(page, '/hosts/local/uploads')).body.items.filter((u) => u.name === 'cancel.img'), []);
    assert.deepEqual(problems, []);
    await context.close();
  });
});
