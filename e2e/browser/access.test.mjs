// Per-guest access against the real server in demo mode: an administrator
// shares a guest with the local user carol through the Access tab (typeahead,
// diff, save), carol sees exactly that guest and only the buttons her role
// allows; the role is lowered and the grant removed; a 422 lands next to the
// entry it names; unsaved edits are guarded; the audit page finds the changes.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { apiGet, launchBrowser, login, screenshot, waitFor, watch } from './lib/browser.mjs';
import { addUser, deleteUser, startServer } from './lib/server.mjs';

const CAROL_PW = 'carol-password-1';

let server;
let browser;
let admin; // {context, page, problems}
let carol;
let guest; // the guest carol is given

async function open(viewport = { width: 1440, height: 900 }, colorScheme = 'light') {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  return { context, page, problems: watch(page) };
}

before(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'carol', CAROL_PW);
  await addUser(server.dataDir, 'dave', 'dave-password-1');
  browser = await launchBrowser();
  admin = await open();
  await login(admin.page, server.url, 'admin', server.password);
  // A running guest nobody has access to yet.
  const list = (await apiGet(admin.page, '/vms')).body.items;
  for (const vm of list.filter((v) => v.state === 'running')) {
    const acl = (await apiGet(admin.page, `/vms/${encodeURIComponent(vm.name)}/access`)).body;
    if (acl.items.length === 0) {
      guest = vm.name;
      break;
    }
  }
  assert.ok(guest, 'the demo has a running guest without grants');
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const grantRow = (page, id) => page.locator(`[data-testid=grant][data-key=${JSON.stringify(id)}]`);
const access = async (page, name) => (await apiGet(page, `/vms/${encodeURIComponent(name)}/access`)).body.items;

async function openAccess(page, name) {
  await page.goto(`${server.url}/guests/${encodeURIComponent(name)}?tab=access`);
  await page.getByTestId('access-card').waitFor();
  await waitFor(page, () => document.querySelector('[data-testid=access-loading]')?.hidden);
}

/** Type into the typeahead and choose the option of id (realm:name) with Enter. */
async function addThroughSearch(page, query, id, role) {
  if (role) await page.getByTestId('access-new-role').selectOption(role);
  const search = page.getByTestId('access-search');
  await search.fill(query);
  const option = page.getByTestId('access-option').filter({ hasText: id });
  await option.first().waitFor();
  // Move the highlight to the wanted option with the keyboard, then Enter.
  const index = await page.getByTestId('access-option').evaluateAll((els, want) => els.findIndex((e) => e.textContent.includes(want)), id);
  await search.focus();
  for (let i = 0; i < index; i++) await page.keyboard.press('ArrowDown');
  assert.match(await page.locator('[role=option][aria-selected=true]').textContent(), new RegExp(id));
  await page.keyboard.press('Enter');
  await grantRow(page, id).waitFor();
}

async function saveWithDiff(page, shot) {
  await page.getByTestId('access-save').click();
  const dialog = page.getByTestId('access-diff-dialog');
  await dialog.waitFor();
  if (shot) await screenshot(page, shot);
  const text = await dialog.textContent();
  await dialog.getByTestId('confirm-accept').click();
  await dialog.waitFor({ state: 'detached' });
  return text;
}

describe('access tab', () => {
  it('lets an admin give carol the operator role, with a diff before saving', async () => {
    const { page, problems } = admin;
    await page.goto(`${server.url}/guests/${encodeURIComponent(guest)}`);
    await page.getByTestId('guest-tabs').waitFor();
    assert.equal(await page.getByTestId('tab-overview').getAttribute('aria-selected'), 'true');
    await page.getByTestId('tab-access').click();
    assert.equal(new URL(page.url()).searchParams.get('tab'), 'access', 'the tab is in the URL');
    assert.equal(await page.getByTestId('tab-access').getAttribute('aria-selected'), 'true');
    await page.getByTestId('access-empty').waitFor();
    assert.equal(await page.getByTestId('role-help').isVisible(), true, 'the roles are explained');
    assert.equal(await page.getByTestId('access-new-role').inputValue(), 'viewer', 'new entries default to viewer');

    // The typeahead finds carol among the users of every realm.
    await page.getByTestId('access-search').fill('car');
    await page.getByTestId('access-option').first().waitFor();
    const options = await page.getByTestId('access-option').allTextContents();
    assert.ok(options.some((o) => o.includes('local:carol')), `carol offered: ${options}`);
    assert.equal(await page.getByTestId('access-search').getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('Escape');
    assert.equal(await page.getByTestId('access-search').getAttribute('aria-expanded'), 'false');

    await addThroughSearch(page, 'car', 'local:carol', 'operator');
    const row = grantRow(page, 'local:carol');
    assert.equal(await row.getByTestId('grant-role').inputValue(), 'operator');
    assert.equal(await row.getByTestId('grant-state').textContent(), 'New');
    assert.equal(await page.getByTestId('access-search').inputValue(), '', 'the search is cleared for the next one');
    assert.equal(await page.getByTestId('access-pending').textContent(), '1 unsaved change');
    assert.deepEqual(await access(page, guest), [], 'nothing is sent before saving');

    const diff = await saveWithDiff(page);
    assert.match(diff, /Added/);
    assert.match(diff, /local:carol as Operator/);
    assert.doesNotMatch(diff, /Removed|Role changed/);
    await page.getByTestId('toast').filter({ hasText: `Access to ${guest} saved.` }).waitFor();
    await waitFor(page, () => !document.querySelector('[data-testid=grant][data-state]'));
    assert.equal(await page.getByTestId('access-pending').textContent(), 'No unsaved changes.');
    assert.equal(await page.getByTestId('access-save').isDisabled(), true);
    assert.deepEqual(await access(page, guest), [{ kind: 'user', realm: 'local', name: 'carol', role: 'operator' }]);
    assert.deepEqual(problems, []);
  });

  it('shows carol exactly that guest, with power actions but no delete', async () => {
    carol = await open();
    const { page, problems } = carol;
    await login(page, server.url, 'carol', CAROL_PW);
    await page.getByTestId('vm-row').first().waitFor();
    await page.waitForTimeout(300);
    const names = await page.$$eval('[data-testid=vm-row]', (rows) => rows.map((r) => r.dataset.name));
    assert.deepEqual(names, [guest]);
    const row = page.locator(`[data-testid=vm-row][data-name=${JSON.stringify(guest)}]`);
    assert.equal(await row.getByTestId('vm-primary-action').getAttribute('data-action'), 'shutdown');
    await row.getByTestId('vm-menu-button').click();
    const actions = await page.getByTestId('vm-menu').getByTestId('vm-menu-item').evaluateAll((els) => els.map((e) => e.dataset.action));
    assert.deepEqual(actions, ['reboot', 'suspend', 'reset', 'poweroff']);
    await page.keyboard.press('Escape');
    // Neither the host page nor the audit log, which the API would refuse.
    assert.equal(await page.getByTestId('nav-audit').count(), 0);
    assert.equal(await page.getByTestId('nav-host').count(), 0);
    await screenshot(page, 'carol-guests');

    // The detail page: no Access tab (even when asked for), the Console tab
    // (an operator may use it), the same actions.
    await page.goto(`${server.url}/guests/${encodeURIComponent(guest)}?tab=access`);
    await page.getByTestId('fact-uuid').waitFor();
    assert.equal(await page.getByTestId('tab-access').isVisible(), false);
    assert.equal(await page.getByTestId('tab-console').isVisible(), true);
    assert.equal(await page.getByTestId('tab-overview').getAttribute('aria-selected'), 'true');
    assert.equal(new URL(page.url()).search, '', 'a tab carol does not have is dropped from the URL');
    assert.equal(await page.getByTestId('my-role').textContent(), 'Your role: Operator');
    assert.equal(await page.getByTestId('vm-primary-action').getAttribute('data-action'), 'shutdown');
    await page.getByTestId('vm-menu-button').click();
    const more = await page.getByTestId('vm-menu').getByTestId('vm-menu-item').evaluateAll((els) => els.map((e) => e.dataset.action));
    assert.equal(more.includes('delete'), false);
    await page.keyboard.press('Escape');
    assert.deepEqual(problems, []);
  });

  it('takes the power actions away when carol becomes a viewer', async () => {
    const { page } = admin;
    await openAccess(page, guest);
    const row = grantRow(page, 'local:carol');
    await row.getByTestId('grant-role').selectOption('viewer');
    assert.equal(await row.getByTestId('grant-state').textContent(), 'Was Operator');
    const diff = await saveWithDiff(page);
    assert.match(diff, /Role changed/);
    assert.match(diff, /local:carol: Operator → Viewer/);
    await page.getByTestId('toast').filter({ hasText: 'saved' }).first().waitFor();
    assert.deepEqual(await access(page, guest), [{ kind: 'user', realm: 'local', name: 'carol', role: 'viewer' }]);

    const c = carol.page;
    await c.goto(`${server.url}/guests`);
    const crow = c.locator(`[data-testid=vm-row][data-name=${JSON.stringify(guest)}]`);
    await crow.waitFor();
    await c.waitForTimeout(300);
    assert.equal(await crow.getByTestId('vm-primary-action').getAttribute('data-action'), null, 'no primary action');
    assert.equal(await crow.getByTestId('vm-primary-action').isVisible(), false);
    assert.equal(await crow.getByTestId('vm-menu-button').isVisible(), false, 'no menu');
    await c.goto(`${server.url}/guests/${encodeURIComponent(guest)}`);
    await c.getByTestId('fact-uuid').waitFor();
    assert.equal(await c.getByTestId('my-role').textContent(), 'Your role: Viewer');
    assert.equal(await c.getByTestId('tab-console').isVisible(), false, 'a viewer has no Console tab');
    assert.equal(await c.getByTestId('tab-access').isVisible(), false, 'nor an Access tab');
    assert.equal(await c.getByTestId('vm-primary-action').isVisible(), false);
    assert.equal(await c.getByTestId('vm-menu-button').isVisible(), false);
    await screenshot(c, 'carol-viewer-detail');
  });

  it('removes the grant, and carol sees no guest', async () => {
    const { page } = admin;
    await openAccess(page, guest);
    const row = grantRow(page, 'local:carol');
    await row.getByTestId('grant-remove').click();
    assert.equal(await row.getByTestId('grant-state').textContent(), 'Will be removed');
    assert.equal(await row.getAttribute('data-state'), 'removed');
    // Undo, and remove again: the button toggles.
    await row.getByTestId('grant-undo').click();
    assert.equal(await row.getAttribute('data-state'), null);
    assert.equal(await page.getByTestId('access-save').isDisabled(), true);
    await row.getByTestId('grant-remove').click();
    const diff = await saveWithDiff(page);
    assert.match(diff, /Removed/);
    assert.match(diff, /local:carol \(was Viewer\)/);
    await page.getByTestId('access-empty').waitFor();
    assert.deepEqual(await access(page, guest), []);

    const c = carol.page;
    await c.goto(`${server.url}/guests`);
    await c.getByTestId('guests-empty').waitFor();
    assert.match(await c.getByTestId('guests-empty').textContent(), /No guest has been shared with you yet/);
    assert.equal((await apiGet(c, `/vms/${encodeURIComponent(guest)}`)).status, 404);
  });

  it('puts a refused entry’s message next to it and keeps the edits (422)', async () => {
    const { page, problems } = admin;
    await openAccess(page, guest);
    await addThroughSearch(page, 'dav', 'local:dave', 'operator');
    await addThroughSearch(page, 'car', 'local:carol', 'viewer');
    // dave is deleted between the search and the save.
    await deleteUser(server.dataDir, 'dave');
    await page.getByTestId('access-save').click();
    await page.getByTestId('access-diff-dialog').getByTestId('confirm-accept').click();
    const banner = page.getByTestId('access-error');
    await banner.waitFor();
    assert.match(await banner.textContent(), /nothing was changed/);
    const dave = grantRow(page, 'local:dave');
    await dave.getByTestId('grant-error').waitFor();
    assert.match(await dave.getByTestId('grant-error').textContent(), /no user "dave" in realm local/);
    assert.equal(await dave.getByTestId('grant-role').getAttribute('aria-invalid'), 'true');
    assert.equal(await grantRow(page, 'local:carol').getByTestId('grant-error').isVisible(), false, 'only the bad entry is marked');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('[data-testid=grant]')?.dataset.key), 'local:dave', 'focus on the bad entry');
    // The edits are kept.
    assert.equal(await page.getByTestId('access-pending').textContent(), '2 unsaved changes');
    assert.equal(await dave.getByTestId('grant-role').inputValue(), 'operator');
    assert.deepEqual(await access(page, guest), [], 'nothing changed on the server');
    await screenshot(page, 'access-422');

    // Taking dave off clears the message; carol alone saves.
    await dave.getByTestId('grant-remove').click();
    assert.equal(await dave.count(), 0);
    assert.equal(await banner.isVisible(), false);
    await saveWithDiff(page);
    await page.getByTestId('toast').filter({ hasText: 'saved' }).first().waitFor();
    assert.deepEqual(await access(page, guest), [{ kind: 'user', realm: 'local', name: 'carol', role: 'viewer' }]);
    assert.deepEqual(problems, []);
  });

  it('asks before leaving with unsaved edits', async () => {
    const { page } = admin;
    await openAccess(page, guest);
    await grantRow(page, 'local:carol').getByTestId('grant-role').selectOption('manager');
    // Another tab: asked, and "Keep editing" stays.
    await page.getByTestId('tab-overview').click();
    const dialog = page.getByTestId('leave-dialog');
    await dialog.waitFor();
    assert.match(await dialog.textContent(), /1 change/);
    await dialog.getByTestId('confirm-cancel').click();
    assert.equal(await page.getByTestId('tab-access').getAttribute('aria-selected'), 'true');
    assert.equal(await grantRow(page, 'local:carol').getByTestId('grant-role').inputValue(), 'manager');
    // Another page: asked again; discarding goes.
    await page.getByTestId('nav-guests').click();
    await dialog.waitFor();
    await dialog.getByTestId('confirm-accept').click();
    await page.waitForURL((u) => u.pathname === '/guests');
    // The back button with edits (the guest opened from the list): asked too.
    await page.locator(`[data-testid=vm-row][data-name=${JSON.stringify(guest)}] a.vm-name`).click();
    await page.getByTestId('tab-access').click();
    await grantRow(page, 'local:carol').getByTestId('grant-role').selectOption('operator');
    await page.goBack();
    await dialog.waitFor();
    await dialog.getByTestId('confirm-cancel').click();
    assert.equal(new URL(page.url()).pathname, `/guests/${encodeURIComponent(guest)}`);
    assert.equal(new URL(page.url()).searchParams.get('tab'), 'access');
    assert.equal(await grantRow(page, 'local:carol').getByTestId('grant-role').inputValue(), 'operator');
    // Reloading or closing the window: the browser is asked to confirm.
    assert.equal(await page.evaluate(() => {
      const e = new Event('beforeunload', { cancelable: true });
      window.dispatchEvent(e);
      return e.defaultPrevented;
    }), true);
    await page.getByTestId('access-discard').click();
    assert.equal(await grantRow(page, 'local:carol').getByTestId('grant-role').inputValue(), 'viewer');
    assert.deepEqual(await access(page, guest), [{ kind: 'user', realm: 'local', name: 'carol', role: 'viewer' }]);
  });

  it('is read-only for auditors', async () => {
    const { context, page, problems } = await open();
    try {
      await login(page, server.url, 'admin', server.password);
      // An auditor session, as the server would describe it.
      await page.route('**/api/v1/session', async (route) => {
        if (route.request().method() !== 'GET') return route.continue();
        const res = await route.fetch();
        const body = await res.json();
        return route.fulfill({ response: res, json: { ...body, roles: ['auditor'] } });
      });
      await page.route('**/api/v1/vms/*', async (route) => {
        const res = await route.fetch();
        const body = await res.json();
        return route.fulfill({ response: res, json: { ...body, my_role: 'auditor', allowed_actions: ['vm.read', 'access.read'] } });
      });
      await openAccess(page, guest);
      await grantRow(page, 'local:carol').waitFor();
      assert.equal(await page.getByTestId('access-search').count(), 0, 'no search');
      assert.equal(await page.getByTestId('grant-role').count(), 0, 'no role selects');
      assert.equal(await page.getByTestId('grant-remove').count(), 0);
      assert.equal(await grantRow(page, 'local:carol').getByTestId('grant-role-text').textContent(), 'Viewer');
      assert.equal(await page.getByTestId('access-save-bar').count(), 0);
      assert.equal(await page.getByTestId('vm-primary-action').isVisible(), false);
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('typeahead', () => {
  it('says when there are more results, and when a directory is down', async () => {
    const { page } = admin;
    await openAccess(page, guest);
    let mode = 'truncated';
    await page.route('**/api/v1/directory/*', (route) => {
      const url = new URL(route.request().url());
      const kind = url.pathname.endsWith('/groups') ? 'group' : 'user';
      if (mode === 'down') {
        return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'the LDAP directory is unavailable' } }) });
      }
      const items = Array.from({ length: 3 }, (_, i) => ({ kind, realm: 'local', name: `${kind}${i}`, display: `${kind === 'user' ? 'Person' : 'Team'} ${i}`, dn: '' }));
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ items, truncated: kind === 'user' }) });
    });
    try {
      const search = page.getByTestId('access-search');
      await search.fill('x');
      await page.getByTestId('access-truncated').waitFor();
      assert.equal(await page.getByTestId('access-truncated').textContent(), 'More results — refine your search.');
      assert.equal(await page.getByTestId('access-option').count(), 6, 'users and groups together');
      // Keyboard: the first option is highlighted; arrows move, wrapping around.
      const active = () => page.evaluate(() => document.getElementById(document.activeElement.getAttribute('aria-activedescendant'))?.dataset.key);
      const first = await active();
      await page.keyboard.press('ArrowUp');
      assert.notEqual(await active(), first);
      await page.keyboard.press('ArrowDown');
      assert.equal(await active(), first);
      await screenshot(page, 'access-typeahead');

      mode = 'down';
      await search.fill('xy');
      await page.getByTestId('access-unavailable').waitFor();
      assert.match(await page.getByTestId('access-unavailable').textContent(), /directory is unavailable/);
      assert.equal(await page.getByTestId('access-option').count(), 0);
      await page.keyboard.press('Escape');
      await page.keyboard.press('Escape');
      assert.equal(await search.inputValue(), '', 'a second Escape clears');
    } finally {
      await page.unroute('**/api/v1/directory/*');
    }
  });
});

describe('screenshots', () => {
  it('shows the access tab wide, narrow and dark', async () => {
    // web01 carries several grants (a user of a realm that is not enabled, a group).
    const shots = [
      { name: 'access-tab', viewport: { width: 1440, height: 900 }, scheme: 'light' },
      { name: 'access-tab-narrow', viewport: { width: 390, height: 844 }, scheme: 'light' },
      { name: 'access-tab-dark', viewport: { width: 1280, height: 860 }, scheme: 'dark' },
    ];
    for (const s of shots) {
      const v = await open(s.viewport, s.scheme);
      try {
        await login(v.page, server.url, 'admin', server.password);
        await openAccess(v.page, 'web01');
        await grantRow(v.page, 'pam:alice').waitFor();
        // Every kind of pending edit: new, role changed, to be removed.
        await addThroughSearch(v.page, 'car', 'local:carol', 'operator');
        await grantRow(v.page, 'ldap:ops').getByTestId('grant-role').selectOption('operator');
        await grantRow(v.page, 'local:demo').getByTestId('grant-remove').click();
        const overflow = await v.page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
        assert.ok(overflow <= 0, `${s.name}: no horizontal overflow (got ${overflow}px)`);
        if (s.name === 'access-tab-narrow') {
          // What a phone shows: the list, with the save bar kept at the bottom.
          await v.page.getByTestId('grant-list').scrollIntoViewIfNeeded();
          await v.page.evaluate(() => window.scrollBy(0, -120));
          await screenshot(v.page, s.name);
          await v.page.evaluate(() => window.scrollTo(0, 0));
          await screenshot(v.page, `${s.name}-top`);
        } else {
          await v.page.evaluate(() => window.scrollTo(0, 0));
          await screenshot(v.page, s.name, { fullPage: true });
        }
        await v.page.getByTestId('access-save').click();
        await v.page.getByTestId('access-diff-dialog').waitFor();
        const diff = await v.page.getByTestId('access-diff').textContent();
        assert.match(diff, /Added.*local:carol as Operator/);
        assert.match(diff, /Role changed.*ldap:ops: Viewer → Operator/);
        assert.match(diff, /Removed.*local:demo \(was Operator\)/);
        if (s.name === 'access-tab') await screenshot(v.page, 'access-diff');
        if (s.name === 'access-tab-narrow') await screenshot(v.page, 'access-diff-narrow');
        await v.page.getByTestId('confirm-cancel').click();
        await v.page.getByTestId('access-discard').click();
        assert.deepEqual(v.problems, []);
      } finally {
        await v.context.close();
      }
    }
  });
});

describe('audit log', () => {
  const rows = (page) => page.$$eval('[data-testid=audit-row]', (trs) => trs.map((tr) => ({
    action: tr.dataset.action,
    actor: tr.querySelector('[data-testid=audit-actor]').textContent,
    target: tr.querySelector('[data-testid=audit-target]').textContent,
    href: tr.querySelector('[data-testid=audit-target-link]')?.getAttribute('href') ?? null,
    result: tr.querySelector('[data-testid=audit-result-badge]').dataset.result,
    reason: tr.querySelector('[data-testid=audit-reason]')?.textContent ?? '',
  })));
  // The results shown answer the address (after a navigation the old page's stay until the new one has read).
  const settled = (page) => waitFor(page, () => {
    const s = document.querySelector('[data-testid=audit-status]');
    return s && (s.hidden || !s.querySelector('.spinner')) && s.dataset.shows === location.search;
  });

  it('filters the access changes, with actor, target and result', async () => {
    const { page, problems } = admin;
    await page.goto(`${server.url}/audit`);
    await page.getByTestId('audit-row').first().waitFor();
    assert.equal(await page.getByTestId('audit-preset-all').getAttribute('aria-pressed'), 'true');

    await page.getByTestId('audit-preset-access').click();
    await page.waitForURL((u) => u.searchParams.get('action') === 'vm.access.*');
    await settled(page);
    assert.equal(await page.getByTestId('audit-preset-access').getAttribute('aria-pressed'), 'true');
    assert.equal(await page.getByTestId('audit-filter-action').inputValue(), 'vm.access.*');
    let list = await rows(page);
    assert.ok(list.length >= 5, `the grants changed above are listed (${list.length})`);
    for (const r of list) {
      assert.match(r.action, /^vm\.access\./);
      assert.equal(r.actor, 'local:admin');
    }
    const ours = list.filter((r) => r.target === `vm:${guest}`);
    assert.ok(ours.length >= 4);
    assert.equal(ours[0].href, `/guests/${encodeURIComponent(guest)}`, 'the target links to the guest');
    assert.ok(ours.some((r) => r.reason.includes('+user:local:carol=operator')), 'the change itself is shown');
    assert.ok(ours.some((r) => r.result === 'error:invalid_grants'), 'the refused save too');

    // Narrow down to the guest and to failures; the URL carries every filter.
    await page.getByTestId('audit-filter-target').fill(`vm:${guest}`);
    await page.getByTestId('audit-filter-target').press('Enter');
    await page.waitForURL((u) => u.searchParams.get('target') === `vm:${guest}`);
    await settled(page);
    list = await rows(page);
    assert.ok(list.length >= 4 && list.every((r) => r.target === `vm:${guest}`));
    await screenshot(page, 'audit-filtered', { fullPage: true });
    try {
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      assert.ok(overflow <= 0, `audit at 390 px: no horizontal overflow (got ${overflow}px)`);
      await screenshot(page, 'audit-filtered-narrow', { fullPage: true });
      // Only a preset: the other fields fold away on a phone, one tap brings them.
      await page.goto(`${server.url}/audit?action=vm.access.*`);
      await page.getByTestId('audit-row').first().waitFor();
      assert.equal(await page.getByTestId('audit-filter-target').isVisible(), false);
      await screenshot(page, 'audit-narrow');
      await page.getByTestId('audit-filter-toggle').click();
      assert.equal(await page.getByTestId('audit-filter-target').isVisible(), true);
      await page.goBack();
      await page.getByTestId('audit-row').first().waitFor();
    } finally {
      await page.setViewportSize({ width: 1440, height: 900 });
    }

    await page.getByTestId('audit-filter-result').selectOption('error');
    await page.waitForURL((u) => u.searchParams.get('result') === 'error');
    await settled(page);
    list = await rows(page);
    assert.deepEqual(list.map((r) => r.result), ['error:invalid_grants']);
    assert.match(await page.getByTestId('audit-result-badge').textContent(), /Error · invalid_grants/);
    assert.equal(await page.getByTestId('audit-filter-count').textContent(), '3 filters');

    // A deep link shows the same.
    await page.reload();
    await page.getByTestId('audit-row').first().waitFor();
    assert.equal(await page.getByTestId('audit-filter-target').inputValue(), `vm:${guest}`);
    assert.equal(await page.getByTestId('audit-filter-result').inputValue(), 'error');
    assert.deepEqual((await rows(page)).map((r) => r.result), ['error:invalid_grants']);
    // Back returns to the previous filters.
    await page.goBack();
    await page.waitForURL((u) => !u.searchParams.has('result'));
    await settled(page);
    assert.ok((await rows(page)).length >= 4);

    // A user of the local realm, written without it.
    await page.getByTestId('audit-clear').click();
    await page.waitForURL((u) => u.search === '');
    await page.getByTestId('audit-filter-user').fill('carol');
    await page.getByTestId('audit-filter-user').press('Enter');
    await settled(page);
    list = await rows(page);
    assert.ok(list.length >= 1 && list.every((r) => r.actor === 'local:carol'), 'carol’s sign-ins');
    assert.ok(list.some((r) => r.action === 'session.login'));
    assert.deepEqual(problems, []);
  });

  it('says when nothing matches, and refuses an empty time range', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/audit?action=vm.access.*`);
    await page.getByTestId('audit-row').first().waitFor();
    // From: tomorrow.
    const tomorrow = new Date(Date.now() + 86400000);
    const pad = (n) => String(n).padStart(2, '0');
    const local = `${tomorrow.getFullYear()}-${pad(tomorrow.getMonth() + 1)}-${pad(tomorrow.getDate())}T10:00`;
    await page.getByTestId('audit-filter-since').fill(local);
    await page.getByTestId('audit-apply').click();
    await page.getByTestId('audit-empty').waitFor();
    assert.equal(await page.getByTestId('audit-empty').textContent(), 'No events match these filters.');
    assert.ok(new URL(page.url()).searchParams.get('since').endsWith('Z'), 'the URL holds an RFC 3339 time');
    // To before From.
    await page.getByTestId('audit-filter-until').fill(local.replace('T10:00', 'T09:00'));
    await page.getByTestId('audit-apply').click();
    await page.getByTestId('audit-until-error').waitFor();
    assert.match(await page.getByTestId('audit-until-error').textContent(), /after “From”/);
    assert.equal(await page.getByTestId('audit-filter-until').getAttribute('aria-invalid'), 'true');
  });

  it('pages to older events and shows a failure without losing the rows', async () => {
    const { page } = admin;
    const event = (id) => ({
      id, time: new Date(Date.now() - id * 60000).toISOString(), actor: 'local:admin', action: 'vm.start', target: `vm:web0${id % 6}`,
      result: id % 5 === 0 ? 'denied:forbidden' : 'ok', reason: '', client: '192.0.2.7', request_id: `r${id}`,
    });
    const seen = [];
    let fail = false;
    await page.route('**/api/v1/audit?*', (route) => {
      const u = new URL(route.request().url());
      seen.push(u.searchParams.get('before'));
      if (fail) return route.fulfill({ status: 500, contentType: 'application/json', body: JSON.stringify({ error: { code: 'internal', message: 'database is locked' } }) });
      const before = Number(u.searchParams.get('before') || 1000);
      const limit = Number(u.searchParams.get('limit'));
      const items = Array.from({ length: limit }, (_, i) => event(before - 1 - i)).filter((e) => e.id > 0);
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ items, next: items.length === limit ? String(items.at(-1).id) : '' }) });
    });
    try {
      await page.goto(`${server.url}/audit`);
      await page.getByTestId('audit-row').first().waitFor();
      assert.equal(await page.getByTestId('audit-row').count(), 100);
      assert.equal(await page.getByTestId('audit-count').textContent(), '100 events shown');
      await page.getByTestId('audit-more').click();
      await waitFor(page, () => document.querySelectorAll('[data-testid=audit-row]').length === 200);
      assert.deepEqual(seen, [null, '900']);
      fail = true;
      await page.getByTestId('audit-more').click();
      await page.getByTestId('audit-error').waitFor();
      // The code (internal) through the catalog, not the server's English.
      assert.match(await page.getByTestId('audit-error').textContent(), /The server had an internal error/);
      assert.equal(await page.getByTestId('audit-row').count(), 200, 'the rows shown stay');
      fail = false;
      await page.getByTestId('audit-retry').click();
      await waitFor(page, () => document.querySelectorAll('[data-testid=audit-row]').length === 300);

      // Denials: the server matches results exactly, so the page reads on until it has enough.
      seen.length = 0;
      await page.goto(`${server.url}/audit?result=denied`);
      await page.getByTestId('audit-row').first().waitFor();
      const results = await page.$$eval('[data-testid=audit-result-badge]', (els) => [...new Set(els.map((e) => e.dataset.result))]);
      assert.deepEqual(results, ['denied:forbidden']);
      assert.equal(await page.getByTestId('audit-row').count(), 100, 'a full page of denials');
      assert.ok(seen.length >= 1);
      await page.getByTestId('audit-scanned').waitFor();
    } finally {
      await page.unroute('**/api/v1/audit?*');
    }
  });
});
