import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setLocale } from './i18n.js';
import {
  formatBytes, formatDateTime, formatFullDateTime, formatList, formatMiB, formatNumber, formatOS, formatPercent, formatRate, formatRelative, formatTime,
} from './format.js';

before(() => setLocale('en'));

describe('formatBytes', () => {
  it('uses binary units with at most three significant digits', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(1023), '1,023 B');
    assert.equal(formatBytes(1024), '1 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(150 * 1024), '150 KiB');
    assert.equal(formatBytes(1024 ** 2), '1 MiB');
    assert.equal(formatBytes(1023.9 * 1024), '1 MiB');
    assert.equal(formatBytes(5.25 * 1024 ** 3), '5.3 GiB');
    assert.equal(formatBytes(3 * 1024 ** 4), '3 TiB');
  });
  it('shows the placeholder for nonsense', () => {
    assert.equal(formatBytes(-1), '—');
    assert.equal(formatBytes(NaN), '—');
    assert.equal(formatBytes(undefined), '—');
  });
});

describe('memory and rates', () => {
  it('formats MiB as the API reports memory', () => {
    assert.equal(formatMiB(512), '512 MiB');
    assert.equal(formatMiB(2048), '2 GiB');
    assert.equal(formatMiB(16384), '16 GiB');
    assert.equal(formatMiB(1536), '1.5 GiB');
  });
  it('formats byte rates', () => {
    assert.equal(formatRate(0), '0 B/s');
    assert.equal(formatRate(1.2 * 1024 * 1024), '1.2 MiB/s');
    assert.equal(formatRate(null), '—');
  });
});

describe('formatPercent', () => {
  it('keeps one decimal below 10 %', () => {
    assert.equal(formatPercent(0), '0%');
    assert.equal(formatPercent(5.25), '5.3%');
    assert.equal(formatPercent(42.4), '42%');
    assert.equal(formatPercent(100), '100%');
    assert.equal(formatPercent(250), '250%');
    assert.equal(formatPercent(NaN), '—');
  });
});

describe('other formatters', () => {
  it('formats numbers, lists, times', () => {
    assert.equal(formatNumber(12345), '12,345');
    assert.equal(formatNumber(Infinity), '—');
    assert.equal(formatList(['admin', 'auditor']), 'admin and auditor');
    assert.equal(formatList([]), '—');
    assert.match(formatTime(new Date(2025, 0, 2, 13, 4, 5)), /^01:04:05\sPM$/);
    assert.match(formatDateTime('2025-01-02T13:04:05Z'), /2025/);
    assert.equal(formatDateTime('not a date'), '—');
  });
  it('names operating systems', () => {
    assert.equal(formatOS({ distro: 'debian', version: '12', arch: 'x86_64' }), 'Debian 12');
    assert.equal(formatOS({ distro: 'opensuse', version: '15.6' }), 'openSUSE 15.6');
    assert.equal(formatOS({ distro: 'haiku' }), 'haiku');
    assert.equal(formatOS(undefined), '—');
    assert.equal(formatOS({}), '—');
  });
});

describe('relative times', () => {
  const now = Date.parse('2025-01-10T12:00:00Z');
  const ago = (s) => formatRelative(new Date(now - s * 1000), now);
  it('says how long ago, in the largest fitting unit', () => {
    assert.equal(ago(10), 'now');
    assert.equal(ago(50), '50 seconds ago');
    assert.equal(ago(5 * 60), '5 minutes ago');
    assert.equal(ago(3 * 3600), '3 hours ago');
    assert.equal(ago(86400), 'yesterday');
    assert.equal(ago(3 * 86400), '3 days ago');
    assert.equal(ago(21 * 86400), '3 weeks ago');
    assert.equal(ago(-120), 'in 2 minutes');
    assert.equal(formatRelative('never', now), '—');
  });
  it('gives the full time with its zone', () => {
    assert.match(formatFullDateTime('2025-01-10T12:00:00Z'), /2025.*\d{2}:\d{2}:\d{2}/);
    assert.equal(formatFullDateTime('nope'), '—');
  });
});
