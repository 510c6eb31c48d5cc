// Several realms against the real server: the demo with PAM and LDAP enabled
// as well, the LDAP directory unreachable (nothing listens on its port) and
// no PAM helper running. The login page offers the realms, remembers the
// last choice and names the realm that is down; the Access tab's typeahead
// still finds the users of the realms that answer, and says which is missing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { launchBrowser, screenshot, watch } from './lib/browser.mjs';
import { startServer } from './lib/server.mjs';

let server;
let browser;

before(async () => {
  server = await startServer({
    args: [
      '--realms-pam-enabled',
      '--realms-ldap-enabled', '--realms-ldap-urls', 'ldap://127.0.0.1:1', '--realms-ldap-base-dn', 'dc=example,dc=org',
    ],
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function freshPage(viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  return { context, page, problems: watch(page) };
}

async function signIn(page, realm, username, password) {
  await page.getByTestId('login-realm').selectOption(realm);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

describe('login with several realms', () => {
  it('offers every realm and remembers the last choice', async () => {
    const { context, page, problems } = await freshPage();
    try {
      const realms = await (await fetch(server.url + '/api/v1/realms')).json();
      assert.ok(realms.items.length > 1, 'several realms');
      await page.goto(server.url + '/login');
      await page.getByTestId('login-realm-field').waitFor();
      const options = await page.getByTestId('login-realm').locator('option').evaluateAll((els) => els.map((o) => [o.value, o.textContent]));
      assert.deepEqual(options, realms.items.map((r) => [r.name, r.label || r.name]));
      assert.equal(await page.getByTestId('login-realm').inputValue(), realms.default, 'the server’s default first');
      assert.equal(await page.getByLabel('Sign in with').getAttribute('data-testid'), 'login-realm');

      await page.getByTestId('login-realm').selectOption('ldap');
      await page.reload();
      await page.getByTestId('login-realm-field').waitFor();
      assert.equal(await page.getByTestId('login-realm').inputValue(), 'ldap', 'remembered across visits');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });

  it('names the realm that is down, and the others still work', async () => {
    const { context, page, problems } = await freshPage({ width: 390, height: 844 });
    try {
      await page.goto(server.url + '/login');
      await page.getByTestId('login-realm-field').waitFor();
      await signIn(page, 'ldap', 'bob', 'secret');
      await page.getByTestId('login-error').waitFor();
      assert.equal(await page.getByTestId('login-error-text').textContent(),
        'Signing in with LDAP is not possible right now: the service is unavailable. Try again later or choose another realm.');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), 'login-realm', 'focus goes to the realm choice');
      await screenshot(page, 'login-realm-down');

      await signIn(page, 'local', 'admin', server.password);
      await page.waitForURL((u) => u.pathname === '/guests');
      // The next visit starts with the realm that worked.
      const p2 = await context.newPage();
      await context.clearCookies();
      await p2.goto(server.url + '/login');
      await p2.getByTestId('login-realm-field').waitFor();
      assert.equal(await p2.getByTestId('login-realm').inputValue(), 'local');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});

describe('typeahead with a directory down', () => {
  it('lists what the other realms find and says which is missing', async () => {
    const { context, page, problems } = await freshPage();
    try {
      await page.goto(server.url + '/login');
      await page.getByTestId('login-realm-field').waitFor();
      await signIn(page, 'local', 'admin', server.password);
      await page.waitForURL((u) => u.pathname === '/guests');
      await page.goto(server.url + '/guests/web02?tab=access');
      await page.getByTestId('access-search').fill('adm');
      await page.getByTestId('access-unavailable').waitFor();
      assert.equal(await page.getByTestId('access-unavailable').textContent(),
        'The LDAP directory is unavailable right now: its users and groups are missing from these results.');
      const options = await page.getByTestId('access-option').allTextContents();
      assert.ok(options.some((o) => o.includes('local:admin')), `the local realm still answers: ${options}`);
      await screenshot(page, 'access-directory-down');
      await page.keyboard.press('Escape');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
