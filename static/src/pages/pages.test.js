import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setLocale } from '../lib/i18n.js';
import { isReadOnly } from '../shell.js';
import { graphicsLabel } from './guests.js';
import { loginErrorMessage } from './login.js';
import { resultTone } from './audit.js';

before(() => setLocale('en'));

describe('login messages', () => {
  it('tells the failures apart', () => {
    assert.equal(loginErrorMessage({ status: 401, message: 'invalid username or password' }), 'The username or password is incorrect.');
    assert.match(loginErrorMessage({ status: 0 }), /Cannot reach the server/);
    assert.match(loginErrorMessage({ status: 503, message: 'directory down' }), /unavailable/);
    assert.equal(loginErrorMessage({ status: 400, message: 'malformed JSON at byte 2' }), 'malformed JSON at byte 2');
    assert.equal(loginErrorMessage({ status: 500, message: 'internal error' }), 'internal error');
    assert.match(loginErrorMessage({ status: 502 }), /went wrong/);
  });
});

describe('shell and list helpers', () => {
  it('knows read-only callers', () => {
    assert.equal(isReadOnly(['auditor']), true);
    assert.equal(isReadOnly(['auditor', 'admin']), false);
    assert.equal(isReadOnly(['user']), false);
    assert.equal(isReadOnly([]), false);
    assert.equal(isReadOnly(undefined), false);
  });
  it('colours audit results', () => {
    assert.equal(resultTone('ok'), 'ok');
    assert.equal(resultTone('denied'), 'warn');
    assert.equal(resultTone('error:conflict'), 'danger');
  });
  it('names graphics', () => {
    assert.equal(graphicsLabel('vnc'), 'VNC');
    assert.equal(graphicsLabel('spice'), 'SPICE');
    assert.equal(graphicsLabel(''), '—');
    assert.equal(graphicsLabel('rdp'), 'rdp');
  });
});
