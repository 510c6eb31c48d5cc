import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { contentURL, copyName, growTo } from './volumeops.js';

describe('copyName', () => {
  it('keeps the extension and skips taken names', () => {
    assert.equal(copyName('disk.qcow2'), 'disk-copy.qcow2');
    assert.equal(copyName('disk.qcow2', ['disk-copy.qcow2']), 'disk-copy2.qcow2');
    assert.equal(copyName('plain'), 'plain-copy');
    assert.equal(copyName('.hidden'), '.hidden-copy');
  });
});

describe('growTo', () => {
  const GIB = 1024 ** 3;
  it('accepts a larger size only', () => {
    assert.deepEqual(growTo('2', GIB), { bytes: 2 * GIB });
    assert.deepEqual(growTo('1,5', GIB), { bytes: 1.5 * GIB });
    assert.deepEqual(growTo('1', GIB), { problem: 'volops.resize.notLarger' });
    assert.deepEqual(growTo('0.5', GIB), { problem: 'volops.resize.notLarger' });
    assert.deepEqual(growTo('x', GIB), { problem: 'volops.resize.invalid' });
    assert.deepEqual(growTo('-3', GIB), { problem: 'volops.resize.invalid' });
  });
});

describe('contentURL', () => {
  it('escapes each part', () => {
    assert.equal(contentURL('local', 'default', 'a b.iso'), '/api/v1/hosts/local/pools/default/volumes/a%20b.iso/content');
  });
});
