import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fieldFor, mapDetails } from './formerrors.js';

const names = ['name', 'expires_at', 'grants', 'grants_extra'];

describe('fieldFor', () => {
  const cases = [
    ['name', 'name'], ['body.name', 'name'], ['expires_at', 'expires_at'], ['grants[2].role', 'grants'],
    ['grants.0', 'grants'], ['grants_extra[1]', 'grants_extra'], ['namespace', null], ['', null], [undefined, null], ['other', null],
  ];
  for (const [path, want] of cases) it(`${path} → ${want}`, () => assert.equal(fieldFor(path, names), want));
});

describe('mapDetails', () => {
  it('puts each message next to its field, the rest above the form', () => {
    const { byField, general } = mapDetails({
      status: 422, message: 'invalid request',
      details: [
        { field: 'name', message: 'must not be empty' },
        { field: 'name', message: 'must not be empty' },
        { field: 'grants[1].role', message: 'unknown role "boss"' },
        { field: 'realm', message: 'unknown realm' },
        { field: '', message: 'too many tokens' },
        { field: 'expires_at', message: '' },
      ],
    }, names);
    assert.deepEqual([...byField], [['name', ['must not be empty']], ['grants', ['unknown role "boss"']]]);
    assert.deepEqual(general, ['realm: unknown realm', 'too many tokens']);
  });
  it('falls back to the message when no detail says more', () => {
    assert.deepEqual(mapDetails({ status: 409, message: 'name taken' }, names), { byField: new Map(), general: ['name taken'] });
    assert.deepEqual(mapDetails({ status: 422, message: 'bad', details: 'nonsense' }, names).general, ['bad']);
    assert.deepEqual(mapDetails(null, names), { byField: new Map(), general: [] });
  });
});
