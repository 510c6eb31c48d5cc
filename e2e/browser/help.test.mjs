// The portal in English, Brazilian Portuguese and Simplified Chinese (the
// browser's language), each page's help button opening that page's help in
// the same language; wide and narrow windows, with screenshots.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { login, screenshot, watch, withDemo } from './lib/browser.mjs';

let server;
let browser;
withDemo((s, b) => {
  server = s;
  browser = b;
});

const PAGES = [
  { area: 'guests', path: '/guests', ready: 'vm-row' },
  // A guest's page: the help follows the tab.
  { area: 'guests', path: '/guests/db01', ready: 'guest-tabs' },
  { area: 'access', path: '/guests/db01?tab=access', ready: 'guest-tabs' },
  { area: 'console', path: '/guests/db01?tab=console', ready: 'guest-tabs' },
  { area: 'storage', path: '/storage', ready: 'pool-card' },
  { area: 'networks', path: '/networks', ready: 'network-card' },
  { area: 'templates', path: '/templates', ready: 'template-card' },
  { area: 'host', path: '/host', ready: 'help-button' },
];

async function book(lang) {
  return (await import(`../../static/src/help/${lang}.js`)).default;
}

async function catalog(lang) {
  return (await import(`../../static/src/lib/catalogs/${lang}.js`)).default;
}

async function openAndCheckHelp(page, lang, p, help, shot) {
  await page.goto(server.url + p.path);
  await page.getByTestId(p.ready).first().waitFor();
  await page.getByTestId('help-button').click();
  const dialog = page.getByTestId('help-dialog');
  await dialog.waitFor();
  assert.equal((await dialog.locator('.dialog-title').textContent()).trim(), help[p.area].title);
  assert.equal(await page.getByTestId('help-body').getAttribute('lang'), lang);
  const first = help[p.area].body.find((b) => typeof b === 'string');
  assert.ok((await page.getByTestId('help-body').textContent()).includes(first), `${lang}/${p.area}: the help's text`);
  if (shot) await screenshot(page, shot);
  // Closed by its one button; nothing else is left on the page.
  assert.equal(await dialog.getByTestId('dialog-cancel').isVisible(), false);
  await dialog.getByTestId('dialog-accept').click();
  await dialog.waitFor({ state: 'detached' });
}

async function signedIn(lang, width) {
  const context = await browser.newContext({ viewport: { width, height: width > 600 ? 900 : 844 }, locale: lang, colorScheme: 'light' });
  const page = await context.newPage();
  const problems = watch(page);
  await login(page, server.url, 'admin', server.password);
  assert.equal(await page.evaluate(() => document.documentElement.lang), lang, 'the page speaks the browser\u2019s language');
  return { context, page, problems };
}

describe('languages and help', () => {
  it('opens each page\u2019s help from its button', async () => {
    const { context, page, problems } = await signedIn('en', 1440);
    const help = await book('en');
    for (const p of PAGES) await openAndCheckHelp(page, 'en', p, help, p.area === 'storage' ? 'help-storage-en-1440' : null);
    assert.deepEqual(problems, []);
    await context.close();
  });

  for (const lang of ['pt-BR', 'zh-CN']) {
    it(`shows the portal and its help in ${lang}, wide and narrow`, async () => {
      const help = await book(lang);
      const strings = await catalog(lang);
      for (const width of [1440, 390]) {
        const { context, page, problems } = await signedIn(lang, width);
        const p = PAGES[width > 600 ? 4 : 0];
        await openAndCheckHelp(page, lang, p, help, `help-${p.area}-${lang}-${width}`);
        await page.goto(server.url + '/guests');
        await page.getByTestId('vm-row').first().waitFor();
        if (width > 600) assert.equal((await page.getByTestId('nav-storage').textContent()).trim(), strings['nav.storage']);
        await screenshot(page, `lang-guests-${lang}-${width}`);
        assert.deepEqual(problems, [], `${lang} at ${width}px: console errors or failed requests`);
        await context.close();
      }
    });
  }
});
