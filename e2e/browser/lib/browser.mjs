// Chromium for the browser suite (Debian's /usr/bin/chromium through
// playwright-core; never a downloaded browser), and helpers the tests share.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { after, before } from 'node:test';
import { REPO, startServer } from './server.mjs';

export const ARTIFACTS = join(REPO, 'e2e', 'artifacts');

/** Launch headless Chromium (a fresh temporary profile per launch). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
    ],
  });
}

/**
 * Watch a page for problems a person would not see but should not happen:
 * uncaught errors and Content-Security-Policy violations.
 * @param {import('playwright-core').Page} page
 */
export function watch(page) {
  const problems = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content.Security.Policy|Refused to (apply|execute|load|connect)/i.test(text)) problems.push(`CSP: ${text}`);
    else if (msg.type() === 'error' && !/Failed to load resource/.test(text)) problems.push(`console error: ${text}`);
  });
  return problems;
}

/** Save a screenshot to e2e/artifacts/NAME.png. */
export async function screenshot(page, name, opts = {}) {
  await mkdir(ARTIFACTS, { recursive: true });
  // Let transitions and the spinner settle so the picture is what a person sees.
  await page.waitForTimeout(450);
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), ...opts });
}

/**
 * Sign in through the login form.
 * @param {import('playwright-core').Page} page
 * @param {string} base server URL
 * @param {string} username
 * @param {string} password
 * @param {string} [path] the page to ask for first
 */
export async function login(page, base, username, password, path = '/login') {
  await page.goto(base + path);
  await page.getByTestId('login-username').fill(username);
  await page.getByTestId('login-password').fill(password);
  await Promise.all([
    page.waitForURL((u) => u.pathname !== '/login', { timeout: 10000 }),
    page.getByTestId('login-submit').click(),
  ]);
}

/**
 * GET an API path from inside the page (with its session cookie).
 * @param {import('playwright-core').Page} page
 * @param {string} path below /api/v1
 */
export function apiGet(page, path) {
  return page.evaluate(async (p) => {
    const r = await fetch('/api/v1' + p, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, path);
}

/**
 * Call the API from inside the page with an unsafe method (the session's
 * CSRF token in X-CSRF-Token).
 * @param {import('playwright-core').Page} page
 * @param {string} method
 * @param {string} path below /api/v1
 * @param {unknown} [body]
 * @returns {Promise<{status: number, body: any}>}
 */
export function apiSend(page, method, path, body) {
  return page.evaluate(async ([m, p, b]) => {
    const session = await (await fetch('/api/v1/session', { credentials: 'same-origin' })).json();
    const r = await fetch('/api/v1' + p, {
      method: m, credentials: 'same-origin',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json', 'X-CSRF-Token': session.csrf_token },
      body: b === undefined ? undefined : JSON.stringify(b),
    });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : null };
  }, [method, path, body]);
}

/** Wait until fn (run in the page) returns truthy. */
export function waitFor(page, fn, arg, timeout = 10000) {
  return page.waitForFunction(fn, arg, { timeout, polling: 100 });
}

/**
 * Count a page's requests in flight (not the event stream, which stays
 * open), for advanceClock.
 * @param {import('playwright-core').Page} page
 */
export function trackRequests(page) {
  const open = new Set();
  const skip = (r) => new URL(r.url()).pathname === '/api/v1/events';
  page.on('request', (r) => {
    if (!skip(r)) open.add(r);
  });
  const done = (r) => open.delete(r);
  page.on('requestfinished', done);
  page.on('requestfailed', done);
  return { inflight: () => open.size };
}

/**
 * Move a page's paused Playwright clock (page.clock.pauseAt) forward by ms,
 * in steps, letting the requests each step starts finish before the next:
 * the page's timers fire as they would over that time, without the test
 * waiting for it.
 * @param {import('playwright-core').Page} page
 * @param {ReturnType<typeof trackRequests>} tracker
 * @param {number} ms
 * @param {number} [step]
 */
export async function advanceClock(page, tracker, ms, step = 100) {
  for (let done = 0; done < ms; done += step) {
    await page.clock.runFor(Math.min(step, ms - done));
    await page.evaluate(() => 0); // a round trip: requests the step started are reported by now
    const end = Date.now() + 10000;
    while (tracker.inflight() > 0) {
      if (Date.now() > end) throw new Error('requests still in flight 10 s after a clock step');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Pause a page's clock (installed with context.clock.install()) where it is now.
 * @param {import('playwright-core').Page} page
 */
export async function pauseClock(page) {
  await page.clock.pauseAt(await page.evaluate(() => Date.now() + 500));
}

/**
 * Start the demo server (startServer(opts)) and a browser before a test
 * file's first test and stop both after its last; set receives them.
 * @param {(server: Awaited<ReturnType<typeof startServer>>, browser: import('playwright-core').Browser) => void} set
 * @param {Parameters<typeof startServer>[0]} [opts]
 */
export function withDemo(set, opts) {
  let server;
  let browser;
  before(async () => {
    server = await startServer(opts);
    browser = await launchBrowser();
    set(server, browser);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });
}
