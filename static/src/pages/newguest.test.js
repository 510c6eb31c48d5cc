import { test } from 'node:test';
import assert from 'node:assert/strict';

import { defaultName } from './newguest.js';

test('defaultName: the first free <template>-N, as the server picks it', () => {
  for (const [tname, names, want] of [
    ['Debian 12', [], 'Debian-12-1'],
    ['Debian 12', ['Debian-12-1', 'Debian-12-3'], 'Debian-12-2'],
    ['../*evil*', [], 'evil-1'],
    ['***', [], 'guest-1'],
  ]) {
    assert.equal(defaultName(tname, names), want, `${tname} with ${names}`);
  }
});
