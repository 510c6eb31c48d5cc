import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { THUMB_INTERVAL_MS, ThumbSchedule, thumbEligible, thumbResult } from './thumbs.js';

const S = THUMB_INTERVAL_MS;

describe('thumbnail eligibility', () => {
  it('needs a live process and a display', () => {
    assert.equal(thumbEligible({ state: 'running', graphics: 'vnc' }), true);
    assert.equal(thumbEligible({ state: 'paused', graphics: 'spice' }), true);
    assert.equal(thumbEligible({ state: 'running', graphics: '' }), false);
    assert.equal(thumbEligible({ state: 'shutoff', graphics: 'vnc' }), false);
    assert.equal(thumbEligible(null), false);
  });

  it('stops asking on 409, 501 and the like, and retries other failures', () => {
    assert.equal(thumbResult(200), 'ok');
    assert.equal(thumbResult(409), 'none');
    assert.equal(thumbResult(501), 'none');
    assert.equal(thumbResult(404), 'none');
    assert.equal(thumbResult(500), 'error');
    assert.equal(thumbResult(503), 'error');
    assert.equal(thumbResult(0), 'error');
  });
});

describe('ThumbSchedule', () => {
  function schedule(n, opts) {
    const s = new ThumbSchedule(opts);
    for (let i = 0; i < n; i++) s.update(`g${i}`, 'running', true);
    return s;
  }

  it('fetches visible eligible guests only', () => {
    const s = schedule(3);
    s.update('off', 'shutoff', false);
    s.setVisible('off', true);
    assert.deepEqual(s.due(0), [], 'nothing visible yet');
    assert.equal(s.nextWake(0), null);
    s.setVisible('g1', true);
    assert.deepEqual(s.due(0), ['g1']);
    assert.deepEqual(s.due(0), [], 'in flight');
  });

  it('fetches a guest at most once per interval, however often asked', () => {
    const s = schedule(1);
    s.setVisible('g0', true);
    assert.deepEqual(s.due(0), ['g0']);
    s.done('g0', 'ok', 500);
    let fetched = 0;
    // A list refresh every 3 s updates the state again and again: no extra fetch.
    for (let now = 600; now < 500 + S; now += 100) {
      s.update('g0', 'running', true);
      fetched += s.due(now).length;
    }
    assert.equal(fetched, 0);
    assert.equal(s.nextWake(600), S - 100);
    assert.deepEqual(s.due(500 + S), ['g0']);
  });

  it('keeps to the concurrency and serves the oldest first', () => {
    const s = schedule(6, { concurrency: 2 });
    for (let i = 0; i < 6; i++) s.setVisible(`g${i}`, true);
    const first = s.due(0);
    assert.equal(first.length, 2);
    assert.equal(s.nextWake(0), null, 'full: wait for a fetch to end');
    s.done(first[0], 'ok', 100);
    const second = s.due(100);
    assert.equal(second.length, 1);
    assert.ok(!first.includes(second[0]), 'a guest not yet shown goes before one just fetched');
  });

  it('gives up on a guest without a screen until its state changes', () => {
    const s = schedule(1);
    s.setVisible('g0', true);
    s.due(0);
    s.done('g0', 'none', 10);
    assert.equal(s.givenUp('g0'), true);
    assert.deepEqual(s.due(10 + 5 * S), [], 'not asked again while running');
    assert.equal(s.nextWake(10 + 5 * S), null);
    s.update('g0', 'paused', true);
    assert.equal(s.givenUp('g0'), false);
    assert.deepEqual(s.due(10 + 5 * S + 1), ['g0'], 'asked again at once in the new state');
  });

  it('retries a failed fetch after the interval', () => {
    const s = schedule(1);
    s.setVisible('g0', true);
    s.due(0);
    s.done('g0', 'error', 0);
    assert.deepEqual(s.due(S - 1), []);
    assert.deepEqual(s.due(S), ['g0']);
  });

  it('asks again at once after an aborted fetch, and forgets removed guests', () => {
    const s = schedule(2, { concurrency: 1 });
    s.setVisible('g0', true);
    assert.deepEqual(s.due(0), ['g0']);
    s.done('g0', 'aborted', 5);
    assert.deepEqual(s.due(5), ['g0']);
    s.forget('g0');
    assert.equal(s.inFlight, 0);
    s.setVisible('g1', true);
    assert.deepEqual(s.due(6), ['g1']);
  });

  it('stops fetching a guest that scrolled away or stopped', () => {
    const s = schedule(2);
    s.setVisible('g0', true);
    s.setVisible('g1', true);
    s.due(0).forEach((n) => s.done(n, 'ok', 0));
    s.setVisible('g0', false);
    s.update('g1', 'shutoff', false);
    assert.deepEqual(s.due(2 * S), []);
    assert.equal(s.nextWake(2 * S), null);
  });
});
