import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { DETAIL_CODES, ERROR_CODES, errorText } from './errors.js';
import { loadLocale, setLocale } from './i18n.js';

describe('errorText', () => {
  after(() => setLocale('en'));

  it('translates a code, and keeps the server’s specifics for detail codes', async () => {
    await loadLocale('pt-BR');
    setLocale('pt-BR');
    // Not a detail code: the translation alone, whatever the server said.
    assert.equal(errorText('guest_running', 'guest "web01" is running'), errorText('guest_running'));
    assert.notEqual(errorText('guest_running'), 'The guest is running. Shut it down or power it off first.');
    assert.equal(errorText('pool_in_use', 'pool "default" is used by web01'),
      'Há máquinas usando este pool de armazenamento. (pool "default" is used by web01)');
    assert.equal(errorText('pool_in_use'), 'Há máquinas usando este pool de armazenamento.');
    setLocale('en');
    assert.equal(errorText('pool_in_use', 'pool "default" is used by web01'), 'pool "default" is used by web01');
    assert.equal(errorText('guest_running', 'guest "web01" is running'), 'The guest is running. Shut it down or power it off first.');
  });

  it('falls back to the server’s message, then to a sentence', () => {
    setLocale('en');
    assert.equal(errorText('no_such_code', 'the server says'), 'the server says');
    assert.equal(errorText(null, null), 'Something went wrong. Please try again.');
  });

  it('knows every detail code as an API code', () => {
    for (const c of DETAIL_CODES) assert.ok(ERROR_CODES.includes(c), c);
  });
});
