import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CLOSE, CLOSE_MESSAGES, MAX_AUTO_RECONNECTS, closeOutcome, consoleAvailability, consoleOffered, consoleOptions, consoleViews,
  kindOfView, reconnectDelay, shouldAutoReconnect, socketURL, vvFileName,
} from './console.js';
import { textToKeys } from '../console/keys.js';
import { STATES } from './vmstate.js';

describe('who may open a console', () => {
  const op = ['vm.read', 'vm.power', 'vm.console'];
  it('offers the button for a live guest whose allowed_actions hold vm.console', () => {
    const live = STATES.filter((s) => consoleOffered({ state: s, allowed_actions: op }));
    assert.deepEqual(live, ['running', 'blocked', 'paused', 'shutting-down', 'pmsuspended']);
    assert.equal(consoleOffered({ state: 'running', allowed_actions: ['vm.read'] }), false);
    assert.equal(consoleOffered({ state: 'running', allowed_actions: [] }), false);
    assert.equal(consoleOffered({ state: 'shutoff', allowed_actions: op }), false);
    assert.equal(consoleOffered({ state: 'crashed', allowed_actions: op }), false);
    // A role is no permission: only the server's list counts.
    assert.equal(consoleOffered({ state: 'running', my_role: 'admin' }), false);
    assert.equal(consoleOffered(null), false);
  });
});

describe('console options', () => {
  it('come from the devices the endpoint can open', () => {
    assert.deepEqual(consoleOptions({ devices: { consoles: ['vnc', 'serial'] } }), { graphics: 'vnc', serial: true });
    assert.deepEqual(consoleOptions({ devices: { consoles: ['spice', 'serial'] } }), { graphics: 'spice', serial: true });
    assert.deepEqual(consoleOptions({ devices: { consoles: ['serial'] } }), { graphics: null, serial: true });
    assert.deepEqual(consoleOptions({ graphics: 'vnc', devices: { consoles: [] } }), { graphics: null, serial: false });
    // The list entry only knows the display.
    assert.deepEqual(consoleOptions({ graphics: 'spice' }), { graphics: 'spice', serial: false });
    assert.deepEqual(consoleOptions({ graphics: '' }), { graphics: null, serial: false });
  });

  it('decide the state of the tab', () => {
    const vm = (over) => ({ state: 'running', allowed_actions: ['vm.read', 'vm.console'], devices: { consoles: ['vnc', 'serial'] }, ...over });
    assert.equal(consoleAvailability(null), 'loading');
    assert.equal(consoleAvailability(vm()), 'ready');
    assert.equal(consoleAvailability(vm({ allowed_actions: ['vm.read'] })), 'forbidden');
    assert.equal(consoleAvailability(vm({ allowed_actions: undefined, my_role: 'admin' })), 'forbidden');
    assert.equal(consoleAvailability(vm({ state: 'shutoff' })), 'stopped');
    assert.equal(consoleAvailability(vm({ state: 'paused' })), 'ready');
    assert.equal(consoleAvailability(vm({ devices: { consoles: [] } })), 'none');
  });

  it('switch between graphics and serial only when there are both', () => {
    assert.deepEqual(consoleViews({ graphics: 'vnc', serial: true }), { views: ['graphics', 'serial'], view: 'graphics' });
    assert.deepEqual(consoleViews({ graphics: 'vnc', serial: true }, 'serial'), { views: ['graphics', 'serial'], view: 'serial' });
    assert.deepEqual(consoleViews({ graphics: null, serial: true }, 'graphics'), { views: ['serial'], view: 'serial' });
    assert.deepEqual(consoleViews({ graphics: 'spice', serial: false }), { views: ['graphics'], view: 'graphics' });
    assert.deepEqual(consoleViews({ graphics: null, serial: false }), { views: [], view: null });
    assert.equal(kindOfView('graphics', { graphics: 'spice' }), 'spice');
    assert.equal(kindOfView('serial', { graphics: 'vnc' }), 'serial');
  });
});

describe('a closed console', () => {
  it('never reconnects by itself after access is revoked or the session is over', () => {
    for (const [code, reason, message] of [
      [CLOSE.ACCESS_REVOKED, 'access revoked', 'revoked'],
      [CLOSE.LOGGED_OUT, 'logged out', 'loggedOut'],
      [CLOSE.SESSION_ENDED, 'session ended', 'sessionEnded'],
    ]) {
      const o = closeOutcome({ code, reason, opened: true });
      assert.equal(o.message, message);
      assert.equal(o.reconnect, 'never');
      assert.equal(o.reason, reason);
      assert.equal(shouldAutoReconnect(o.reconnect, 0), false);
    }
  });

  it('waits for the guest after it stopped, and for the person after idling', () => {
    assert.deepEqual(closeOutcome({ code: 4001, reason: 'guest stopped', opened: true }), { message: 'guestStopped', reason: 'guest stopped', reconnect: 'running' });
    assert.deepEqual(closeOutcome({ code: 4008, reason: 'idle', opened: true }), { message: 'idle', reason: 'idle', reconnect: 'manual' });
  });

  it('reconnects by itself after a restart or a lost connection, a few times', () => {
    assert.equal(closeOutcome({ code: 1001, reason: 'server shutting down', opened: true }).reconnect, 'auto');
    assert.equal(closeOutcome({ code: 1006, reason: '', opened: true }).message, 'network');
    assert.equal(closeOutcome({ code: 1006, reason: '', opened: true }).reconnect, 'auto');
    assert.equal(closeOutcome({ code: 1000, reason: 'console closed', opened: true }).message, 'guestClosed');
    assert.equal(closeOutcome({ code: 1011, reason: 'internal error', opened: true }).reconnect, 'auto');
    assert.equal(shouldAutoReconnect('auto', MAX_AUTO_RECONNECTS - 1), true);
    assert.equal(shouldAutoReconnect('auto', MAX_AUTO_RECONNECTS), false);
    assert.equal(shouldAutoReconnect('manual', 0), false);
    assert.equal(shouldAutoReconnect('running', 0), false);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(reconnectDelay), [1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });

  it('does not retry a refused handshake in a loop', () => {
    const o = closeOutcome({ code: 1006, reason: '', opened: false });
    assert.equal(o.message, 'refused');
    assert.equal(o.reconnect, 'manual');
  });

  it('goes by the reason when a proxy rewrote the code, and shows unknown reasons as they are', () => {
    assert.equal(closeOutcome({ code: 1000, reason: 'Access Revoked', opened: true }).reconnect, 'never');
    assert.deepEqual(closeOutcome({ code: 4999, reason: 'maintenance', opened: true }), { message: 'other', reason: 'maintenance', reconnect: 'manual' });
    for (const code of [4001, 4003, 4004, 4005, 4008, 1000, 1001, 1006, 1011, 4999]) {
      for (const opened of [true, false]) assert.ok(CLOSE_MESSAGES.includes(closeOutcome({ code, opened }).message));
    }
  });
});

describe('the WebSocket address', () => {
  it('stays on the page’s origin and scheme', () => {
    assert.equal(socketURL('ws://127.0.0.1:8080/api/v1/console/ws?token=a', 'http://127.0.0.1:8080/guests/x'), 'ws://127.0.0.1:8080/api/v1/console/ws?token=a');
    assert.equal(socketURL('ws://internal:8080/api/v1/console/ws?token=a', 'https://portal.example/guests/x'), 'wss://portal.example/api/v1/console/ws?token=a');
    assert.equal(socketURL('/api/v1/console/ws?token=a', 'http://h:1/'), 'ws://h:1/api/v1/console/ws?token=a');
  });
});

describe('typing text into a graphical console', () => {
  it('maps characters to keysyms and US keys, with Shift where needed', () => {
    const { keys, skipped } = textToKeys('aZ1!~ é€');
    assert.equal(skipped, 0);
    assert.deepEqual(keys, [
      { keysym: 0x61, code: 'KeyA', shift: false },
      { keysym: 0x5a, code: 'KeyZ', shift: true },
      { keysym: 0x31, code: 'Digit1', shift: false },
      { keysym: 0x21, code: 'Digit1', shift: true },
      { keysym: 0x7e, code: 'Backquote', shift: true },
      { keysym: 0x20, code: 'Space', shift: false },
      { keysym: 0xe9, code: null, shift: false },
      { keysym: 0x010020ac, code: null, shift: false },
    ]);
  });

  it('types line ends as Return once, tabs as Tab, and leaves other control characters out', () => {
    const { keys, skipped } = textToKeys('a\r\nb\nc\rd\te\u0007');
    assert.deepEqual(keys.map((k) => k.keysym), [0x61, 0xff0d, 0x62, 0xff0d, 0x63, 0xff0d, 0x64, 0xff09, 0x65]);
    assert.equal(skipped, 1);
    assert.equal(keys[1].code, 'Enter');
  });

  it('counts characters outside the BMP once', () => {
    const { keys } = textToKeys('😀');
    assert.deepEqual(keys, [{ keysym: 0x01000000 + 0x1f600, code: null, shift: false }]);
  });

  it('names the remote-viewer file after the guest', () => {
    assert.equal(vvFileName('win2022'), 'win2022.vv');
    assert.equal(vvFileName('a/b:c'), 'a_b_c.vv');
    assert.equal(vvFileName('..hidden'), '_hidden.vv');
  });
});
