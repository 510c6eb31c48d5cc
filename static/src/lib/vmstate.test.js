import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACTIONS, DESTRUCTIVE, GROUPS, POWER_ACTIONS, STATES, allowedActions, fallbackRole, isActive, stateGroup, stateRank, stateTone,
} from './vmstate.js';

describe('allowedActions', () => {
  it('follows the state table', () => {
    const table = Object.fromEntries(STATES.map((s) => [s, allowedActions(s).all]));
    assert.deepEqual(table, {
      running: ['shutdown', 'reboot', 'suspend', 'reset', 'poweroff'],
      blocked: ['shutdown', 'reboot', 'suspend', 'reset', 'poweroff'],
      paused: ['resume', 'poweroff'],
      'shutting-down': ['poweroff'],
      shutoff: ['start', 'delete'],
      crashed: ['start'],
      pmsuspended: ['poweroff'],
      unknown: [],
    });
  });

  it('puts the safe action first and never a destructive one as the button', () => {
    assert.equal(allowedActions('shutoff').primary, 'start');
    assert.equal(allowedActions('crashed').primary, 'start');
    assert.equal(allowedActions('running').primary, 'shutdown');
    assert.equal(allowedActions('paused').primary, 'resume');
    for (const s of STATES) {
      const p = allowedActions(s).primary;
      assert.ok(p === null || !DESTRUCTIVE.has(p), `${s}: primary ${p}`);
    }
  });

  it('offers delete only for shut off guests', () => {
    for (const s of STATES) assert.equal(allowedActions(s).all.includes('delete'), s === 'shutoff', s);
  });

  it('offers every action somewhere, and only known ones', () => {
    const offered = new Set(STATES.flatMap((s) => allowedActions(s).all));
    assert.deepEqual([...offered].sort(), [...ACTIONS].sort());
  });

  it('offers nothing for an unknown state or a read-only caller', () => {
    assert.deepEqual(allowedActions('exploded').all, []);
    assert.equal(allowedActions('exploded').primary, null);
    assert.deepEqual(allowedActions('running', { readOnly: true }).all, []);
  });

  it('follows the caller\'s role on the guest', () => {
    // A viewer (and an auditor) sees no action at all.
    for (const s of STATES) {
      assert.deepEqual(allowedActions(s, { role: 'viewer' }).all, [], `viewer, ${s}`);
      assert.deepEqual(allowedActions(s, { role: 'auditor' }).all, [], `auditor, ${s}`);
      assert.deepEqual(allowedActions(s, { role: 'admin' }).all, allowedActions(s).all, `admin, ${s}`);
    }
    // Operators and managers: the power actions, never delete.
    for (const role of ['operator', 'manager']) {
      assert.deepEqual(allowedActions('shutoff', { role }), { primary: 'start', more: [], all: ['start'] });
      assert.deepEqual(allowedActions('running', { role }).all, ['shutdown', 'reboot', 'suspend', 'reset', 'poweroff']);
      const offered = new Set(STATES.flatMap((s) => allowedActions(s, { role }).all));
      assert.equal(offered.has('delete'), false);
      assert.deepEqual([...offered].sort(), [...POWER_ACTIONS].sort());
    }
    // A role this version does not know allows nothing; none leaves the state to decide.
    assert.deepEqual(allowedActions('running', { role: 'superuser' }).all, []);
    assert.deepEqual(allowedActions('shutoff', { role: null }).all, ['start', 'delete']);
    assert.deepEqual(allowedActions('running', { role: 'admin', readOnly: true }).all, []);
  });

  it('assumes a role when the server does not say', () => {
    assert.equal(fallbackRole(['admin']), 'admin');
    assert.equal(fallbackRole(['auditor', 'admin']), 'admin');
    assert.equal(fallbackRole(['auditor']), 'auditor');
    assert.equal(fallbackRole(['user']), 'operator');
    assert.equal(fallbackRole(undefined), 'operator');
  });

  it('asks before the destructive actions', () => {
    assert.deepEqual([...DESTRUCTIVE].sort(), ['delete', 'poweroff', 'reset']);
  });
});

describe('groups, tones and ranks', () => {
  it('groups every state', () => {
    assert.deepEqual(STATES.map(stateGroup), ['running', 'running', 'paused', 'other', 'shutoff', 'other', 'paused', 'other']);
    assert.equal(stateGroup('brand-new-state'), 'other');
    for (const s of STATES) assert.ok(GROUPS.includes(stateGroup(s)));
  });
  it('colours every state', () => {
    assert.equal(stateTone('running'), 'ok');
    assert.equal(stateTone('shutoff'), 'off');
    assert.equal(stateTone('crashed'), 'danger');
    assert.equal(stateTone('paused'), 'warn');
    assert.equal(stateTone('shutting-down'), 'busy');
    assert.equal(stateTone('whatever'), 'unknown');
  });
  it('knows which guests have a process', () => {
    assert.deepEqual(STATES.filter(isActive), ['running', 'blocked', 'paused', 'shutting-down', 'pmsuspended']);
  });
  it('ranks active guests before shut off ones', () => {
    assert.ok(stateRank('running') < stateRank('paused'));
    assert.ok(stateRank('paused') < stateRank('shutoff'));
    assert.ok(stateRank('shutoff') < stateRank('nonsense'));
  });
});
