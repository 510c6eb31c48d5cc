import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createEvents } from './events.js';
import { applyGuestEvent, subscribe } from './guestfeed.js';

const vm = (name, state = 'running', extra = {}) => ({ name, state, host: 'local', allowed_actions: ['vm.read', 'vm.power'], ...extra });
const list = (...items) => ({ items, total: items.length });

describe('applyGuestEvent', () => {
  it('replaces the guest on a state change, with the event’s copy', () => {
    const before = list(vm('a'), vm('b', 'shutoff'), vm('c'));
    const after = applyGuestEvent(before, { type: 'state', host: 'local', name: 'b', vm: vm('b', 'running') });
    assert.deepEqual(after.items.map((v) => [v.name, v.state]), [['a', 'running'], ['b', 'running'], ['c', 'running']]);
    assert.equal(after.total, 3);
    assert.equal(before.items[1].state, 'shutoff', 'the list given is not changed');
  });

  it('replaces the guest on a grants change (allowed_actions change)', () => {
    const before = list(vm('a'));
    const after = applyGuestEvent(before, { type: 'grants', host: 'local', name: 'a', vm: vm('a', 'running', { allowed_actions: ['vm.read'] }) });
    assert.deepEqual(after.items[0].allowed_actions, ['vm.read']);
  });

  it('inserts an added guest, and counts it', () => {
    const after = applyGuestEvent({ items: [vm('a')], total: 7 }, { type: 'added', host: 'local', name: 'n', vm: vm('n', 'shutoff') });
    assert.deepEqual(after.items.map((v) => v.name), ['a', 'n']);
    assert.equal(after.total, 8);
  });

  it('inserts a guest a state or grants change names but the list lacks (sight gained)', () => {
    const after = applyGuestEvent(list(vm('a')), { type: 'grants', host: 'local', name: 'z', vm: vm('z') });
    assert.deepEqual(after.items.map((v) => v.name), ['a', 'z']);
    assert.equal(after.total, 2);
  });

  it('replaces rather than duplicates an added guest it holds already', () => {
    const after = applyGuestEvent(list(vm('a', 'shutoff')), { type: 'added', host: 'local', name: 'a', vm: vm('a') });
    assert.deepEqual(after.items.map((v) => [v.name, v.state]), [['a', 'running']]);
    assert.equal(after.total, 1);
  });

  it('drops a removed guest, and counts it', () => {
    const after = applyGuestEvent({ items: [vm('a'), vm('b')], total: 5 }, { type: 'removed', host: 'local', name: 'a' });
    assert.deepEqual(after.items.map((v) => v.name), ['b']);
    assert.equal(after.total, 4);
  });

  it('leaves the list as it is for a removed guest it does not hold, and unknown types', () => {
    const before = list(vm('a'));
    assert.equal(applyGuestEvent(before, { type: 'removed', host: 'local', name: 'x' }), before);
    assert.equal(applyGuestEvent(before, { type: 'renamed', host: 'local', name: 'a' }), before);
    assert.equal(applyGuestEvent(before, null), before);
  });

  it('matches the host when both sides name one', () => {
    const before = list(vm('a'), vm('a', 'shutoff', { host: 'other' }));
    const after = applyGuestEvent(before, { type: 'removed', host: 'other', name: 'a' });
    assert.deepEqual(after.items.map((v) => v.host), ['local']);
  });

  it('asks for a fetch (null) when a change does not carry the guest', () => {
    assert.equal(applyGuestEvent(list(vm('a')), { type: 'state', host: 'local', name: 'a' }), null);
    assert.equal(applyGuestEvent(list(vm('a')), { type: 'added', host: 'local', name: 'b' }), null);
  });
});

describe('subscribe', () => {
  const realFetch = globalThis.fetch;
  const realDocument = globalThis.document;
  let lists;
  let fetches;
  let reply;

  const tick = () => new Promise((r) => setTimeout(r, 0));
  const settle = async () => {
    for (let i = 0; i < 10; i++) await tick();
  };

  beforeEach(() => {
    fetches = 0;
    lists = [];
    reply = () => list(vm('a', 'shutoff'), vm('b'));
    globalThis.document = { visibilityState: 'visible', addEventListener() {}, removeEventListener() {} };
    globalThis.fetch = async (url) => {
      assert.match(String(url), /\/api\/v1\/vms$/);
      fetches++;
      return new Response(JSON.stringify(reply()), { status: 200, headers: { 'Content-Type': 'application/json' } });
    };
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
    globalThis.document = realDocument;
  });

  function feed() {
    const stream = createEvents({ EventSource: null });
    stream.start();
    const f = subscribe((l, seq) => lists.push({ names: l.items.map((v) => `${v.name}:${v.state}`), total: l.total, seq }),
      { events: stream, statsInterval: 60000 });
    return { stream, f };
  }

  it('fetches once, then applies guest events without fetching', async () => {
    const { stream, f } = feed();
    try {
      await settle();
      assert.equal(fetches, 1);
      assert.deepEqual(lists.at(-1).names, ['a:shutoff', 'b:running']);
      stream.dispatch('guest', JSON.stringify({ type: 'state', host: 'local', name: 'a', vm: vm('a') }));
      assert.deepEqual(lists.at(-1).names, ['a:running', 'b:running']);
      stream.dispatch('guest', JSON.stringify({ type: 'removed', host: 'local', name: 'b' }));
      assert.deepEqual(lists.at(-1), { names: ['a:running'], total: 1, seq: 3 });
      assert.equal(f.seq(), 3, 'each applied event is newer than what came before');
      await settle();
      assert.equal(fetches, 1, 'no fetch for events that carry the guest');
    } finally {
      f.stop();
    }
  });

  it('fetches again on reset and on a change without the guest', async () => {
    const { stream, f } = feed();
    try {
      await settle();
      stream.dispatch('reset', '');
      await settle();
      assert.equal(fetches, 2);
      stream.dispatch('guest', JSON.stringify({ type: 'grants', host: 'local', name: 'a' }));
      await settle();
      assert.equal(fetches, 3);
    } finally {
      f.stop();
    }
  });

  it('applies events that came during a fetch again on top of its answer', async () => {
    let release;
    const { stream, f } = feed();
    try {
      await settle();
      // The next fetch answers with the list as it was before the event.
      const realReply = reply;
      globalThis.fetch = async () => {
        fetches++;
        await new Promise((r) => { release = r; });
        return new Response(JSON.stringify(realReply()), { status: 200 });
      };
      f.now();
      await settle();
      stream.dispatch('guest', JSON.stringify({ type: 'state', host: 'local', name: 'a', vm: vm('a') }));
      assert.deepEqual(lists.at(-1).names, ['a:running', 'b:running']);
      release();
      await settle();
      assert.deepEqual(lists.at(-1).names, ['a:running', 'b:running'], 'the older answer does not undo the event');
    } finally {
      f.stop();
    }
  });

  it('ignores events before the first answer and after stop', async () => {
    const { stream, f } = feed();
    stream.dispatch('guest', JSON.stringify({ type: 'state', host: 'local', name: 'a', vm: vm('a') }));
    assert.equal(lists.length, 0);
    await settle();
    assert.deepEqual(lists.at(-1).names, ['a:running', 'b:running'], 'applied to the first answer');
    f.stop();
    stream.dispatch('guest', JSON.stringify({ type: 'removed', host: 'local', name: 'a' }));
    stream.dispatch('reset', '');
    await settle();
    assert.equal(lists.length, 1);
    assert.equal(fetches, 1);
  });
});
