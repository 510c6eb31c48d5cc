import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Selection, compareValues, deriveRows } from './table.js';

const items = [
  { name: 'web10', cpu: 5, os: 'debian' },
  { name: 'web2', cpu: 50, os: '' },
  { name: 'db1', cpu: 5, os: 'rocky' },
  { name: 'Web3', cpu: null, os: 'alpine' },
];
const columns = [
  { id: 'name', value: (v) => v.name },
  { id: 'cpu', value: (v) => v.cpu },
  { id: 'os', value: (v) => v.os },
  { id: 'len', compare: (a, b) => a.name.length - b.name.length },
];
const key = (v) => v.name;
const names = (rows) => rows.map(key);

describe('compareValues', () => {
  it('orders numbers by value, text naturally and without case, empty last', () => {
    assert.ok(compareValues(2, 10) < 0);
    assert.ok(compareValues('web2', 'web10') < 0);
    assert.equal(compareValues('Web', 'web'), 0);
    assert.ok(compareValues('', 'a') > 0);
    assert.ok(compareValues(null, 0) > 0);
    assert.equal(compareValues(undefined, null), 0);
  });
});

describe('deriveRows', () => {
  const cases = [
    { name: 'no sort, no filter: as given', opts: {}, want: ['web10', 'web2', 'db1', 'Web3'] },
    { name: 'by name, naturally', opts: { sort: { key: 'name' } }, want: ['db1', 'web2', 'Web3', 'web10'] },
    { name: 'by name, descending', opts: { sort: { key: 'name', desc: true } }, want: ['web10', 'Web3', 'web2', 'db1'] },
    { name: 'by a number, ties by key, empty last', opts: { sort: { key: 'cpu' } }, want: ['db1', 'web10', 'web2', 'Web3'] },
    { name: 'descending: ties still by key, empty still last', opts: { sort: { key: 'cpu', desc: true } }, want: ['web2', 'db1', 'web10', 'Web3'] },
    { name: 'empty text sorts last', opts: { sort: { key: 'os' } }, want: ['Web3', 'web10', 'db1', 'web2'] },
    { name: 'a column compare', opts: { sort: { key: 'len' } }, want: ['db1', 'web2', 'Web3', 'web10'] },
    { name: 'an unknown column leaves the order', opts: { sort: { key: 'nope' } }, want: ['web10', 'web2', 'db1', 'Web3'] },
    { name: 'the filter hook, then the sort', opts: { filter: (v) => v.name.toLowerCase().startsWith('web'), sort: { key: 'name' } }, want: ['web2', 'Web3', 'web10'] },
    { name: 'a filter that keeps nothing', opts: { filter: () => false, sort: { key: 'name' } }, want: [] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(names(deriveRows(items, { columns, key, ...c.opts })), c.want));
  }
  it('never changes its input', () => {
    const copy = [...items];
    deriveRows(items, { columns, key, sort: { key: 'name' } });
    assert.deepEqual(items, copy);
  });
  it('sorts 10,000 rows', () => {
    const many = Array.from({ length: 10000 }, (_, i) => ({ name: `g${(i * 7919) % 10000}`, cpu: i % 100, os: '' }));
    const rows = deriveRows(many, { columns, key, sort: { key: 'name' } });
    assert.equal(rows.length, 10000);
    assert.equal(rows[0].name, 'g0');
    assert.equal(rows[9999].name, 'g9999');
  });
});

describe('Selection', () => {
  it('toggles, selects ranges in the order shown, and all shown', () => {
    const s = new Selection();
    const order = ['a', 'b', 'c', 'd', 'e'];
    s.toggle('b');
    assert.deepEqual([...s.keys], ['b']);
    s.range('d', order);
    assert.deepEqual([...s.keys].sort(), ['b', 'c', 'd']);
    assert.equal(s.state(order), 'some');
    s.toggle('c');
    assert.deepEqual([...s.keys].sort(), ['b', 'd']);
    s.toggleAll(order);
    assert.equal(s.state(order), 'all');
    s.toggleAll(order);
    assert.equal(s.state(order), 'none');
    assert.equal(s.size, 0);
  });
  it('a range without an anchor selects one row', () => {
    const s = new Selection();
    s.range('c', ['a', 'b', 'c']);
    assert.deepEqual([...s.keys], ['c']);
  });
  it('select all of a filtered view keeps what is selected elsewhere', () => {
    const s = new Selection();
    s.toggle('z');
    s.toggleAll(['a', 'b']);
    assert.deepEqual([...s.keys].sort(), ['a', 'b', 'z']);
    s.toggleAll(['a', 'b']);
    assert.deepEqual([...s.keys], ['z']);
  });
  it('drops keys that left the list', () => {
    const s = new Selection();
    s.toggle('a');
    s.toggle('b');
    assert.equal(s.prune(['b', 'c']), true);
    assert.deepEqual([...s.keys], ['b']);
    assert.equal(s.anchor, 'b');
    assert.equal(s.prune(new Set(['b'])), false);
    s.prune([]);
    assert.equal(s.anchor, null);
    assert.equal(s.state([]), 'none');
  });
});
