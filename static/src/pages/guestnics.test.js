import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setLocale } from '../lib/i18n.js';
import { appliesText, nicBody } from './guestnics.js';
import { snapshotDepths, suggestName } from './guestsnapshots.js';

before(() => setLocale('en'));

describe('NIC dialog', () => {
  it('sends only what was chosen', () => {
    assert.deepEqual(nicBody({ type: 'network', network: 'default', iface: 'br0', model: 'virtio', mac: ' ', link: true }, true),
      { type: 'network', source: 'default', model: 'virtio', link: 'up' });
    assert.deepEqual(nicBody({ type: 'bridge', network: 'default', iface: ' br0 ', model: '', mac: '52:54:00:01:02:03', link: false }, true),
      { type: 'bridge', source: 'br0', model: undefined, mac: '52:54:00:01:02:03', link: 'down' });
    assert.equal(nicBody({ network: 'x', mac: '52:54:00:01:02:03' }, false).mac, undefined, 'an edit never sends a MAC');
  });
  it('says where a change applies', () => {
    assert.equal(appliesText('now'), 'Applied now.');
    assert.equal(appliesText('next_boot'), 'Saved: applies at the next boot.');
  });
});

describe('snapshot tree', () => {
  it('indents children under their parents', () => {
    const d = snapshotDepths([{ name: 'a' }, { name: 'b', parent: 'a' }, { name: 'c', parent: 'b' }, { name: 'd', parent: 'a' },
      { name: 'orphan', parent: 'gone' }]);
    assert.deepEqual([...d], [['a', 0], ['b', 1], ['c', 2], ['d', 1], ['orphan', 0]]);
  });
  it('survives a loop', () => {
    const d = snapshotDepths([{ name: 'x', parent: 'y' }, { name: 'y', parent: 'x' }]);
    assert.ok(d.get('x') < 3 && d.get('y') < 3);
  });
  it('suggests a valid name', () => {
    assert.equal(suggestName(new Date(2026, 0, 2, 3, 4)), 'snap-20260102-0304');
  });
});
