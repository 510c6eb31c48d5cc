import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appendNow, columns } from './statsdata.js';

test('columns picks the metrics and statistics asked for', () => {
  const h = { t: [60, 120], series: { cpu_percent: { min: [1, 2], mean: [3, 4], max: [5, 6] }, mem_percent: { min: [7, 8], mean: [9, 10], max: [11, 12] } } };
  assert.deepEqual(columns(h, [{ metric: 'cpu_percent' }, { metric: 'mem_percent', stat: 'max' }]), [[60, 120], [3, 4], [11, 12]]);
  assert.deepEqual(columns({}, [{ metric: 'cpu_percent' }]), [[], []]);
});

test('appendNow adds newer samples only and keeps the window', () => {
  const cols = [[100, 101], [1, 2]];
  const at = (s) => new Date(s * 1000).toISOString();
  assert.equal(appendNow(cols, { available: true, at: at(101), cpu_percent: 9 }, ['cpu_percent']), false);
  assert.equal(appendNow(cols, { available: false, at: at(105) }, ['cpu_percent']), false);
  assert.equal(appendNow(cols, { available: true, at: at(102), cpu_percent: 3 }, ['cpu_percent'], 2), true);
  assert.deepEqual(cols, [[101, 102], [2, 3]]);
});
