import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { earlyRequestsFor, preloadsFor, startEarly, takeEarly } from './early.js';

describe('early requests', () => {
  it('asks for the session on every app page, and the list for the guest list', () => {
    assert.deepEqual(earlyRequestsFor('/guests'), ['/api/v1/session', '/api/v1/vms']);
    assert.deepEqual(earlyRequestsFor('/'), ['/api/v1/session', '/api/v1/vms']);
    assert.deepEqual(earlyRequestsFor('/guests/web01'), ['/api/v1/session']);
    assert.deepEqual(earlyRequestsFor('/audit'), ['/api/v1/session']);
    assert.deepEqual(earlyRequestsFor('/login'), []);
  });

  describe('start and take', () => {
    const real = globalThis.fetch;
    afterEach(() => {
      globalThis.fetch = real;
    });
    it('starts each request once and hands it over once', async () => {
      const asked = [];
      globalThis.fetch = (path, init) => {
        asked.push([path, init.credentials, init.cache]);
        return path === '/api/v1/vms' ? Promise.reject(new TypeError('offline')) : Promise.resolve({ path });
      };
      startEarly('/guests');
      assert.deepEqual(asked, [['/api/v1/session', 'same-origin', 'no-store'], ['/api/v1/vms', 'same-origin', 'no-store']]);
      assert.deepEqual(await takeEarly('/api/v1/session'), { path: '/api/v1/session' });
      assert.equal(takeEarly('/api/v1/session'), null, 'taken once');
      assert.equal(await takeEarly('/api/v1/vms'), null, 'a network failure is null, not a rejection');
      assert.equal(takeEarly('/api/v1/host'), null);
    });
  });

  it('preloads the chunks of the page being opened', () => {
    const chunks = { guests: ['guests-A.js', 'chunk-B.js'], guest: ['guest-C.js'], placeholder: ['placeholder-D.js'], login: ['login-E.js'],
      storage: ['storage-F.js'], networks: ['networks-G.js'] };
    assert.deepEqual(preloadsFor('/guests', chunks), ['guests-A.js', 'chunk-B.js']);
    assert.deepEqual(preloadsFor('/', chunks), ['guests-A.js', 'chunk-B.js']);
    assert.deepEqual(preloadsFor('/guests/x', chunks), ['guest-C.js']);
    assert.deepEqual(preloadsFor('/storage', chunks), ['storage-F.js']);
    assert.deepEqual(preloadsFor('/networks', chunks), ['networks-G.js']);
    assert.deepEqual(preloadsFor('/templates', chunks), ['placeholder-D.js']);
    assert.deepEqual(preloadsFor('/nowhere', chunks), ['placeholder-D.js']);
    assert.deepEqual(preloadsFor('/login', chunks), ['login-E.js']);
    assert.deepEqual(preloadsFor('/audit', {}), []);
  });
});
