import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_QUERY_BYTES, clampQuery, matchRank, mergeDirectory, searchDirectory } from './directory.js';

const user = (realm, name, display = '') => ({ kind: 'user', realm, name, display, dn: '' });
const group = (realm, name, display = '') => ({ kind: 'group', realm, name, display, dn: '' });

describe('clampQuery', () => {
  it('trims and keeps queries within the API limit, on a character boundary', () => {
    assert.equal(clampQuery('  car '), 'car');
    assert.equal(clampQuery('a'.repeat(200)).length, MAX_QUERY_BYTES);
    const q = clampQuery('é'.repeat(100)); // 2 bytes each
    assert.equal(new TextEncoder().encode(q).length, MAX_QUERY_BYTES);
    assert.equal(clampQuery('x' + '€'.repeat(60)).length, 1 + 42); // 3 bytes each: 127 bytes
  });
});

describe('mergeDirectory', () => {
  it('ranks exact, prefix, word and other matches', () => {
    assert.equal(matchRank(user('local', 'carol'), 'Carol'), 0);
    assert.equal(matchRank(user('local', 'caroline'), 'car'), 1);
    assert.equal(matchRank(user('ldap', 'cs', 'Anne Carter'), 'car'), 2);
    assert.equal(matchRank(user('ldap', 'mcarthy'), 'car'), 3);
    assert.equal(matchRank(user('ldap', 'x', 'y'), 'car'), 4);
  });
  it('merges users and groups of every realm, best first, each once', () => {
    const { items, truncated } = mergeDirectory([
      { items: [user('ldap', 'oscar'), user('local', 'carol'), user('pam', 'carol', 'Carol Pam')], truncated: false },
      { items: [group('ldap', 'cardiology'), group('ldap', 'carol'), user('local', 'carol')], truncated: true },
      null,
    ], 'carol');
    assert.deepEqual(items.map((e) => `${e.kind}:${e.realm}:${e.name}`), [
      'user:local:carol', 'user:pam:carol', 'group:ldap:carol', // exact, users first
      'user:ldap:oscar', 'group:ldap:cardiology', // the directory matched something else
    ]);
    assert.equal(truncated, true, 'truncated when any answer was');
  });
  it('drops malformed entries and fills missing fields', () => {
    const { items } = mergeDirectory([{ items: [{ kind: 'user', realm: 'local', name: 'a' }, { kind: 'x', realm: 'r', name: 'n' }, { name: 'n' }] }], 'a');
    assert.deepEqual(items, [{ kind: 'user', realm: 'local', name: 'a', display: '', dn: '' }]);
  });
});

describe('searchDirectory', () => {
  const err = (status, message) => Object.assign(new Error(message), { status });
  it('asks users and groups of all realms at once', async () => {
    const calls = [];
    const r = await searchDirectory('ca', {
      realms: ['local', 'ldap'],
      query: async (kind, realm) => {
        calls.push(`${kind}@${realm}`);
        return kind === 'user' ? { items: [user('local', 'carol')], truncated: false } : { items: [group('ldap', 'cats')], truncated: true };
      },
    });
    assert.deepEqual(calls.sort(), ['group@', 'user@']);
    assert.deepEqual(r.items.map((e) => e.name), ['carol', 'cats']);
    assert.equal(r.truncated, true);
    assert.deepEqual(r.unavailable, []);
  });
  it('asks each realm when one directory is down, and says which', async () => {
    const calls = [];
    const r = await searchDirectory('a', {
      realms: ['pam', 'ldap', 'local'],
      query: async (kind, realm) => {
        calls.push(`${kind}@${realm}`);
        if (realm === '' || realm === 'ldap') throw err(503, 'the LDAP directory is unavailable');
        if (realm === 'pam') return { items: kind === 'user' ? [user('pam', 'alice')] : [], truncated: false };
        return { items: kind === 'user' ? [user('local', 'admin')] : [], truncated: false };
      },
    });
    assert.deepEqual(r.items.map((e) => `${e.realm}:${e.name}`), ['local:admin', 'pam:alice']);
    assert.deepEqual(r.unavailable, [{ realm: 'ldap', message: 'the LDAP directory is unavailable' }]);
    assert.equal(calls.length, 2 + 6);
  });
  it('says which realm the merged search could not ask', async () => {
    const calls = [];
    const r = await searchDirectory('adm', {
      realms: ['local', 'ldap'],
      query: async (kind, realm) => {
        calls.push(`${kind}@${realm}`);
        return { items: kind === 'user' ? [user('local', 'admin')] : [], truncated: false, unavailable: ['ldap'] };
      },
    });
    assert.deepEqual(calls.sort(), ['group@', 'user@'], 'no second round');
    assert.deepEqual(r.items.map((e) => `${e.realm}:${e.name}`), ['local:admin']);
    assert.deepEqual(r.unavailable, [{ realm: 'ldap', message: '' }]);
  });
  it('reports an unavailable directory when there is nothing to fall back to', async () => {
    const r = await searchDirectory('a', { realms: ['ldap'], query: async () => { throw err(503, 'down'); } });
    assert.deepEqual(r, { items: [], truncated: false, unavailable: [{ realm: 'ldap', message: 'down' }] });
  });
  it('rejects on other failures', async () => {
    await assert.rejects(searchDirectory('a', { query: async () => { throw err(403, 'admins only'); } }), /admins only/);
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    await assert.rejects(searchDirectory('a', { query: async () => { throw abort; } }), { name: 'AbortError' });
  });
});
