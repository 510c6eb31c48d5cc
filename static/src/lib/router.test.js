import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { guestPath, hostPath, matchRoute, navFor, safeNext } from './router.js';

describe('matchRoute', () => {
  it('knows the UI paths', () => {
    assert.deepEqual(matchRoute('/'), { name: 'home', params: {}, section: 'guests' });
    assert.equal(matchRoute('/guests').name, 'guests');
    assert.equal(matchRoute('/guests/').name, 'guests');
    assert.deepEqual(matchRoute('/guests/web%2001'), { name: 'guest', params: { name: 'web 01' }, section: 'guests' });
    assert.deepEqual(matchRoute('/host'), { name: 'host', params: {}, section: 'host' });
    assert.deepEqual(matchRoute('/hosts/'), { name: 'host', params: {}, section: 'host' });
    assert.deepEqual(matchRoute('/hosts/kvm%201'), { name: 'host', params: { name: 'kvm 1' }, section: 'host' });
    assert.equal(matchRoute('/hosts/a/b').name, 'notfound');
    assert.equal(matchRoute('/templates').name, 'templates');
    assert.equal(matchRoute('/storage').name, 'storage');
    assert.equal(matchRoute('/networks').name, 'networks');
    assert.equal(matchRoute('/audit').name, 'audit');
    assert.equal(matchRoute('/guests/a/b').name, 'notfound');
    assert.equal(matchRoute('/api/v1/vms').name, 'notfound');
    assert.equal(matchRoute('/guests/%E0%A4%A').params.name, '%E0%A4%A');
  });
  it('builds host paths', () => {
    assert.equal(hostPath('kvm 1'), '/hosts/kvm%201');
    assert.equal(matchRoute(hostPath('a/b')).params.name, 'a/b');
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
  // Regression (issue 8 §7): these became //evil.example in the browser.
  it('refuses paths a browser normalises to another site', () => {
    for (const bad of ['/.//evil.example', '/x/..//evil.example', '/%2e//evil.example', '/%2E%2E//evil.example',
      '/%2f/evil.example', '/%2F%2Fevil.example', '/%5cevil.example', '/\\/evil.example', '/\t/evil.example',
      '/\n/evil.example', '/%09/evil.example', '/guests//x', '/guests/./x', '/guests/../x', '/%E0%A4%A', 'https:evil.example',
      '/' + 'a'.repeat(2048)]) {
      assert.equal(safeNext(bad, origin), '/', JSON.stringify(bad));
    }
  });
  // A fuzz target: random strings over the characters that matter; every
  // accepted value stays on this origin however it is read.
  it('never leaves the origin (fuzz)', () => {
    const alphabet = ['/', '/', '.', '\\', '%', '2', 'e', 'E', 'f', 'F', '5', 'c', '?', '#', ':', '@', 'a', 'x', ' ', '\t', '\n', '\u0000', 'h', 't', 'p', 's', '%2e', '%2f', '%5c', '..', '//'];
    let seed = 0x9e3779b9;
    const rnd = (n) => {
      seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
      return seed % n;
    };
    const corpus = ['/.//evil.example', '/x/..//evil.example', '/%2e//evil.example', '/guests/web01'];
    for (let i = 0; i < 20000; i++) {
      let s = i < corpus.length ? corpus[i] : '';
      if (i >= corpus.length) {
        const len = 1 + rnd(12);
        for (let j = 0; j < len; j++) s += alphabet[rnd(alphabet.length)];
        if (rnd(2)) s = '/' + s;
      }
      const got = safeNext(s, origin);
      if (got === '/') continue;
      const u = new URL(got, origin);
      assert.equal(u.origin, origin, JSON.stringify(s));
      assert.ok(got.startsWith('/') && !got.startsWith('//') && !got.startsWith('/\\'), JSON.stringify(s));
      assert.ok(!u.pathname.startsWith('//'), JSON.stringify(s));
      // The browser's own reading of the accepted value, once more.
      assert.equal(new URL(u.pathname + u.search, origin).origin, origin, JSON.stringify(s));
    }
  });
});
