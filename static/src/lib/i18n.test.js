import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import en from './catalogs/en.js';
import { CATALOGS, hasKey, loadLocale, negotiateLocale, setLocale, t } from './i18n.js';
import { ACTIONS, DESTRUCTIVE, GROUPS, PERMISSIONS, STATES } from './vmstate.js';
import { BYTE_UNITS } from './format.js';
import { NAV } from './router.js';
import { GRANT_KINDS, GRANT_ROLES } from './grants.js';
import { ACTION_PRESETS, RESULT_FILTERS } from './auditfilter.js';
import { GUEST_TABS } from '../pages/guest.js';
import { CLOSE_MESSAGES, CONSOLE_VIEWS } from './console.js';
import { THUMB_STATES } from '../ui/thumbs.js';
import { ERROR_CODES } from './errors.js';
import { TASK_KINDS, TASK_STATUSES } from './tasks.js';
import { LANGUAGES } from './account.js';
import { ISO_REASONS, POOL_STATES } from './storage.js';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');

function sources(dir = SRC) {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sources(p);
    return f.endsWith('.js') && !f.endsWith('.test.js') && !p.includes(`${join('lib', 'catalogs')}`) ? [p] : [];
  });
}

const NAMESPACES = [...new Set(Object.keys(en).map((k) => k.split('.')[0]))];

/** Every literal key in the app's source: 'ns.key' strings of a catalog namespace. */
function literalKeys() {
  const re = new RegExp(`['"\`]((?:${NAMESPACES.join('|')})\\.[A-Za-z0-9._-]+)['"\`]`, 'g');
  const found = new Map();
  for (const file of sources()) {
    const text = readFileSync(file, 'utf8');
    // Permission names ('access.read') look like keys but are not.
    for (const m of text.matchAll(re)) if (!PERMISSIONS.includes(m[1])) found.set(m[1], file);
  }
  return found;
}

/** Keys the source builds from a prefix and a value (t(`state.${s}`) and the like). */
function dynamicKeys() {
  return [
    ...STATES.map((s) => `state.${s}`),
    ...ACTIONS.map((a) => `action.${a}`),
    ...ACTIONS.filter((a) => a !== 'delete').map((a) => `toast.done.${a}`),
    ...[...DESTRUCTIVE].flatMap((a) => ['title', 'body', 'accept'].map((p) => `confirm.${a}.${p}`)),
    ...GROUPS.map((g) => `guests.filter.${g}`),
    ...NAV.map((n) => `nav.${n}`),
    ...['templates', 'storage', 'networks'].map((s) => `soon.${s}`),
    ...BYTE_UNITS.map((u) => `unit.${u}`),
    ...['disk', 'cdrom', 'floppy', 'lun'].map((d) => `guest.disk.kind.${d}`),
    ...['admin', 'auditor', 'user'].map((r) => `role.${r}`),
    ...['vnc', 'spice'].map((g) => `graphics.${g}`),
    ...GUEST_TABS.map((tab) => `guest.tab.${tab.id}`),
    ...CONSOLE_VIEWS.map((v) => `console.view.${v}`),
    ...CLOSE_MESSAGES.map((m) => `console.closed.${m}`),
    ...THUMB_STATES.map((s) => `thumb.${s}`),
    ...GRANT_ROLES.flatMap((r) => [`access.role.${r}`, `access.roleHelp.${r}`]),
    ...GRANT_KINDS.map((k) => `access.kind.${k}`),
    ...['added', 'changed', 'removed'].map((k) => `access.diff.${k}`),
    ...['time', 'actor', 'action', 'target', 'result', 'client'].map((c) => `audit.${c}`),
    ...RESULT_FILTERS.map((r) => `audit.filter.result.${r}`),
    ...RESULT_FILTERS.filter((r) => r !== 'ok').map((r) => `audit.result.${r}Code`),
    ...RESULT_FILTERS.map((r) => `audit.result.${r}`),
    ...['all', ...ACTION_PRESETS.map((p) => p.id)].map((p) => `audit.preset.${p}`),
    ...ERROR_CODES.map((c) => `error.code.${c}`),
    ...TASK_STATUSES.map((s) => `tasks.status.${s}`),
    ...TASK_KINDS.map((k) => `tasks.kind.${k}`),
    ...LANGUAGES.map((l) => `lang.${l}`),
    ...POOL_STATES.map((s) => `storage.state.${s}`),
    ...ISO_REASONS.map((r) => `storage.iso.reason.${r}`),
  ];
}

function placeholders(msg) {
  const texts = typeof msg === 'string' ? [msg] : Object.values(msg);
  return new Set(texts.flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1])));
}

describe('t()', () => {
  it('translates and fills placeholders', () => {
    setLocale('en');
    assert.equal(t('action.poweroff'), 'Power off');
    assert.equal(t('confirm.poweroff.title', { name: 'web01' }), 'Power off web01?');
  });

  it('formats numbers for the locale and chooses plural forms', () => {
    setLocale('en');
    assert.equal(t('guests.total', { count: 1 }), '1 guest');
    assert.equal(t('guests.total', { count: 0 }), '0 guests');
    assert.equal(t('guests.total', { count: 1234 }), '1,234 guests');
    assert.equal(t('guests.showing', { shown: 3, count: 12 }), 'Showing 3 of 12 guests');
  });

  it('returns the key for an unknown key and leaves unknown placeholders', () => {
    assert.equal(t('no.such.key'), 'no.such.key');
    assert.equal(t('confirm.poweroff.title', {}), 'Power off {name}?');
    assert.equal(hasKey('no.such.key'), false);
    assert.equal(hasKey('action.start'), true);
  });

  it('negotiates a registered locale and falls back to English', () => {
    assert.equal(negotiateLocale(['de-AT', 'fr']), 'en');
    assert.equal(negotiateLocale(['en-GB']), 'en');
    assert.equal(negotiateLocale([undefined, '', null]), 'en');
    assert.equal(negotiateLocale(['pt-BR', 'pt'], { en: {}, pt: {} }), 'pt');
    assert.equal(negotiateLocale(['PT-br'], { en: {}, 'pt-BR': {} }), 'pt-BR');
    assert.equal(setLocale('xx'), 'en');
  });
});

describe('catalogs', () => {
  it('define every key the source uses', () => {
    const missing = [...literalKeys()].filter(([k]) => !(k in en)).map(([k, f]) => `${k} (${f.slice(SRC.length + 1)})`);
    assert.deepEqual(missing, [], 'keys used in the source but missing from en.js');
    const dyn = dynamicKeys().filter((k) => !(k in en));
    assert.deepEqual(dyn, [], 'keys built from values but missing from en.js');
  });

  it('hold no unused key', () => {
    const used = new Set([...literalKeys().keys(), ...dynamicKeys()]);
    const unused = Object.keys(en).filter((k) => !used.has(k));
    assert.deepEqual(unused, [], 'keys in en.js that nothing uses');
  });

  it('have well-formed entries', () => {
    for (const [key, msg] of Object.entries(en)) {
      assert.match(key, /^[a-z]+(\.[A-Za-z0-9_-]+)+$/, `key ${key}`);
      if (typeof msg === 'object') {
        assert.ok(typeof msg.other === 'string', `${key} needs an "other" form`);
        assert.ok(placeholders(msg).has('count'), `${key} is plural and must use {count}`);
      } else {
        assert.equal(typeof msg, 'string', key);
        assert.ok(msg.length > 0, `${key} is empty`);
      }
    }
  });

  it('translate the same keys with the same placeholders in every language', async () => {
    for (const [lang, load] of Object.entries(CATALOGS)) {
      const cat = await load();
      for (const [key, msg] of Object.entries(cat)) {
        assert.ok(key in en, `${lang}: ${key} is not an English key`);
        assert.deepEqual(placeholders(msg), placeholders(en[key]), `${lang}: placeholders of ${key}`);
      }
    }
  });

  it('exist for pt-BR and zh-CN with exactly the English keys', async () => {
    assert.deepEqual(Object.keys(CATALOGS).sort(), ['en', 'pt-BR', 'zh-CN']);
    for (const [lang, load] of Object.entries(CATALOGS)) {
      const cat = await load();
      assert.deepEqual(Object.keys(cat).sort(), Object.keys(en).sort(), `${lang}: the keys of en.js`);
      const categories = new Set(new Intl.PluralRules(lang).resolvedOptions().pluralCategories);
      for (const [key, msg] of Object.entries(cat)) {
        assert.equal(typeof msg, typeof en[key], `${lang}: ${key} is ${typeof en[key] === 'object' ? 'plural' : 'a string'} in English`);
        if (typeof msg === 'string') {
          assert.ok(msg.trim().length > 0, `${lang}: ${key} is empty`);
          continue;
        }
        assert.ok(typeof msg.other === 'string', `${lang}: ${key} needs an "other" form`);
        for (const [form, text] of Object.entries(msg)) {
          assert.ok(categories.has(form), `${lang}: ${key} has form ${form}, which ${lang} does not use`);
          assert.deepEqual(placeholders(text), placeholders(en[key]), `${lang}: placeholders of ${key}.${form}`);
        }
      }
    }
  });

  it('load a language on demand, then translate', async () => {
    assert.equal(setLocale('zh-CN'), 'en', 'not loaded yet: English');
    assert.equal(await loadLocale('pt-BR'), 'pt-BR');
    assert.equal(t('guests.total', { count: 1 }), '1 máquina virtual');
    assert.equal(t('guests.total', { count: 1234 }), '1.234 máquinas virtuais');
    assert.equal(await loadLocale('zh'), 'zh-CN');
    assert.equal(setLocale('pt-PT'), 'pt-BR', 'loaded once, switched to at once; pt-PT reads pt-BR');
    assert.equal(setLocale('zh-CN'), 'zh-CN');
    assert.equal(t('action.start'), '启动');
    assert.equal(t('guests.total', { count: 3 }), '3 台虚拟机');
    setLocale('en');
  });
});
