import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { EVENT_TYPES, createEvents, decodeEvent, reconnectDelay } from './events.js';

/** A stand-in for the browser's EventSource: the test plays the server. */
class FakeSource {
  static all = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.listeners = new Map();
    this.closed = false;
    FakeSource.all.push(this);
  }
  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  // the server's side
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  send(type, data) {
    for (const fn of this.listeners.get(type) ?? []) fn({ data: typeof data === 'string' ? data : JSON.stringify(data) });
  }
  fail(readyState) {
    this.readyState = readyState;
    this.onerror?.();
  }
}

function setup(extra = {}) {
  FakeSource.all = [];
  const timers = [];
  const ends = [];
  const ev = createEvents({
    EventSource: FakeSource,
    setTimeout: (fn, ms) => timers.push({ fn, ms }) - 1,
    clearTimeout: (id) => { if (timers[id]) timers[id].cancelled = true; },
    onEnd: (r) => ends.push(r),
    ...extra,
  });
  const got = [];
  for (const type of [...EVENT_TYPES, 'status']) ev.on(type, (d) => got.push([type, d]));
  return { ev, timers, ends, got, src: () => FakeSource.all.at(-1) };
}

describe('decodeEvent', () => {
  it('accepts JSON objects of the right shape only', () => {
    assert.deepEqual(decodeEvent('task', '{"id":"t1","status":"running"}'), { id: 't1', status: 'running' });
    assert.deepEqual(decodeEvent('guest', '{"type":"state","name":"web01"}'), { type: 'state', name: 'web01' });
    assert.deepEqual(decodeEvent('reset', ''), {});
    assert.equal(decodeEvent('task', 'not json'), null);
    assert.equal(decodeEvent('task', '[1,2]'), null);
    assert.equal(decodeEvent('task', 'null'), null);
    assert.equal(decodeEvent('task', '{"status":"running"}'), null, 'a task without an id');
    assert.equal(decodeEvent('guest', '{"type":"state"}'), null, 'a guest event without a name');
    assert.equal(decodeEvent('pool', '{"type":"started"}'), null, 'a pool event without a name');
    assert.deepEqual(decodeEvent('network', '{"type":"stopped","host":"local","name":"lan"}'), { type: 'stopped', host: 'local', name: 'lan' });
  });
});

describe('the event stream client', () => {
  let s;
  beforeEach(() => {
    s = setup();
    s.ev.start();
  });

  it('opens one EventSource on the events URL, once', () => {
    s.ev.start();
    assert.equal(FakeSource.all.length, 1);
    assert.equal(s.src().url, '/api/v1/events');
    s.src().open();
    assert.equal(s.ev.status(), 'open');
  });

  it('dispatches typed events to their subscribers and drops malformed ones', () => {
    s.src().open();
    s.got.length = 0;
    s.src().send('task', { id: 't1', status: 'running', progress: 40 });
    s.src().send('guest', { type: 'state', host: 'local', name: 'web01', vm: { name: 'web01', state: 'running' } });
    s.src().send('task', '{broken');
    s.src().send('reset', '');
    assert.deepEqual(s.got, [
      ['task', { id: 't1', status: 'running', progress: 40 }],
      ['guest', { type: 'state', host: 'local', name: 'web01', vm: { name: 'web01', state: 'running' } }],
      ['reset', {}],
    ]);
  });

  it('keeps going when a subscriber throws', () => {
    const seen = [];
    const err = console.error;
    console.error = () => {};
    try {
      s.ev.on('task', () => { throw new Error('bug'); });
      s.ev.on('task', (d) => seen.push(d.id));
      s.src().send('task', { id: 'x' });
    } finally {
      console.error = err;
    }
    assert.deepEqual(seen, ['x']);
  });

  it('unsubscribes', () => {
    const seen = [];
    const off = s.ev.on('task', (d) => seen.push(d.id));
    s.src().send('task', { id: 'a' });
    off();
    s.src().send('task', { id: 'b' });
    assert.deepEqual(seen, ['a']);
  });

  it('stops for good at end, and says why', () => {
    s.src().open();
    s.src().send('end', { reason: 'revoked' });
    assert.deepEqual(s.ends, ['revoked']);
    assert.equal(s.src().closed, true);
    assert.equal(s.ev.status(), 'ended');
    assert.deepEqual(s.got.filter(([t]) => t === 'end'), [['end', { reason: 'revoked' }]]);
    // Nothing more is delivered, and nothing reconnects.
    s.src().send('task', { id: 'late' });
    assert.equal(s.got.some(([t]) => t === 'task'), false);
    assert.equal(s.timers.length, 0);
    assert.equal(FakeSource.all.length, 1);
  });

  it('lets the browser resume a dropped connection itself', () => {
    s.src().open();
    s.src().fail(0); // CONNECTING: EventSource retries with Last-Event-ID
    assert.equal(s.ev.status(), 'connecting');
    assert.equal(s.timers.length, 0);
    assert.equal(FakeSource.all.length, 1);
    s.src().open();
    assert.equal(s.got.some(([t]) => t === 'reset'), false, 'a resumed stream needs no refetch');
  });

  it('reconnects with back-off after the stream failed for good, and asks for a refetch', () => {
    s.src().fail(2); // CLOSED: an error answer
    assert.equal(s.ev.status(), 'down');
    assert.equal(s.timers.length, 1);
    assert.equal(s.timers[0].ms, 2000);
    s.timers[0].fn();
    assert.equal(FakeSource.all.length, 2);
    s.src().fail(2);
    assert.equal(s.timers[1].ms, 4000);
    s.timers[1].fn();
    s.src().open();
    assert.equal(s.ev.status(), 'open');
    assert.deepEqual(s.got.filter(([t]) => t === 'reset'), [['reset', {}]]);
    // Back to the first delay after a success.
    s.src().fail(2);
    assert.equal(s.timers[2].ms, 2000);
  });

  it('closes and cancels a pending reconnect on stop', () => {
    s.src().fail(2);
    s.ev.stop();
    assert.equal(s.timers[0].cancelled, true);
    assert.equal(s.ev.status(), 'idle');
  });

  it('reports the connection state to status subscribers', () => {
    s.src().open();
    s.src().fail(0);
    s.src().open();
    assert.deepEqual(s.got.filter(([t]) => t === 'status').map(([, d]) => d), ['connecting', 'open', 'connecting', 'open']);
  });
});

describe('reconnectDelay', () => {
  it('doubles up to a minute', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(reconnectDelay), [2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  });
});
