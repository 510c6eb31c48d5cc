import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationParts, fileProblem, matchUnfinished, rateMeter, secondsLeft, tusFailure, uploadFormat } from './uploads.js';

/** A tus-js-client DetailedError's shape: the response it carries. */
const failure = (status, body) => ({ originalResponse: { getStatus: () => status, getBody: () => body } });

describe('uploads', () => {
  it('derives the format from the name, as the server does', () => {
    assert.equal(uploadFormat('debian-12.ISO'), 'iso');
    assert.equal(uploadFormat('web.qcow2'), 'qcow2');
    for (const n of ['disk.img', 'disk.raw', 'noext', 'x.qcow2.bak']) assert.equal(uploadFormat(n), 'raw', n);
  });

  it('refuses before a byte what the server would refuse', () => {
    const pool = { available: 1000 };
    assert.equal(fileProblem({ name: 'ok.iso', size: 10 }, pool), null);
    assert.equal(fileProblem({ name: '../x.iso', size: 10 }, pool)?.key, 'storage.create.nameInvalid');
    assert.equal(fileProblem({ name: 'a'.repeat(129), size: 10 }, pool)?.key, 'storage.create.nameTooLong');
    assert.equal(fileProblem({ name: 'big.iso', size: 1001 }, pool)?.key, 'uploads.problem.space');
    assert.equal(fileProblem({ name: 'empty.iso', size: 0 }, pool)?.key, 'uploads.problem.empty');
    assert.equal(fileProblem({ name: 'dup.iso', size: 1 }, pool, new Set(['dup.iso']))?.key, 'uploads.problem.taken');
    assert.equal(fileProblem({ name: 'x.iso', size: 5 }, undefined), null, 'without the pool the server decides');
    assert.equal(fileProblem({ name: 'x.iso', size: 500 }, pool, new Set(), 100)?.key, 'uploads.problem.max');
  });

  it('reads the API error out of a tus failure', () => {
    assert.deepEqual(tusFailure(new Error('offline')), { status: 0, code: 'network', message: '' });
    const f = tusFailure(failure(409, JSON.stringify({ error: { code: 'volume_exists', message: 'pool "p" already has a volume "x"' } })));
    assert.equal(f.status, 409);
    assert.equal(f.code, 'volume_exists');
    assert.ok(f.message.length > 0);
    const proxy = tusFailure(failure(502, '<html>bad gateway</html>'));
    assert.equal(proxy.status, 502);
    assert.equal(proxy.code, '');
    assert.ok(proxy.message.length > 0, 'a non-JSON body still says something');
  });

  it('keeps a steady rate over a window and tells the time left', () => {
    const m = rateMeter(5000);
    assert.equal(m.rate(), null);
    m.add(0, 0);
    m.add(1_000_000, 1000);
    assert.equal(m.rate(), 1_000_000);
    for (let s = 2; s <= 20; s++) m.add(s * 1_000_000, s * 1000);
    assert.equal(m.rate(), 1_000_000, 'old samples leave the window');
    m.reset();
    assert.equal(m.rate(), null);
    assert.equal(secondsLeft(50, 100, 10), 5);
    assert.equal(secondsLeft(100, 100, 10), null);
    assert.equal(secondsLeft(0, 100, null), null);
    assert.deepEqual(durationParts(42), { key: 'uploads.left.seconds', params: { n: 42 } });
    assert.deepEqual(durationParts(150), { key: 'uploads.left.minutes', params: { n: 3 } });
    assert.deepEqual(durationParts(3600 + 20 * 60), { key: 'uploads.left.hours', params: { h: 1, m: 20 } });
    assert.equal(durationParts(null), null);
  });

  it('matches a file chosen again to the unfinished upload it continues', () => {
    const open = [{ pool: 'isos', name: 'a.iso', size: 10 }, { pool: 'isos', name: 'b.iso', size: 20 }];
    assert.equal(matchUnfinished({ name: 'b.iso', size: 20 }, 'isos', open), open[1]);
    assert.equal(matchUnfinished({ name: 'b.iso', size: 21 }, 'isos', open), null, 'another size is another file');
    assert.equal(matchUnfinished({ name: 'b.iso', size: 20 }, 'other', open), null);
  });
});
