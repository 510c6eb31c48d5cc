import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isoOS, parseGiB, pickPool, usageTone, usedFraction, volumeNameProblem } from './storage.js';

describe('storage helpers', () => {
  it('measures how full a pool is', () => {
    assert.equal(usedFraction({ capacity: 100, allocation: 25 }), 0.25);
    assert.equal(usedFraction({ capacity: 100, allocation: 250 }), 1);
    assert.equal(usedFraction({ capacity: 0, allocation: 5 }), 0);
    assert.equal(usedFraction({ available: 5 }), 0, 'a user sees free space only');
    assert.equal(usageTone(0.5), 'ok');
    assert.equal(usageTone(0.85), 'warn');
    assert.equal(usageTone(0.97), 'danger');
  });
  it('checks volume names as the server does', () => {
    assert.equal(volumeNameProblem('web01.qcow2'), null);
    assert.equal(volumeNameProblem(''), 'storage.create.nameRequired');
    for (const bad of ['../x', '/etc/x', 'x/../../y', 'a\u0000b', '.hidden', 'vоl', 'a b']) {
      assert.equal(volumeNameProblem(bad), 'storage.create.nameInvalid', bad);
    }
    assert.equal(volumeNameProblem('a'.repeat(129)), 'storage.create.nameTooLong');
  });
  it('reads sizes in GiB', () => {
    assert.equal(parseGiB('20'), 20 * 1024 ** 3);
    assert.equal(parseGiB('0,5'), 512 * 1024 ** 2);
    assert.equal(parseGiB(' 1.5 '), 1.5 * 1024 ** 3);
    for (const bad of ['', '0', '-1', 'abc', '1e3', '1/2']) assert.equal(parseGiB(bad), null, bad);
  });
  it('picks the pool to show', () => {
    const pools = [{ name: 'a', state: 'inactive' }, { name: 'b', state: 'running' }];
    assert.equal(pickPool(pools, 'a'), 'a');
    assert.equal(pickPool(pools, 'zz'), 'b');
    assert.equal(pickPool(pools, ''), 'b');
    assert.equal(pickPool([], 'a'), '');
  });

  it('shows an ISO\'s operating system, or why it is unknown', () => {
    assert.deepEqual(isoOS({ status: 'detected', os: { name: 'Debian 11' } }), { name: 'Debian 11' });
    assert.deepEqual(isoOS({ status: 'unavailable', reason: 'volume_read_not_supported' }), { key: 'storage.iso.status.unavailable' });
    assert.deepEqual(isoOS({ status: 'unknown', reason: 'not_iso' }), { key: 'storage.iso.status.unknown', hint: 'storage.iso.reason.not_iso' });
    assert.deepEqual(isoOS({ status: 'unknown', reason: '<b>new</b>' }), { key: 'storage.iso.status.unknown', hint: undefined }, 'an unknown reason is no key');
    assert.deepEqual(isoOS({ status: 'detected', os: null }), { key: 'storage.iso.status.unknown', hint: undefined });
    assert.deepEqual(isoOS(undefined), { key: 'storage.iso.status.unknown', hint: undefined });
  });
});
