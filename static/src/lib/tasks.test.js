import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clampProgress, isFinal, isPending, mergeTask, pendingCount, sortTasks } from './tasks.js';

const task = (id, status, extra = {}) => ({ id, status, progress: 0, created: '2026-01-01T10:00:00Z', ...extra });

describe('tasks', () => {
  it('tell pending from final', () => {
    assert.deepEqual(['queued', 'running', 'done', 'failed', 'cancelled'].map(isFinal), [false, false, true, true, true]);
    assert.deepEqual(['queued', 'running', 'done', 'failed', 'cancelled'].map(isPending), [true, true, false, false, false]);
  });

  it('merge updates, never going back', () => {
    const m = new Map();
    assert.equal(mergeTask(m, task('a', 'queued')), true);
    assert.equal(mergeTask(m, task('a', 'running', { progress: 40 })), true);
    assert.equal(mergeTask(m, task('a', 'running', { progress: 40 })), false, 'the same again');
    assert.equal(mergeTask(m, task('a', 'running', { progress: 20 })), false, 'an older copy from a list');
    assert.equal(mergeTask(m, task('a', 'queued')), false);
    assert.equal(mergeTask(m, task('a', 'done', { progress: 100 })), true);
    assert.equal(mergeTask(m, task('a', 'running', { progress: 90 })), false);
    assert.equal(m.get('a').status, 'done');
    assert.equal(mergeTask(m, { status: 'running' }), false, 'no id');
    assert.equal(mergeTask(m, null), false);
    mergeTask(m, task(7, 'running'));
    assert.ok(m.has('7'), 'ids are keys as strings');
  });

  it('sort pending first, oldest first, then the finished, newest first', () => {
    const list = [
      task('old-done', 'done', { finished: '2026-01-01T10:05:00Z' }),
      task('run2', 'running', { created: '2026-01-01T10:02:00Z' }),
      task('new-failed', 'failed', { finished: '2026-01-01T10:09:00Z' }),
      task('run1', 'queued', { created: '2026-01-01T10:01:00Z' }),
    ];
    assert.deepEqual(sortTasks(list).map((x) => x.id), ['run1', 'run2', 'new-failed', 'old-done']);
    assert.deepEqual(sortTasks(list, 2).map((x) => x.id), ['run1', 'run2']);
    assert.equal(pendingCount(list), 2);
  });

  it('clamp progress', () => {
    assert.deepEqual([-5, 0, 42.4, 100, 130, NaN, undefined, '55'].map(clampProgress), [0, 0, 42, 100, 100, 0, 0, 55]);
  });
});
