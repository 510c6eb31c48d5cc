import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actorFilter, auditQuery, emptyFilters, filtersFromSearch, fromLocalInput, guestOfTarget, hasFilters, presetOf,
  resultClass, resultCode, searchFromFilters, toLocalInput, untilToLocalInput,
} from './auditfilter.js';

describe('audit filters and the URL', () => {
  it('round-trip through the query string', () => {
    const f = {
      ...emptyFilters(), user: 'local:admin', realm: 'local', action: 'vm.access.*', target: 'vm:web01', result: 'denied',
      since: '2026-11-22T03:27:00Z', until: '2026-11-22T04:00:00Z',
    };
    const s = searchFromFilters(f);
    assert.equal(s, '?user=local%3Aadmin&realm=local&action=vm.access.*&target=vm%3Aweb01&result=denied&since=2026-11-22T03%3A27%3A00Z&until=2026-11-22T04%3A00%3A00Z');
    assert.deepEqual(filtersFromSearch(s), f);
  });
  it('leaves out empty filters and ignores junk', () => {
    assert.equal(searchFromFilters(emptyFilters()), '');
    assert.equal(hasFilters(emptyFilters()), false);
    const f = filtersFromSearch('?result=maybe&since=yesterday&until=2026-01-01T10:00:00.000%2B01:00&action=%20vm.*%20&x=1');
    assert.deepEqual(f, { ...emptyFilters(), action: 'vm.*', until: '2026-01-01T09:00:00Z' });
    assert.equal(hasFilters(f), true);
  });
  it('knows the action presets', () => {
    assert.equal(presetOf('session.*'), 'logins');
    assert.equal(presetOf('vm.*'), 'guests');
    assert.equal(presetOf('vm.access.*'), 'access');
    assert.equal(presetOf('vm.start'), '');
  });
});

describe('audit query', () => {
  it('passes what the server filters', () => {
    const f = { ...emptyFilters(), realm: 'local', action: 'vm.*', target: 'vm:web*', result: 'ok', since: '2026-01-01T00:00:00Z' };
    const q = auditQuery(f, { realms: ['local'] });
    assert.deepEqual(q.query, { realm: 'local', action: 'vm.*', target: 'vm:web*', result: 'ok', since: '2026-01-01T00:00:00Z' });
    assert.equal(q.match, null);
    assert.equal(q.scan, false);
    assert.deepEqual(q.invalid, []);
  });
  it('finds errors and denials by reading the results', () => {
    const q = auditQuery({ ...emptyFilters(), result: 'error' });
    assert.deepEqual(q.query, {});
    assert.equal(q.scan, true);
    assert.equal(q.match({ result: 'error:conflict' }), true);
    assert.equal(q.match({ result: 'denied:forbidden' }), false);
    assert.equal(auditQuery({ ...emptyFilters(), result: 'denied' }).match({ result: 'denied:forbidden' }), true);
  });
  it('completes a bare user name with a realm', () => {
    assert.deepEqual(actorFilter('alice', 'pam', ['pam', 'ldap']), { actor: 'pam:alice', ambiguous: false });
    assert.deepEqual(actorFilter('alice', '', ['local']), { actor: 'local:alice', ambiguous: false });
    assert.deepEqual(actorFilter('ldap:alice', 'pam', ['pam', 'ldap']), { actor: 'ldap:alice', ambiguous: false });
    assert.deepEqual(actorFilter('alice', '', ['pam', 'ldap']), { actor: '', ambiguous: true });
    assert.deepEqual(auditQuery({ ...emptyFilters(), user: 'alice' }, { realms: ['pam', 'ldap'] }).invalid, ['user']);
  });
  it('refuses an empty time range', () => {
    const q = auditQuery({ ...emptyFilters(), since: '2026-01-02T00:00:00Z', until: '2026-01-01T00:00:00Z' });
    assert.deepEqual(q.invalid, ['range']);
  });
});

describe('datetime-local values', () => {
  it('convert in the local zone and include the whole last minute', () => {
    const iso = fromLocalInput('2026-03-04T05:06');
    assert.equal(new Date(iso).getTime(), new Date(2026, 2, 4, 5, 6).getTime());
    assert.equal(toLocalInput(iso), '2026-03-04T05:06');
    const until = fromLocalInput('2026-03-04T05:06', { endOfMinute: true });
    assert.equal(new Date(until).getTime(), new Date(2026, 2, 4, 5, 7).getTime());
    assert.equal(untilToLocalInput(until), '2026-03-04T05:06');
    assert.equal(fromLocalInput(''), '');
    assert.equal(fromLocalInput('not a date'), '');
    assert.equal(toLocalInput('garbage'), '');
  });
});

describe('audit results and targets', () => {
  it('classifies results', () => {
    assert.equal(resultClass('ok'), 'ok');
    assert.equal(resultClass('error:conflict'), 'error');
    assert.equal(resultClass('denied:forbidden'), 'denied');
    assert.equal(resultClass('denied'), 'denied');
    assert.equal(resultClass('weird'), 'other');
    assert.equal(resultCode('error:not_found'), 'not_found');
    assert.equal(resultCode('ok'), '');
  });
  it('links guests', () => {
    assert.equal(guestOfTarget('vm:web01'), 'web01');
    assert.equal(guestOfTarget('vm:'), '');
    assert.equal(guestOfTarget('host'), '');
    assert.equal(guestOfTarget(''), '');
  });
});
