import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setLocale } from '../lib/i18n.js';
import { graphicsLabel } from './guests.js';
import { loginErrorMessage } from './login.js';
import { resultLabel, resultTone } from './audit.js';
import { guestTabs, searchForTab, tabFromSearch } from './guest.js';

before(() => setLocale('en'));

describe('login messages', () => {
  it('tells the failures apart', () => {
    assert.equal(loginErrorMessage({ status: 401, message: 'invalid username or password' }), 'The username or password is incorrect.');
    assert.match(loginErrorMessage({ status: 0 }), /Cannot reach the server/);
    assert.match(loginErrorMessage({ status: 503, message: 'directory down' }), /unavailable/);
    // A realm that is down is named.
    assert.equal(loginErrorMessage({ status: 503, message: 'the LDAP realm is unavailable' }, 'LDAP'),
      'Signing in with LDAP is not possible right now: the service is unavailable. Try again later or choose another realm.');
    assert.equal(loginErrorMessage({ status: 400, message: 'malformed JSON at byte 2' }), 'malformed JSON at byte 2');
    assert.equal(loginErrorMessage({ status: 500, message: 'internal error' }), 'internal error');
    assert.match(loginErrorMessage({ status: 502 }), /went wrong/);
  });
});

describe('shell and list helpers', () => {
  it('colours and names audit results', () => {
    assert.equal(resultTone('ok'), 'ok');
    assert.equal(resultTone('denied'), 'warn');
    assert.equal(resultTone('denied:forbidden'), 'warn');
    assert.equal(resultTone('error:conflict'), 'danger');
    assert.equal(resultLabel('ok'), 'OK');
    assert.equal(resultLabel('denied:forbidden'), 'Denied · forbidden');
    assert.equal(resultLabel('error:unprocessable'), 'Error · unprocessable');
    assert.equal(resultLabel('error'), 'Error');
    assert.equal(resultLabel('strange'), 'strange');
  });
  it('names graphics', () => {
    assert.equal(graphicsLabel('vnc'), 'VNC');
    assert.equal(graphicsLabel('spice'), 'SPICE');
    assert.equal(graphicsLabel(''), '—');
    assert.equal(graphicsLabel('rdp'), 'rdp');
  });
});

describe('guest page tabs', () => {
  it('shows the Console and Access tabs from the allowed_actions of the guest', () => {
    const vm = (...allowed) => ({ allowed_actions: allowed });
    // What the default policy gives an administrator, an auditor, an operator, a viewer.
    const all = ['overview', 'cpu', 'disks', 'network', 'snapshots', 'devices'];
    assert.deepEqual(guestTabs(vm('vm.read', 'vm.power', 'vm.console', 'vm.delete', 'access.read', 'access.write')), [...all, 'access', 'console']);
    assert.deepEqual(guestTabs(vm('vm.read', 'access.read')), [...all, 'access']);
    assert.deepEqual(guestTabs(vm('vm.read', 'vm.power', 'vm.console')), [...all, 'console']);
    assert.deepEqual(guestTabs(vm('vm.read')), all);
    // A custom policy: access without consoles.
    assert.deepEqual(guestTabs(vm('vm.read', 'access.read', 'access.write')), [...all, 'access']);
    // Roles are no permission; nothing known yet: only the overview.
    assert.deepEqual(guestTabs({ my_role: 'admin' }), ['overview']);
    assert.deepEqual(guestTabs(null), ['overview']);
  });
  it('keeps the tab in the URL', () => {
    const tabs = ['overview', 'access'];
    assert.equal(tabFromSearch('?tab=access', tabs), 'access');
    assert.equal(tabFromSearch('', tabs), 'overview');
    assert.equal(tabFromSearch('?tab=access', ['overview']), 'overview', 'a tab the caller lacks');
    assert.equal(tabFromSearch('?tab=console', tabs), 'overview', 'a tab that does not exist for the caller');
    assert.equal(tabFromSearch('?tab=console', ['overview', 'console']), 'console');
    assert.equal(searchForTab('', 'access', tabs), '?tab=access');
    assert.equal(searchForTab('?tab=access&x=1', 'overview', tabs), '?x=1');
    assert.equal(searchForTab('?tab=access', 'overview', tabs), '');
  });
});

describe('guest disks tab', () => {
  it('words a disk source and a change', async () => {
    const { appliesText, diskSourceText } = await import('./guestdisks.js');
    assert.equal(diskSourceText({ pool: 'default', volume: 'a.qcow2' }), 'default/a.qcow2');
    assert.equal(diskSourceText({ path: '/srv/x.img' }), '/srv/x.img');
    assert.equal(diskSourceText({ device: 'cdrom', empty: true }), 'No medium');
    assert.equal(diskSourceText({}), 'A file outside the pools');
    assert.equal(appliesText({ applies: 'now', disk: { target: 'vdb' } }, true), 'vdb: applied now.');
    assert.equal(appliesText({ applies: 'now', disk: { target: 'vdb' } }, false), 'vdb: saved; the guest boots with it.');
    assert.equal(appliesText({ applies: 'next_boot', disk: { target: 'vdb' } }, true), 'vdb: saved, applies at next boot.');
  });
});
