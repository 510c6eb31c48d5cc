import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guestPath, matchRoute, navFor, safeNext } from './router.js';

describe('matchRoute', () => {
  it('knows the UI paths', () => {
    assert.deepEqual(matchRoute('/'), { name: 'home', params: {}, section: 'guests' });
    assert.equal(matchRoute('/guests').name, 'guests');
    assert.equal(matchRoute('/guests/').name, 'guests');
    assert.deepEqual(matchRoute('/guests/web%2001'), { name: 'guest', params: { name: 'web 01' }, section: 'guests' });
    assert.equal(matchRoute('/host').section, 'host');
    assert.equal(matchRoute('/templates').name, 'templates');
    assert.equal(matchRoute('/storage').name, 'storage');
    assert.equal(matchRoute('/networks').name, 'networks');
    assert.equal(matchRoute('/audit').name, 'audit');
    assert.equal(matchRoute('/guests/a/b').name, 'notfound');
    assert.equal(matchRoute('/api/v1/vms').name, 'notfound');
    assert.equal(matchRoute('/guests/%E0%A4%A').params.name, '%E0%A4%A');
  });
  it('builds guest paths', () => {
    assert.equal(guestPath('web 01'), '/guests/web%2001');
    assert.equal(matchRoute(guestPath('a/b?c')).params.name, 'a/b?c');
  });
});

describe('navFor', () => {
  it('shows the host and the audit log to administrators and auditors only', () => {
    assert.deepEqual(navFor(['admin']), ['guests', 'templates', 'storage', 'networks', 'host', 'audit']);
    assert.deepEqual(navFor(['auditor']), ['guests', 'templates', 'storage', 'networks', 'host', 'audit']);
    assert.deepEqual(navFor(['user']), ['guests', 'templates', 'storage', 'networks']);
    assert.deepEqual(navFor(undefined), ['guests', 'templates', 'storage', 'networks']);
  });
});

describe('safeNext', () => {
  const origin = 'https://portal.example';
  it('keeps paths of this site', () => {
    assert.equal(safeNext('/guests/web01', origin), '/guests/web01');
    assert.equal(safeNext('/guests?state=running&q=web', origin), '/guests?state=running&q=web');
  });
  it('refuses other sites and odd values', () => {
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'guests', '', null, undefined, '/login', '/login?next=/x', '/api/v1/session']) {
      assert.equal(safeNext(bad, origin), '/', String(bad));
    }
  });
});
