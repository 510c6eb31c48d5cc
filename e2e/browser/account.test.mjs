// The Account page (who you are, the language, API tokens), the page
// language the server chooses, and the tasks drawer fed by the event
// stream, against the real server in demo mode; screenshots at 1440×900 and
// 390×844.
//
// Every test runs against the real API. Only two answer GET /api/v1/tasks
// from a fixture list (taskFixtures): cancelling needs a task that stays
// running, which the demo host's tasks never do, and the drawer's
// screenshots show every status.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

async function signedIn(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light', ...opts });
  const page = await context.newPage();
  const problems = watch(page);
  await login(page, server.url, 'admin', server.password);
  return { context, page, problems };
}

/**
 * Answer the caller's task list (and cancelling t1 or t2) from fixtures:
 * a running, a queued, a failed and a finished task.
 * @returns {Promise<void>}
 */
async function taskFixtures(page) {
  const now = Date.now();
  const iso = (ms) => new Date(now + ms).toISOString();
  const tasks = [
    { id: 't1', kind: 'vm.delete', owner: 'local:admin', host: 'local', target: 'vm:build-07', status: 'running', progress: 45, message: 'Erasing volume build-07-data.qcow2', created: iso(-9e4), started: iso(-9e4), allowed_actions: ['task.cancel'] },
    { id: 't2', kind: 'vm.delete', owner: 'local:admin', host: 'local', target: 'vm:test-vm', status: 'queued', progress: 0, message: '', queue_position: 2, created: iso(-6e4), allowed_actions: ['task.cancel'] },
    { id: 't3', kind: 'vm.delete', owner: 'local:admin', host: 'local', target: 'vm:web03', status: 'failed', progress: 30, message: '', error: { code: 'guest_running', message: 'domain is running' }, created: iso(-6e5), finished: iso(-5.4e5) },
    { id: 't4', kind: 'vm.delete', owner: 'local:admin', host: 'local', target: 'vm:old-db', status: 'done', progress: 100, message: 'Deleted', created: iso(-9e5), finished: iso(-8.6e5) },
  ];
  const json = (route, status, body) => route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
  await page.route('**/api/v1/tasks**', async (route) => {
    const req = route.request();
    if (req.method() === 'GET') return json(route, 200, { items: tasks, next: '' });
    const id = new URL(req.url()).pathname.split('/')[4];
    const task = tasks.find((x) => x.id === id);
    if (!task) return route.continue();
    Object.assign(task, { status: 'cancelled', finished: iso(0), allowed_actions: [] });
    return json(route, 200, task);
  });
}

describe('page language', () => {
  it('follows Accept-Language, then the choice on the Account page', async () => {
    const { context, page, problems } = await signedIn({ locale: 'pt-BR' });
    try {
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'pt-BR');
      assert.equal(await page.getByTestId('nav-guests').textContent(), 'Máquinas');
      await page.goto(server.url + '/account');
      await page.getByTestId('account-lang').waitFor();
      assert.equal(await page.getByTestId('account-lang').inputValue(), '', 'no choice yet');
      assert.equal(await page.locator('#account-title').textContent(), 'Conta');
      // Choose Chinese: the cookie is stored and the server renders the page in it.
      await Promise.all([page.waitForEvent('load'), page.getByTestId('account-lang').selectOption('zh-CN')]);
      await page.locator('#account-title').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'zh-CN');
      assert.equal(await page.locator('#account-title').textContent(), '账户');
      assert.equal(await page.getByTestId('account-lang').inputValue(), 'zh-CN');
      await screenshot(page, 'account-zh-CN');
      const cookie = (await context.cookies()).find((c) => c.name === 'vp_lang');
      assert.equal(cookie?.value, 'zh-CN');
      assert.equal(cookie.sameSite, 'Lax');
      assert.equal(cookie.path, '/');
      // The login page too (a fresh request with the cookie).
      const html = await page.evaluate(async () => (await fetch('/login')).text());
      assert.match(html, /<html lang="zh-CN">/);
      // Back to the browser's preference.
      await Promise.all([page.waitForEvent('load'), page.getByTestId('account-lang').selectOption('')]);
      await page.locator('#account-title').waitFor();
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'pt-BR');
      assert.equal((await context.cookies()).some((c) => c.name === 'vp_lang'), false);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('account page', () => {
  it('says who you are and is reached from the user menu', async () => {
    const { context, page, problems } = await signedIn();
    try {
      await page.getByTestId('user-menu-button').click();
      await page.getByTestId('account-link').click();
      await page.waitForURL((u) => u.pathname === '/account');
      const session = (await apiGet(page, '/session')).body;
      assert.equal(await page.getByTestId('account-username').textContent(), session.username);
      assert.equal(await page.getByTestId('account-identity').textContent(), session.identity);
      assert.match(await page.getByTestId('account-realm').textContent(), new RegExp(session.realm));
      assert.match(await page.getByTestId('account-roles').textContent(), /administrator/);
      assert.equal(await page.title(), 'Account · virtportal');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('creates an API token, shows its secret once, and revokes it', async () => {
    const { context, page, problems } = await signedIn();
    try {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
      await page.goto(server.url + '/account');
      await page.getByTestId('token-form').waitFor();
      await waitFor(page, () => document.querySelector('[data-testid=tokens-state]')?.hidden ||
        !document.querySelector('[data-testid=tokens-state] .spinner'));
      assert.equal(await page.getByTestId('tokens-error').count(), 0, 'the token list loads');

      // Names the form refuses before asking, and one the server refuses, inline.
      await page.getByTestId('token-create').click();
      assert.equal(await page.getByTestId('token-name-error').textContent(), 'Enter a name for the token.');
      assert.equal(await page.getByTestId('token-name').getAttribute('aria-invalid'), 'true');
      await page.getByTestId('token-name').fill('x'.repeat(65));
      await page.getByTestId('token-create').click();
      assert.match(await page.getByTestId('token-name-error').textContent(), /too long/);
      await page.getByTestId('token-name').fill('bad\u0007name');
      await page.getByTestId('token-create').click();
      await waitFor(page, () => /\S/.test(document.querySelector('[data-testid=token-name-error]').textContent) &&
        !/too long/.test(document.querySelector('[data-testid=token-name-error]').textContent));
      assert.equal(await page.getByTestId('token-name-error').isVisible(), true, 'the server’s refusal shows at the field');
      assert.equal(await page.getByTestId('token-secret-box').isVisible(), false);

      // Create.
      const name = `ci-${Date.now()}`;
      await page.getByTestId('token-name').fill(name);
      await page.getByTestId('token-expiry').selectOption('90');
      await page.getByTestId('token-create').click();
      await page.getByTestId('token-secret-box').waitFor();
      assert.equal(await page.getByTestId('token-name-error').isVisible(), false);
      const secret = await page.getByTestId('token-secret').inputValue();
      assert.match(secret, /^vpt_[A-Za-z0-9_-]{43}$/);
      assert.match(await page.getByTestId('token-secret-box').textContent(), /shown only this once/);
      const row = page.locator(`[data-testid=token-row][data-name="${name}"]`);
      await row.waitFor();
      await page.getByTestId('token-copy').click();
      await waitFor(page, () => /Copied/.test(document.querySelector('[data-testid=token-copy-status]').textContent));
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
      // The secret works as a Bearer token, without cookies or CSRF.
      const ok = await fetch(server.url + '/api/v1/vms', { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(ok.status, 200);
      await screenshot(page, 'account-token-created');
      // Gone for good once dismissed.
      await page.getByTestId('token-secret-done').click();
      assert.equal(await page.getByTestId('token-secret-box').isVisible(), false);
      assert.equal(await page.getByTestId('token-secret').inputValue(), '');
      assert.equal((await page.content()).includes(secret), false);

      // Revoke, after a confirmation.
      await row.getByTestId('token-revoke').click();
      const dialog = page.getByTestId('token-revoke-dialog');
      await dialog.waitFor();
      assert.match(await dialog.textContent(), new RegExp(`Revoke the token “${name}”\\?`));
      await dialog.getByTestId('confirm-accept').click();
      await page.getByTestId('toast').filter({ hasText: `Token “${name}” revoked.` }).waitFor();
      await row.waitFor({ state: 'detached' });
      const refused = await fetch(server.url + '/api/v1/vms', { headers: { Authorization: `Bearer ${secret}` } });
      assert.equal(refused.status, 401, 'a revoked token is refused');
      assert.equal((await apiGet(page, '/tokens')).body.items.some((x) => x.name === name), false);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('tasks drawer', () => {
  it('opens from the header and lists the caller’s tasks', async () => {
    const { context, page, problems } = await signedIn();
    try {
      await page.getByTestId('tasks-button').waitFor();
      await page.getByTestId('tasks-button').click();
      const drawer = page.getByTestId('tasks-drawer');
      await drawer.waitFor();
      assert.equal(await page.getByTestId('tasks-button').getAttribute('aria-expanded'), 'true');
      assert.equal(await page.evaluate(() => document.activeElement?.id), 'tasks-title');
      const listed = (await apiGet(page, '/tasks')).body;
      assert.ok(Array.isArray(listed.items));
      await waitFor(page, (n) => document.querySelectorAll('[data-testid=task]').length === Math.min(n, 50) &&
        (n > 0 || !document.querySelector('[data-testid=tasks-state]').hidden), listed.items.length);
      // Escape closes and gives the focus back.
      await page.keyboard.press('Escape');
      await drawer.waitFor({ state: 'hidden' });
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'tasks-button');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('follows a guest deleted with its volumes as a task: 202, the drawer and the event stream', async () => {
    const { context, page, problems } = await signedIn();
    try {
      const list = (await apiGet(page, '/vms')).body;
      const vm = list.items.find((v) => v.state === 'shutoff' && v.allowed_actions?.includes('vm.delete'));
      assert.ok(vm, 'a shut-off guest the admin may delete (allowed_actions)');
      await page.goto(server.url + `/guests/${encodeURIComponent(vm.name)}`);
      await page.getByTestId('vm-menu-button').click();
      await page.getByTestId('vm-menu').locator('[data-action=delete]').click();
      const dialog = page.getByTestId('confirm-dialog');
      await dialog.getByTestId('confirm-delete-volumes').check();
      await dialog.getByTestId('confirm-accept').click();
      await page.waitForURL((u) => u.pathname === '/guests');
      // The drawer opens on the task and the stream brings it to its end.
      await page.getByTestId('tasks-drawer').waitFor();
      const task = page.getByTestId('task').filter({ hasText: vm.name });
      await task.waitFor();
      await waitFor(page, (n) => [...document.querySelectorAll('[data-testid=task]')]
        .some((el) => el.textContent.includes(n) && el.dataset.status === 'done'), vm.name, 30000);
      await page.getByTestId('toast').filter({ hasText: `Delete ${vm.name}: done.` }).waitFor();
      assert.equal(await page.getByTestId('tasks-badge').isVisible(), false, 'nothing pending');
      assert.equal((await apiGet(page, `/vms/${encodeURIComponent(vm.name)}`)).status, 404);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('cancels a task whose allowed_actions allow it (a fixture list)', async () => {
    const { context, page } = await signedIn();
    try {
      await taskFixtures(page);
      await page.reload();
      await page.getByTestId('tasks-button').click();
      const running = page.locator('[data-testid=task][data-id=t1]');
      await running.waitFor();
      assert.equal(await page.getByTestId('tasks-badge').textContent(), '2');
      assert.equal(await page.locator('[data-testid=task][data-id=t3] [data-testid=task-error]').textContent(),
        'The guest is running. Shut it down or power it off first.', 'the error code through t()');
      assert.equal(await page.locator('[data-testid=task][data-id=t3] [data-testid=task-cancel]').isVisible(), false);
      await running.getByTestId('task-cancel').click();
      await waitFor(page, () => document.querySelector('[data-testid=task][data-id=t1]').dataset.status === 'cancelled');
      assert.equal(await page.getByTestId('tasks-badge').textContent(), '1');
    } finally {
      await context.close();
    }
  });
});

describe('screenshots', () => {
  for (const [label, viewport] of [['wide', { width: 1440, height: 900 }], ['phone', { width: 390, height: 844 }]]) {
    it(`of the Account page and the tasks drawer, ${label}`, async () => {
      const { context, page, problems } = await signedIn({ viewport });
      try {
        await page.goto(server.url + '/account');
        await page.getByTestId('account-lang').waitFor();
        await waitFor(page, () => document.querySelector('[data-testid=tokens-state]')?.hidden ||
          !document.querySelector('[data-testid=tokens-state] .spinner'));
        await screenshot(page, `account-${label}`, { fullPage: true });
        await taskFixtures(page); // every status in the drawer
        await page.reload();
        await page.getByTestId('account-lang').waitFor();
        await page.getByTestId('tasks-button').click();
        await page.getByTestId('tasks-drawer').waitFor();
        await waitFor(page, () => document.querySelector('[data-testid=tasks-state]').hidden ||
          !/Loading/.test(document.querySelector('[data-testid=tasks-state]').textContent));
        await screenshot(page, `tasks-drawer-${label}`);
        assert.deepEqual(problems, []);
      } finally {
        await context.close();
      }
    });
  }
});
