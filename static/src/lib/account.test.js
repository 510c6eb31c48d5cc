import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LANGUAGES, langCookie, storedLang, tokenExpired, tokenFormErrors, tokenNameProblem } from './account.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..');

describe('language choice', () => {
  it('offers the languages the server negotiates (handlers/lang.go)', () => {
    const src = readFileSync(join(REPO, 'handlers', 'lang.go'), 'utf8');
    const m = /SupportedLangs = \[\]string\{([^}]*)\}/.exec(src);
    assert.ok(m, 'SupportedLangs in handlers/lang.go');
    const server = [...m[1].matchAll(/"([^"]+)"/g)].map((x) => x[1]);
    assert.deepEqual([...LANGUAGES].sort(), [...server].sort());
    assert.equal(server[0], 'en', 'English is the default');
  });

  it('stores and forgets the choice in a Lax cookie for the whole site', () => {
    assert.equal(langCookie('pt-BR', false), 'vp_lang=pt-BR; Path=/; SameSite=Lax; Max-Age=34560000');
    assert.equal(langCookie('zh-CN', true), 'vp_lang=zh-CN; Path=/; SameSite=Lax; Secure; Max-Age=34560000');
    assert.equal(langCookie('', false), 'vp_lang=; Path=/; SameSite=Lax; Max-Age=0');
    assert.equal(langCookie('xx; Path=/evil', false), 'vp_lang=; Path=/; SameSite=Lax; Max-Age=0', 'never writes what it does not know');
  });

  it('reads the stored choice', () => {
    assert.equal(storedLang('a=1; vp_lang=zh-CN; b=2'), 'zh-CN');
    assert.equal(storedLang('vp_lang=klingon'), '');
    assert.equal(storedLang(''), '');
    assert.equal(storedLang(undefined), '');
  });
});

describe('token form', () => {
  it('checks the name', () => {
    assert.equal(tokenNameProblem(''), 'account.token.nameRequired');
    assert.equal(tokenNameProblem('   '), 'account.token.nameRequired');
    assert.equal(tokenNameProblem('x'.repeat(65)), 'account.token.nameTooLong');
    assert.equal(tokenNameProblem('监控'.repeat(32)), null, 'characters, not bytes');
    assert.equal(tokenNameProblem('monitoring'), null);
  });

  it('puts API errors next to their field', () => {
    assert.deepEqual(tokenFormErrors({ details: [{ field: 'name', message: 'too long' }] }), { name: 'too long' });
    assert.deepEqual(tokenFormErrors({ details: [{ field: 'expires_in_days', message: '1 to 365' }, { field: 'other', message: 'x' }] }),
      { expiry: '1 to 365', form: 'x' });
    assert.deepEqual(tokenFormErrors({ code: 'token_name_invalid', message: 'bad name' }), { name: 'bad name' });
    assert.deepEqual(tokenFormErrors({ code: 'token_expiry_invalid', message: 'bad expiry' }), { expiry: 'bad expiry' });
    assert.deepEqual(tokenFormErrors({ code: 'internal', message: 'oops' }), { form: 'oops' });
  });

  it('knows expired tokens', () => {
    const now = Date.parse('2026-06-01T00:00:00Z');
    assert.equal(tokenExpired({ expires: '2026-05-31T23:59:59Z' }, now), true);
    assert.equal(tokenExpired({ expires: '2026-06-02T00:00:00Z' }, now), false);
    assert.equal(tokenExpired({}, now), false);
  });
});
