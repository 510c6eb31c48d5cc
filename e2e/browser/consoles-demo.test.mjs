// Consoles and screenshot thumbnails against the demo server (libvirt's test
// driver, which opens no consoles): the Console button by role and state,
// the tab's states (refused on this host, not available, not running, SPICE
// download), no retry loop, the WebSocket under the CSP, xterm.js under the
// CSP, narrow and dark; thumbnails only for visible running guests with a
// display, at most every 10 s, placeholders for the rest. The real consoles
// are in console.test.mjs (KVM).

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import {
  advanceClock, apiGet, apiSend, launchBrowser, login, pauseClock, screenshot, trackRequests, waitFor, watch,
} from './lib/browser.mjs';
import { addUser, startServer } from './lib/server.mjs';

const OLGA_PW = 'olga-password-1';
const VIC_PW = 'vic-password-1';
const LIVE = new Set(['running', 'blocked', 'paused', 'shutting-down', 'pmsuspended']);

let server;
let browser;
let admin; // {context, page, problems}
let vms; // the demo's guests
let vncGuest; // running, VNC, serial
let offGuest; // shut off
let spiceGuest; // running, SPICE

/** Console errors a refused WebSocket handshake prints: expected on the test driver. */
const refusedSocket = (p) => /WebSocket connection to .* failed/.test(p);

// The demo's test driver has no consoles, so the real server refuses a ticket
// (501, tested below). To exercise the page's refused-connection path, the
// CSP and xterm.js, tickets are stubbed with tokens the real WebSocket
// endpoint then refuses before upgrading.
async function stubTickets(page) {
  let n = 0;
  await page.route('**/api/v1/vms/*/console', (route) => {
    const kind = route.request().postDataJSON().kind;
    const u = new URL(server.url);
    route.fulfill({
      status: 200, contentType: 'application/json',
      body: JSON.stringify({ kind, token: `stub-${++n}`, ws_url: `ws://${u.host}/api/v1/console/ws?token=stub-${n}`, expires: new Date(Date.now() + 30000).toISOString() }),
    });
  });
  return () => page.unroute('**/api/v1/vms/*/console');
}

async function open(viewport = { width: 1440, height: 900 }, colorScheme = 'light', { clock = false } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  if (clock) await context.clock.install(); // Playwright's clock: time flows until a test pauses it
  const page = await context.newPage();
  // Every CSP violation, whatever the console says.
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { context, page, problems: watch(page) };
}

const cspViolations = (page) => page.evaluate(() => window.__csp);

before(async () => {
  server = await startServer();
  await addUser(server.dataDir, 'olga', OLGA_PW);
  await addUser(server.dataDir, 'vic', VIC_PW);
  browser = await launchBrowser();
  admin = await open();
  await login(admin.page, server.url, 'admin', server.password);
  vms = (await apiGet(admin.page, '/vms')).body.items;
  vncGuest = vms.find((v) => v.state === 'running' && v.graphics === 'vnc').name;
  offGuest = vms.find((v) => v.state === 'shutoff').name;
  spiceGuest = vms.find((v) => v.state === 'running' && v.graphics === 'spice').name;
  const detail = (await apiGet(admin.page, `/vms/${vncGuest}`)).body;
  assert.deepEqual(detail.devices.consoles, ['vnc', 'serial'], `${vncGuest} has a display and a serial port`);
  for (const [name, who, role] of [[vncGuest, 'olga', 'operator'], [offGuest, 'olga', 'operator'], [vncGuest, 'vic', 'viewer']]) {
    const r = await apiSend(admin.page, 'PATCH', `/vms/${encodeURIComponent(name)}/access`, { add: [{ kind: 'user', realm: 'local', name: who, role }] });
    assert.equal(r.status, 200, `grant ${who} ${role} on ${name}: ${JSON.stringify(r.body)}`);
  }
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

const row = (page, name) => page.locator(`[data-testid=vm-row][data-name=${JSON.stringify(name)}]`);

async function gotoGuests(page) {
  await page.goto(server.url + '/guests');
  await page.getByTestId('vm-row').first().waitFor();
}

describe('the Console button', () => {
  it('is offered on running guests only, to administrators', async () => {
    const { page } = admin;
    await gotoGuests(page);
    // The list is windowed: scroll through it and look at every row's link.
    const links = new Map(await page.evaluate(async () => {
      const frames = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const seen = new Map();
      const grab = () => {
        for (const r of document.querySelectorAll('[data-testid=vm-row]')) {
          const a = r.querySelector('[data-testid=vm-console]');
          seen.set(r.dataset.name, { href: a.getAttribute('href'), label: a.getAttribute('aria-label'), visibility: getComputedStyle(a).visibility });
        }
      };
      window.scrollTo(0, 0);
      await frames();
      grab();
      while (window.scrollY + innerHeight < document.documentElement.scrollHeight - 1) {
        window.scrollBy(0, innerHeight * 0.8);
        await frames();
        grab();
      }
      window.scrollTo(0, 0);
      return [...seen];
    }));
    assert.equal(links.size, vms.length, 'every guest has a row');
    for (const vm of vms) {
      const link = links.get(vm.name);
      if (LIVE.has(vm.state)) {
        assert.equal(link.href, `/guests/${encodeURIComponent(vm.name)}?tab=console`, `${vm.name} (${vm.state})`);
        assert.equal(link.label, `Open the console of ${vm.name}`);
      } else {
        assert.equal(link.href, null, `${vm.name} (${vm.state}) has no console link`);
        assert.equal(link.visibility, 'hidden', 'the slot is kept, hidden, so that buttons line up');
      }
    }
  });

  it('follows the role on the guest: operators yes, viewers no', async () => {
    const olga = await open();
    const vic = await open();
    try {
      await login(olga.page, server.url, 'olga', OLGA_PW);
      await olga.page.getByTestId('vm-row').first().waitFor();
      assert.notEqual(await row(olga.page, vncGuest).getByTestId('vm-console').getAttribute('href'), null);
      assert.equal(await row(olga.page, offGuest).getByTestId('vm-console').getAttribute('href'), null, 'not for a shut-off guest');

      // Detail of the running guest: the header button and the tab.
      await olga.page.goto(`${server.url}/guests/${vncGuest}`);
      await olga.page.getByTestId('fact-uuid').waitFor();
      assert.equal(await olga.page.getByTestId('vm-console-button').isVisible(), true);
      assert.equal(await olga.page.getByTestId('tab-console').isVisible(), true);
      assert.equal(await olga.page.getByTestId('tab-access').isVisible(), false, 'no access.read in its allowed_actions');

      // Detail of the shut-off guest: the tab says so, and asks the server for nothing.
      const tickets = [];
      olga.page.on('request', (r) => {
        if (r.method() === 'POST' && r.url().endsWith('/console')) tickets.push(r.url());
      });
      await olga.page.goto(`${server.url}/guests/${offGuest}`);
      await olga.page.getByTestId('fact-uuid').waitFor();
      assert.equal(await olga.page.getByTestId('vm-console-button').isVisible(), false, 'no Console button while shut off');
      await olga.page.getByTestId('tab-console').click();
      await olga.page.locator('[data-testid=console-stopped]').waitFor();
      assert.match(await olga.page.getByTestId('console').textContent(), new RegExp(`${offGuest} is not running`));
      await olga.page.waitForTimeout(3500); // a refresh of the page
      assert.deepEqual(tickets, [], 'no console ticket for a stopped guest');
      assert.deepEqual(olga.problems, []);

      // A viewer: no button, no tab, and ?tab=console falls back to the overview.
      await login(vic.page, server.url, 'vic', VIC_PW);
      await vic.page.getByTestId('vm-row').first().waitFor();
      assert.equal(await row(vic.page, vncGuest).getByTestId('vm-console').getAttribute('href'), null);
      await vic.page.goto(`${server.url}/guests/${vncGuest}?tab=console`);
      await vic.page.getByTestId('fact-uuid').waitFor();
      await waitFor(vic.page, () => new URL(location.href).search === '');
      assert.equal(await vic.page.getByTestId('tab-console').isVisible(), false);
      assert.equal(await vic.page.getByTestId('vm-console-button').isVisible(), false);
      assert.equal(await vic.page.getByTestId('tab-access').isVisible(), false, 'nor an Access tab');
      assert.deepEqual(vic.problems, []);
    } finally {
      await olga.context.close();
      await vic.context.close();
    }
  });
});

describe('the Console tab on a host without consoles', () => {
  it('says the connection was refused, once, with a same-origin WebSocket the CSP allows', async () => {
    const { page, problems } = admin;
    const sockets = [];
    const tickets = [];
    const onSocket = (ws) => sockets.push(ws.url());
    const onRequest = (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/console')) tickets.push(r.postDataJSON());
    };
    page.on('websocket', onSocket);
    page.on('request', onRequest);
    const unstub = await stubTickets(page);
    try {
      await page.goto(`${server.url}/guests/${vncGuest}`);
      await page.getByTestId('fact-uuid').waitFor();
      await page.getByTestId('vm-console-button').click();
      assert.equal(new URL(page.url()).searchParams.get('tab'), 'console');
      const status = page.getByTestId('console-status');
      await waitFor(page, () => document.querySelector('[data-testid=console-status]')?.dataset.state === 'closed', undefined, 10000);
      assert.equal(await status.getAttribute('data-message'), 'refused');
      assert.equal(await status.textContent(), 'Could not connect: the server refused the console connection.');
      assert.equal(await page.getByTestId('console-connect').isVisible(), true, 'Reconnect is offered');
      await page.waitForTimeout(4000);
      assert.deepEqual(tickets, [{ kind: 'vnc' }], 'one ticket: no retry loop');
      assert.equal(sockets.length, 1);
      const ws = new URL(sockets[0]);
      assert.equal(ws.protocol, 'ws:');
      assert.equal(ws.host, new URL(server.url).host, 'same origin');
      assert.equal(ws.pathname, '/api/v1/console/ws');
      assert.deepEqual(await cspViolations(page), [], 'connect-src \'self\' allows the ws:// URL');
      // A person can ask again: a new ticket, a new socket.
      await page.getByTestId('console-connect').click();
      await waitFor(page, () => document.querySelector('[data-testid=console-status]')?.dataset.state === 'closed', undefined, 10000);
      assert.equal(tickets.length, 2);
      assert.equal(sockets.length, 2);
      assert.notEqual(sockets[0], sockets[1], 'every connection has its own token');
      await screenshot(page, 'console-demo-refused');
      assert.deepEqual(problems.filter((p) => !refusedSocket(p)), []);
      problems.length = 0;
    } finally {
      await unstub();
      page.off('websocket', onSocket);
      page.off('request', onRequest);
    }
  });

  it('says “not available on this host” when the server answers 501', async () => {
    const { page } = admin;
    // The real server: the test driver has no consoles, so no ticket is handed out.
    await page.goto(`${server.url}/guests/${vncGuest}?tab=console`);
    const panel = page.locator('[data-testid=console-unavailable]');
    await panel.waitFor();
    assert.match(await panel.textContent(), /Consoles are not available on this host/);
    // The code (not_supported) through the catalog, not the server's English.
    assert.match(await panel.textContent(), /This host does not support that/);
    assert.equal(await page.getByTestId('console-views').isVisible(), false);
  });

  it('switches to the serial console; xterm.js stays within the CSP', async () => {
    const { page, problems } = admin;
    const unstub = await stubTickets(page);
    await page.goto(`${server.url}/guests/${vncGuest}?tab=console`);
    await page.getByTestId('console-view-serial').click();
    assert.equal(await page.getByTestId('console-view-serial').getAttribute('aria-pressed'), 'true');
    await page.locator('[data-testid=console-screen][data-kind=serial] .xterm').waitFor();
    await waitFor(page, () => document.querySelector('[data-testid=console-status]')?.dataset.state === 'closed', undefined, 10000);
    // xterm.js's styles arrived (the rows are laid out), through the CSSOM, not inline.
    const m = await page.evaluate(() => ({
      rows: getComputedStyle(document.querySelector('.xterm-rows')).position,
      helper: getComputedStyle(document.querySelector('.xterm-helper-textarea')).opacity,
      styleElements: document.querySelectorAll('[data-testid=console] style').length,
    }));
    assert.equal(m.helper, '0', 'xterm.css applies');
    assert.equal(m.styleElements, 0, 'no <style> elements');
    assert.deepEqual(await cspViolations(page), []);
    // The terminal's input gets keys only when focused: typing on the page sends nothing.
    assert.notEqual(await page.evaluate(() => document.activeElement?.dataset.testid), 'console-terminal-input');
    assert.deepEqual(problems.filter((p) => !refusedSocket(p)), []);
    problems.length = 0;
    // Back to graphics: the terminal and its sheets go.
    await page.getByTestId('console-view-graphics').click();
    await waitFor(page, () => !document.querySelector('.xterm'));
    assert.equal(await page.evaluate(() => document.adoptedStyleSheets.length), 0, 'constructed sheets released');
    await unstub();
  });

  it('offers a SPICE guest’s display as a remote-viewer file', async () => {
    const { page } = admin;
    await page.goto(`${server.url}/guests/${spiceGuest}?tab=console`);
    const card = page.getByTestId('console-spice');
    await card.waitFor();
    assert.match(await card.textContent(), /remote-viewer/);
    assert.match(await card.textContent(), /one time, for about a minute/);
    // The test driver sets no SPICE passwords: the server's reason is shown.
    await page.getByTestId('console-spice-download').click();
    await waitFor(page, () => /Could not prepare/.test(document.querySelector('[data-testid=console-spice-status]')?.textContent ?? ''));
    // With a file from the server: a download named after the guest.
    const vv = `[virt-viewer]\ntype=spice\nhost=127.0.0.1\nport=5901\npassword=x\n`;
    await page.route(`**/api/v1/vms/${spiceGuest}/console`, (route) => route.fulfill({
      status: 200, contentType: 'application/json', body: JSON.stringify({ kind: 'spice', vv, expires: new Date(Date.now() + 60000).toISOString() }),
    }));
    try {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('console-spice-download').click()]);
      assert.equal(download.suggestedFilename(), `${spiceGuest}.vv`);
      assert.equal(await readFile(await download.path(), 'utf8'), vv);
      await waitFor(page, () => /downloaded/.test(document.querySelector('[data-testid=console-spice-status]')?.textContent ?? ''));
      await screenshot(page, 'console-demo-spice');
    } finally {
      await page.unroute(`**/api/v1/vms/${spiceGuest}/console`);
    }
  });

  it('fits a narrow window and the dark theme', async () => {
    const narrow = await open({ width: 390, height: 844 }, 'dark');
    try {
      const { page } = narrow;
      await stubTickets(page);
      await login(page, server.url, 'admin', server.password, `/guests/${vncGuest}?tab=console`);
      await waitFor(page, () => document.querySelector('[data-testid=console-status]')?.dataset.state === 'closed', undefined, 10000);
      const m = await page.evaluate(() => {
        const right = (sel) => Math.max(...[...document.querySelectorAll(sel)].filter((e) => e.offsetParent).map((e) => e.getBoundingClientRect().right));
        return {
          overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
          buttons: right('[data-testid=console] button'),
          screen: right('[data-testid=console-screen]'),
        };
      });
      assert.ok(m.overflow <= 0, `no horizontal overflow (${m.overflow}px)`);
      assert.ok(m.buttons <= 390 && m.screen <= 390, `controls and screen inside (${m.buttons}, ${m.screen})`);
      await screenshot(page, 'console-demo-narrow-dark', { fullPage: true });
      await page.getByTestId('console-view-serial').click();
      await page.locator('.xterm').waitFor();
      await screenshot(page, 'console-demo-serial-narrow-dark', { fullPage: true });
      // Keyboard: Tab moves through the controls (nothing traps it while not connected).
      await page.getByTestId('console-view-graphics').focus();
      const seen = [];
      for (let i = 0; i < 8; i++) {
        await page.keyboard.press('Tab');
        seen.push(await page.evaluate(() => document.activeElement?.dataset.testid ?? document.activeElement?.tagName));
      }
      assert.ok(seen.includes('console-connect'), `Tab reaches Reconnect (${seen})`);
    } finally {
      await narrow.context.close();
    }
  });
});

describe('screenshot thumbnails', () => {
  it('shows visible running guests with a display, at most every 10 s, placeholders for the rest', async () => {
    const ctx = await open(undefined, undefined, { clock: true });
    const { page } = ctx;
    try {
      const skip = vms.find((v) => v.state === 'running' && v.graphics === 'vnc' && v.name !== vncGuest).name;
      await page.route(`**/api/v1/vms/${skip}/screenshot`, (route) => route.fulfill({
        status: 501, contentType: 'application/json', body: JSON.stringify({ error: { code: 'not_supported', message: 'no screenshots here' } }),
      }));
      const shots = [];
      const lists = [];
      const scripts = [];
      page.on('request', (r) => {
        const p = new URL(r.url()).pathname;
        if (p.startsWith('/static/') && p.endsWith('.js')) scripts.push(p);
        const m = /^\/api\/v1\/vms\/([^/]+)\/screenshot$/.exec(p);
        if (m) shots.push(decodeURIComponent(m[1]));
        if (p === '/api/v1/vms') lists.push(p);
      });
      await login(page, server.url, 'admin', server.password);
      await page.getByTestId('vm-row').first().waitFor();
      // 12.5 s of the page's time, stepped through with Playwright's clock.
      const tracker = trackRequests(page);
      await pauseClock(page);
      await advanceClock(page, tracker, 12500);
      const count = (n) => shots.filter((s) => s === n).length;

      const info = await page.evaluate(() => [...document.querySelectorAll('[data-testid=vm-row]')].map((r) => {
        const b = r.querySelector('[data-testid=vm-thumb]');
        const rect = b.getBoundingClientRect();
        const img = b.querySelector('img');
        return {
          name: r.dataset.name, thumb: b.dataset.thumb, near: rect.top < innerHeight + 120 && rect.bottom > -120,
          img: img ? { shown: getComputedStyle(img).display !== 'none', w: img.naturalWidth } : null,
        };
      }));
      const byName = new Map(vms.map((v) => [v.name, v]));
      let shown = 0;
      for (const r of info) {
        const vm = byName.get(r.name);
        const eligible = LIVE.has(vm.state) && vm.graphics !== '';
        if (!LIVE.has(vm.state)) assert.equal(r.thumb, 'off', `${r.name}: placeholder while ${vm.state}`);
        else if (!vm.graphics) assert.equal(r.thumb, 'none', `${r.name}: no display`);
        if (!eligible || !r.near) assert.equal(count(r.name), 0, `${r.name}: no screenshot asked (${vm.state}, display "${vm.graphics}", on screen ${r.near})`);
        if (r.name === skip) {
          assert.equal(r.thumb, 'na', 'a 501 leaves a placeholder');
          assert.equal(count(r.name), 1, 'and is not asked again');
        } else if (eligible && r.near) {
          assert.ok(count(r.name) >= 1 && count(r.name) <= 2, `${r.name}: ${count(r.name)} screenshots in 12.5 s`);
          assert.equal(r.thumb, 'shot', `${r.name} shows its screen`);
          assert.ok(r.img?.shown && r.img.w > 0, `${r.name}: a decoded image, no broken icon`);
          shown++;
        }
        if (r.img && r.img.shown) assert.ok(r.img.w > 0, `${r.name}: no broken image`);
      }
      assert.ok(shown >= 3, `some thumbnails shown (${shown})`);
      assert.deepEqual([...new Set(scripts)].filter((p) => /\/(vnc|serial)-/.test(p)), [], 'the guest list loads neither noVNC nor xterm.js');
      assert.ok(scripts.includes('/static/app.js') && scripts.some((p) => /^\/static\/guests-[A-Z0-9]+\.js$/.test(p)), `the app and the guests page's chunk (${scripts})`);
      // States come from the event stream: the list is fetched at load and for the figures every 15 s.
      assert.ok(lists.length <= 2, `the list is not polled (${lists.length} fetches in 12.5 s)`);
      await screenshot(page, 'guests-thumbnails');

      // A new state lifts the "no screen": paused, it is asked again.
      const before = count(skip);
      const r = await apiSend(page, 'POST', `/vms/${skip}/suspend`);
      assert.equal(r.status, 200);
      // The event stream brings the new state (well before a fetch of the list).
      await advanceClock(page, tracker, 1000);
      assert.equal(count(skip), before + 1, 'asked again after the state changed');
      await apiSend(page, 'POST', `/vms/${skip}/resume`);

      // Narrow: thumbnails on the cards, no overflow.
      await page.setViewportSize({ width: 390, height: 844 });
      await page.waitForTimeout(800);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth));
      await screenshot(page, 'guests-thumbnails-narrow');
      assert.deepEqual(ctx.problems, []);
      assert.deepEqual(await cspViolations(page), []);
    } finally {
      await ctx.context.close();
    }
  });
});
