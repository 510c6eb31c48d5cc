import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_ROLE, GRANT_ROLES, diffGrants, diffSize, errorsByGrant, grantKey, grantLabel, grantsOf, patchFor, patchResultKeys,
} from './grants.js';

const u = (realm, name, role = 'viewer') => ({ kind: 'user', realm, name, role });
const g = (realm, name, role = 'viewer') => ({ kind: 'group', realm, name, role });

describe('grant identity', () => {
  it('tells kinds and realms apart', () => {
    assert.notEqual(grantKey(u('pam', 'alice')), grantKey(u('ldap', 'alice')));
    assert.notEqual(grantKey(u('ldap', 'ops')), grantKey(g('ldap', 'ops')));
    assert.equal(grantKey(u('pam', 'alice', 'viewer')), grantKey(u('pam', 'alice', 'manager')), 'the role is not part of it');
    // A ":" in a name cannot make two identities collide.
    assert.notEqual(grantKey(u('a:b', 'c')), grantKey(u('a', 'b:c')));
    assert.equal(grantLabel(g('ldap', 'ops')), 'ldap:ops');
  });
  it('reads API answers defensively', () => {
    assert.deepEqual(grantsOf({ items: [{ ...u('local', 'carol', 'operator'), extra: 1 }, { kind: 'robot', realm: 'x', name: 'y' }, null] }),
      [u('local', 'carol', 'operator')]);
    assert.deepEqual(grantsOf(null), []);
    assert.equal(DEFAULT_ROLE, 'viewer');
    assert.deepEqual(GRANT_ROLES, ['viewer', 'operator', 'manager']);
  });
});

describe('diffGrants', () => {
  const before = [u('local', 'demo', 'operator'), u('pam', 'alice', 'operator'), g('ldap', 'ops')];
  it('finds added, removed and changed entries', () => {
    const after = [u('local', 'demo', 'manager'), g('ldap', 'ops'), u('local', 'carol', 'operator'), g('pam', 'developers')];
    const d = diffGrants(before, after);
    assert.deepEqual(d.added, [u('local', 'carol', 'operator'), g('pam', 'developers')]);
    assert.deepEqual(d.removed, [u('pam', 'alice', 'operator')]);
    assert.deepEqual(d.changed, [{ ...u('local', 'demo', 'manager'), from: 'operator' }]);
    assert.equal(diffSize(d), 4);
  });
  it('is empty for the same list in another order', () => {
    const d = diffGrants(before, [...before].reverse());
    assert.equal(diffSize(d), 0);
  });
  it('treats a user and a group of one name as two entries', () => {
    const d = diffGrants([u('ldap', 'ops')], [g('ldap', 'ops')]);
    assert.deepEqual(d.added, [g('ldap', 'ops')]);
    assert.deepEqual(d.removed, [u('ldap', 'ops')]);
    assert.deepEqual(d.changed, []);
  });
});

describe('patchFor and 422 details', () => {
  const before = [u('local', 'demo', 'operator'), u('pam', 'alice', 'operator'), g('ldap', 'ops')];
  it('sends new entries and new roles as add, gone ones as remove', () => {
    const d = diffGrants(before, [u('local', 'demo', 'viewer'), g('ldap', 'ops'), u('local', 'carol', 'operator')]);
    assert.deepEqual(patchFor(d), {
      add: [u('local', 'carol', 'operator'), u('local', 'demo', 'viewer')],
      remove: [{ kind: 'user', realm: 'pam', name: 'alice' }],
    });
  });
  it('indexes the resulting list as the server does: kept entries, then the added ones', () => {
    // Observed: PATCH {add:[group local:x], remove:[user local:demo]} on
    // [demo, alice, ops] names the bad group "grants[2]".
    const patch = { add: [g('local', 'x')], remove: [{ kind: 'user', realm: 'local', name: 'demo' }] };
    const keys = patchResultKeys(before, patch);
    assert.deepEqual(keys, [grantKey(before[1]), grantKey(before[2]), grantKey(g('local', 'x'))]);
    // A new role replaces the entry: it moves to the added part.
    const keys2 = patchResultKeys(before, { add: [g('local', 'x'), u('local', 'demo', 'viewer')], remove: [] });
    assert.equal(keys2.indexOf(grantKey(g('local', 'x'))), 2);
    assert.equal(keys2.indexOf(grantKey(u('local', 'demo'))), 3);
  });
  it('puts each message next to its entry, and the rest aside', () => {
    const keys = [grantKey(u('pam', 'alice')), grantKey(u('local', 'nobody')), grantKey(g('local', 'x'))];
    const { byKey, other } = errorsByGrant(keys, [
      { field: 'grants[1]', message: 'no user "nobody" in realm local' },
      { field: 'grants[2]', message: 'no group "x" in realm local' },
      { field: 'grants[2]', message: 'realm "local" has no groups' },
      { field: 'grants[2]', message: 'no group "x" in realm local' },
      { field: 'grants[9]', message: 'out of range' },
      { field: 'items', message: 'too many entries' },
      { field: 'grants[0]', message: '' },
    ]);
    assert.deepEqual(byKey.get(keys[1]), ['no user "nobody" in realm local']);
    assert.deepEqual(byKey.get(keys[2]), ['no group "x" in realm local', 'realm "local" has no groups']);
    assert.equal(byKey.has(keys[0]), false);
    assert.deepEqual(other, ['out of range', 'too many entries']);
    assert.deepEqual(errorsByGrant(keys, undefined), { byKey: new Map(), other: [] });
  });
});
