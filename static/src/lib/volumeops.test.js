import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { contentURL, copyName, growTo, nameFromURL } from './volumeops.js';

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

describe('nameFromURL', () => {
  it('takes the last path segment, decoded', () => {
    assert.equal(nameFromURL('https://cdimage.debian.org/debian-cd/12.8.0/amd64/iso-cd/debian-12.8.0-amd64-netinst.iso'), 'debian-12.8.0-amd64-netinst.iso');
    assert.equal(nameFromURL('http://mirror/x/My%20Disk.qcow2?sig=1#frag'), 'My Disk.qcow2');
    assert.equal(nameFromURL('https://host/'), '');
    assert.equal(nameFromURL('not a url'), '');
    assert.equal(nameFromURL('http://h/%E0%A4%A'), '%E0%A4%A', 'a broken escape stays as it is');
  });
});
