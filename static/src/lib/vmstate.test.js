import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACTIONS, ACTION_PERMISSION, DESTRUCTIVE, GROUPS, POWER_ACTIONS, STATES, allowedActions, can, isActive, stateGroup, stateRank, stateTone,
  vmActions,
} from './vmstate.js';

describe('allowedActions', () => {
  it('follows the state table', () => {
    const table = Object.fromEntries(STATES.map((s) => [s, allowedActions(s).all]));
    assert.deepEqual(table, {
      running: ['shutdown', 'reboot', 'suspend', 'reset', 'poweroff'],
      blocked: ['shutdown', 'reboot', 'suspend', 'reset', 'poweroff'],
      paused: ['resume', 'poweroff'],
      'shutting-down': ['poweroff'],
      shutoff: ['start', 'clone', 'delete'],
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

  it('offers nothing for an unknown state', () => {
    assert.deepEqual(allowedActions('exploded').all, []);
    assert.equal(allowedActions('exploded').primary, null);
    assert.deepEqual(allowedActions('exploded', { allowed: ['vm.power', 'vm.delete'] }).all, []);
  });

  it('follows the allowed_actions the server sends', () => {
    const all = ['vm.read', 'vm.power', 'vm.console', 'vm.clone', 'vm.delete', 'access.read', 'access.write'];
    for (const s of STATES) {
      // Nothing allowed (a viewer, an auditor, a policy that allows little): no action at all.
      assert.deepEqual(allowedActions(s, { allowed: [] }).all, [], `none, ${s}`);
      assert.deepEqual(allowedActions(s, { allowed: ['vm.read', 'vm.console', 'access.read'] }).all, [], `read, ${s}`);
      assert.deepEqual(allowedActions(s, { allowed: all }).all, allowedActions(s).all, `all, ${s}`);
    }
    // The power actions without delete, and delete without the power actions.
    assert.deepEqual(allowedActions('shutoff', { allowed: ['vm.power'] }), { primary: 'start', more: [], all: ['start'] });
    assert.deepEqual(allowedActions('running', { allowed: ['vm.power'] }).all, ['shutdown', 'reboot', 'suspend', 'reset', 'poweroff']);
    assert.deepEqual(allowedActions('shutoff', { allowed: ['vm.delete'] }), { primary: null, more: ['delete'], all: ['delete'] });
    assert.deepEqual(allowedActions('running', { allowed: ['vm.delete'] }).all, []);
    const offered = new Set(STATES.flatMap((s) => allowedActions(s, { allowed: ['vm.power'] }).all));
    assert.deepEqual([...offered].sort(), [...POWER_ACTIONS].sort());
    // Permissions this version does not know change nothing.
    assert.deepEqual(allowedActions('running', { allowed: ['vm.superpower'] }).all, []);
  });

  it('reads a guest object: no allowed_actions, nothing allowed', () => {
    assert.deepEqual(vmActions({ state: 'shutoff', allowed_actions: ['vm.power', 'vm.delete'] }).all, ['start', 'delete']);
    assert.deepEqual(vmActions({ state: 'shutoff', my_role: 'admin' }).all, [], 'a role is no permission');
    assert.deepEqual(vmActions({ state: 'running', allowed_actions: 'vm.power' }).all, [], 'only a list counts');
    assert.deepEqual(vmActions(null).all, []);
  });

  it('maps every action to a permission', () => {
    assert.deepEqual(Object.keys(ACTION_PERMISSION).sort(), [...ACTIONS].sort());
    assert.equal(ACTION_PERMISSION.delete, 'vm.delete');
    assert.equal(ACTION_PERMISSION.clone, 'vm.clone');
    for (const a of POWER_ACTIONS) assert.equal(ACTION_PERMISSION[a], 'vm.power');
  });

  it('asks before the destructive actions', () => {
    assert.deepEqual([...DESTRUCTIVE].sort(), ['delete', 'poweroff', 'reset']);
  });
});

describe('can', () => {
  it('answers from the allowed_actions of the object only', () => {
    const vm = { allowed_actions: ['vm.read', 'vm.power'] };
    assert.equal(can(vm, 'vm.power'), true);
    assert.equal(can(vm, 'vm.delete'), false);
    assert.equal(can({ allowed_actions: ['task.cancel'] }, 'task.cancel'), true);
    assert.equal(can({ my_role: 'admin', roles: ['admin'] }, 'vm.power'), false);
    assert.equal(can({ allowed_actions: 'vm.power' }, 'vm.power'), false);
    assert.equal(can(null, 'vm.read'), false);
    assert.equal(can(undefined, 'vm.read'), false);
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
