import { test } from 'node:test';
import assert from 'node:assert/strict';

import { importBody } from './importdisk.js';

test('importBody: only what was given; null without a pool and a volume', () => {
  assert.equal(importBody({ pool: 'default', volume: '' }), null);
  assert.equal(importBody({ pool: '', volume: 'a.qcow2' }), null);
  assert.deepEqual(importBody({ pool: 'default', volume: 'a.qcow2', name: '', os: '', network: '', vcpus: 0, memory: 0, start: true }),
    { pool: 'default', volume: 'a.qcow2', start: true });
  assert.deepEqual(importBody({ pool: 'p', volume: 'v.img', name: 'g', os: 'debian12', network: 'default', vcpus: 2, memory: 1024, start: false }),
    { pool: 'p', volume: 'v.img', start: false, name: 'g', os: 'debian12', network: 'default', vcpus: 2, memory_mib: 1024 });
});
