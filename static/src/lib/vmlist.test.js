import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countGroups, filterVMs, parseSort, sortSpec, sortVMs, toggleSort, viewVMs } from './vmlist.js';

const vm = (name, state, extra = {}) => ({ name, state, vcpus: 1, memory_mib: 1024, cpu_percent: 0, mem_percent: 0, ...extra });
const VMS = [
  vm('web10', 'running', { cpu_percent: 5, memory_mib: 2048, os: { distro: 'debian', version: '12' }, graphics: 'vnc' }),
  vm('web2', 'running', { cpu_percent: 50, memory_mib: 1024, disk_read_bps: 10, net_tx_bps: 3, graphics: 'spice' }),
  vm('db', 'shutoff', { memory_mib: 4096, os: { distro: 'ubuntu', version: '24.04' } }),
  vm('Build', 'paused', { cpu_percent: 0, disk_write_bps: 100 }),
  vm('old', 'crashed'),
  vm('sleepy', 'pmsuspended'),
];
const names = (list) => list.map((v) => v.name);

describe('sort specs', () => {
  it('parses and validates', () => {
    assert.deepEqual(parseSort('name'), { key: 'name', desc: false });
    assert.deepEqual(parseSort('-cpu'), { key: 'cpu', desc: true });
    assert.deepEqual(parseSort('-bogus'), { key: 'name', desc: false });
    assert.deepEqual(parseSort(null), { key: 'name', desc: false });
    assert.equal(sortSpec({ key: 'memory', desc: true }), '-memory');
  });
  it('toggles: text ascending first, numbers descending first, then flips', () => {
    assert.equal(toggleSort('name', 'name'), '-name');
    assert.equal(toggleSort('-name', 'name'), 'name');
    assert.equal(toggleSort('name', 'cpu'), '-cpu');
    assert.equal(toggleSort('-cpu', 'cpu'), 'cpu');
    assert.equal(toggleSort('-cpu', 'state'), 'state');
  });
});

describe('sortVMs', () => {
  it('sorts names naturally and ignores case', () => {
    assert.deepEqual(names(sortVMs(VMS, 'name')), ['Build', 'db', 'old', 'sleepy', 'web2', 'web10']);
    assert.deepEqual(names(sortVMs(VMS, '-name')), ['web10', 'web2', 'sleepy', 'old', 'db', 'Build']);
  });
  it('sorts numbers with ties by name', () => {
    assert.deepEqual(names(sortVMs(VMS, '-cpu')), ['web2', 'web10', 'Build', 'db', 'old', 'sleepy']);
    assert.deepEqual(names(sortVMs(VMS, 'memory')), ['Build', 'old', 'sleepy', 'web2', 'web10', 'db']);
    assert.deepEqual(names(sortVMs(VMS, '-disk')).slice(0, 2), ['Build', 'web2']);
    assert.deepEqual(names(sortVMs(VMS, '-net')).slice(0, 1), ['web2']);
  });
  it('sorts states active first and unknown OS and graphics last', () => {
    assert.deepEqual(names(sortVMs(VMS, 'state')), ['web2', 'web10', 'Build', 'sleepy', 'old', 'db']);
    assert.deepEqual(names(sortVMs(VMS, 'os')).slice(0, 2), ['web10', 'db']);
    assert.deepEqual(names(sortVMs(VMS, 'graphics')).slice(0, 2), ['web2', 'web10']);
  });
  it('does not change its input', () => {
    const copy = [...VMS];
    sortVMs(VMS, '-cpu');
    assert.deepEqual(VMS, copy);
  });
});

describe('filtering and counting', () => {
  it('filters by name, any case, and by state group', () => {
    assert.deepEqual(names(filterVMs(VMS, { q: 'WEB' })), ['web10', 'web2']);
    assert.deepEqual(names(filterVMs(VMS, { q: '  b ' })), ['web10', 'web2', 'db', 'Build']);
    assert.deepEqual(names(filterVMs(VMS, { group: 'running' })), ['web10', 'web2']);
    assert.deepEqual(names(filterVMs(VMS, { group: 'paused' })), ['Build', 'sleepy']);
    assert.deepEqual(names(filterVMs(VMS, { group: 'other' })), ['old']);
    assert.deepEqual(names(filterVMs(VMS, { group: 'nonsense' })), names(VMS));
    assert.deepEqual(names(filterVMs(VMS, { q: 'web', group: 'shutoff' })), []);
  });
  it('counts each group after the name search', () => {
    assert.deepEqual(countGroups(VMS), { all: 6, running: 2, shutoff: 1, paused: 2, other: 1 });
    assert.deepEqual(countGroups(VMS, 'b'), { all: 4, running: 2, shutoff: 1, paused: 1, other: 0 });
  });
  it('builds the view: filter, then sort', () => {
    assert.deepEqual(names(viewVMs(VMS, { q: 'web', sort: '-cpu' })), ['web2', 'web10']);
    assert.deepEqual(names(viewVMs(VMS)), ['Build', 'db', 'old', 'sleepy', 'web2', 'web10']);
  });
  it('keeps 1,000 guests fast', () => {
    const many = Array.from({ length: 1000 }, (_, i) => vm(`g${i}`, i % 3 ? 'running' : 'shutoff', { cpu_percent: (i * 7) % 100 }));
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) viewVMs(many, { q: 'g1', group: 'running', sort: '-cpu' });
    assert.ok(performance.now() - t0 < 500);
  });
});
