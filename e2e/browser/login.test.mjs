// The login page and the session's life: errors a person can meet, signing
// in and out, deep links, and a session that ends under the user.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiGet, login, screenshot, waitFor, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

async function freshPage(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, ...opts });
  const page = await context.newPage();
  const problems = watch(page);
  return { context, page, problems };
}

describe('login page', () => {
  it('shows the product, labelled fields and focus in the username', async () => {
    const { context, page, problems } = await freshPage();
    try {
      await page.goto(server.url + '/login');
      await page.getByTestId('login-form').waitFor();
      assert.ok((await page.getByTestId('product-name').textContent()).length > 0);
      assert.equal(await page.getByLabel('Username').getAttribute('data-testid'), 'login-username');
      assert.equal(await page.getByLabel('Password').getAttribute('data-testid'), 'login-password');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'login-username');
      assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
      // The realm choice is offered only when there is a choice.
      const realms = await page.evaluate(async () => (await (await fetch('/api/v1/realms')).json()));
      await waitFor(page, (n) => document.querySelectorAll('[data-testid=login-realm] option').length === n, realms.items.length);
      assert.equal(await page.getByTestId('login-realm-field').isVisible(), realms.items.length > 1);
      await screenshot(page, 'login');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('asks for what is missing instead of sending an empty form', async () => {
    const { context, page } = await freshPage();
    try {
      await page.goto(server.url + '/login');
      await page.getByTestId('login-submit').click();
      assert.equal(await page.getByTestId('login-error').textContent(), 'Enter your username.');
      assert.equal(await page.getByTestId('login-username').getAttribute('aria-invalid'), 'true');
      await page.getByTestId('login-username').fill('admin');
      await page.keyboard.press('Enter');
      assert.equal(await page.getByTestId('login-error').textContent(), 'Enter your password.');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'login-password');
    } finally {
      await context.close();
    }
  });

  it('says so when the password is wrong, and keeps the user on the page', async () => {
    const { context, page, problems } = await freshPage();
    try {
      await page.goto(server.url + '/login');
      await page.getByTestId('login-username').fill('admin');
      await page.getByTestId('login-password').fill('not-the-password');
      await page.getByTestId('login-password').press('Enter');
      await page.getByTestId('login-error').waitFor();
      assert.equal(await page.getByTestId('login-error').textContent(), 'The username or password is incorrect.');
      assert.equal(await page.getByTestId('login-password').inputValue(), '');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'login-password');
      assert.equal(new URL(page.url()).pathname, '/login');
      await screenshot(page, 'login-error');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('counts down when throttled, then lets the user try again', async () => {
    const { context, page } = await freshPage();
    try {
      // The server's own throttle would lock this address out for the other
      // tests: answer like it does, from the browser's side.
      await page.route('**/api/v1/session', (route) => (route.request().method() === 'POST'
        ? route.fulfill({
          status: 429,
          headers: { 'Content-Type': 'application/json', 'Retry-After': '2' },
          body: JSON.stringify({ error: { code: 'too_many_requests', message: 'too many failed logins' } }),
        })
        : route.continue()));
      await page.goto(server.url + '/login');
      await page.getByTestId('login-username').fill('admin');
      await page.getByTestId('login-password').fill('x');
      await page.getByTestId('login-submit').click();
      await waitFor(page, () => /Too many failed attempts\. Try again in 2 s\./.test(document.querySelector('[data-testid=login-error]')?.textContent ?? ''));
      assert.equal(await page.getByTestId('login-submit').isDisabled(), true);
      await waitFor(page, () => /Try again in 1 s\./.test(document.querySelector('[data-testid=login-error]').textContent));
      await waitFor(page, () => !document.querySelector('[data-testid=login-submit]').disabled, undefined, 5000);
      assert.equal(await page.getByTestId('login-error').textContent(), 'You can try again now.');
    } finally {
      await context.close();
    }
  });

  it('tells a realm that is down from a network failure', async () => {
    const { context, page } = await freshPage();
    try {
      let mode = 'down';
      await page.route('**/api/v1/session', (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        if (mode === 'down') {
          return route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unavailable', message: 'directory down' } }) });
        }
        return route.abort('connectionrefused');
      });
      await page.goto(server.url + '/login');
      await page.getByTestId('login-username').fill('admin');
      await page.getByTestId('login-password').fill('x');
      await page.getByTestId('login-submit').click();
      await waitFor(page, () => /unavailable/.test(document.querySelector('[data-testid=login-error]')?.textContent ?? ''));
      mode = 'network';
      await page.getByTestId('login-password').fill('x');
      await page.getByTestId('login-submit').click();
      await waitFor(page, () => /Cannot reach the server/.test(document.querySelector('[data-testid=login-error]')?.textContent ?? ''));
    } finally {
      await context.close();
    }
  });
});

describe('session', () => {
  it('logs in as admin and shows who is signed in', async () => {
    const { context, page, problems } = await freshPage();
    try {
      await login(page, server.url, 'admin', server.password);
      assert.equal(new URL(page.url()).pathname, '/guests');
      await page.getByTestId('vm-table').waitFor();
      const me = await apiGet(page, '/session');
      assert.equal(me.status, 200);
      assert.equal(me.body.identity, `${me.body.realm}:admin`);
      await page.getByTestId('user-menu-button').click();
      assert.match(await page.getByTestId('user-identity').textContent(), new RegExp(me.body.identity));
      assert.match(await page.getByTestId('user-roles').textContent(), /administrator/);
      await page.keyboard.press('Escape');
      assert.equal(await page.getByTestId('user-menu').count(), 0);
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'user-menu-button');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('brings a deep link back after login', async () => {
    const { context, page, problems } = await freshPage();
    try {
      await page.goto(server.url + '/hosts/local');
      await page.waitForURL((u) => u.pathname === '/login');
      assert.equal(new URL(page.url()).searchParams.get('next'), '/hosts/local');
      await page.getByTestId('login-username').fill('admin');
      await page.getByTestId('login-password').fill(server.password);
      await page.getByTestId('login-submit').click();
      await page.waitForURL((u) => u.pathname === '/hosts/local');
      await page.getByTestId('host-hostname').waitFor();
      assert.equal(await page.locator('h1').first().textContent(), 'Host');
      assert.equal(await page.getByTestId('nav-host').getAttribute('aria-current'), 'page');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('logs out back to the login page, and the session is gone', async () => {
    const { context, page, problems } = await freshPage();
    try {
      await login(page, server.url, 'admin', server.password);
      await page.getByTestId('user-menu-button').click();
      await page.getByTestId('logout').click();
      await page.waitForURL((u) => u.pathname === '/login');
      assert.equal(await page.getByTestId('login-info').textContent(), 'You have signed out.');
      assert.equal((await apiGet(page, '/session')).status, 401);
      await page.goto(server.url + '/guests');
      await page.waitForURL((u) => u.pathname === '/login');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('sends the user to login when the session ends, and back after', async () => {
    const { context, page } = await freshPage();
    try {
      await login(page, server.url, 'admin', server.password, '/login?next=' + encodeURIComponent('/guests?state=running'));
      assert.equal(new URL(page.url()).search, '?state=running');
      await page.getByTestId('vm-table').waitFor();
      await context.clearCookies();
      // The next live refresh meets a 401.
      await page.waitForURL((u) => u.pathname === '/login', { timeout: 15000 });
      const u = new URL(page.url());
      assert.equal(u.searchParams.get('next'), '/guests?state=running');
      assert.equal(u.searchParams.get('reason'), 'expired');
      assert.match(await page.getByTestId('login-info').textContent(), /session has ended/);
      await page.getByTestId('login-username').fill('admin');
      await page.getByTestId('login-password').fill(server.password);
      await page.getByTestId('login-submit').click();
      await page.waitForURL((x) => x.pathname === '/guests' && x.search === '?state=running');
      assert.equal(await page.getByTestId('filter-running').getAttribute('aria-pressed'), 'true');
    } finally {
      await context.close();
    }
  });
});
