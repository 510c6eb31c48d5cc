import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ApiError, api, configure, parseRetryAfter, request } from './api.js';
import { loadLocale, setLocale } from './i18n.js';

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('30'), 30);
    assert.equal(parseRetryAfter(' 5 '), 5);
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter(''), null);
    assert.equal(parseRetryAfter('soon'), null);
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:42 GMT', now), 42);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
  });
});

describe('request', () => {
  let calls;
  let reply;
  const realFetch = globalThis.fetch;
  beforeEach(() => {
    setLocale('en');
    calls = [];
    reply = () => new Response(JSON.stringify({ ok: true }), { status: 200 });
    globalThis.fetch = async (url, init) => {
      calls.push({ url, init });
      return reply();
    };
    configure({ csrfToken: 'tok', onUnauthorized: null });
  });
  afterEach(() => {
    globalThis.fetch = realFetch;
  });

  it('sends the CSRF token on unsafe methods only, with the cookie', async () => {
    await request('GET', '/vms');
    await api.vmAction('web 01', 'start');
    assert.equal(calls[0].init.headers['X-CSRF-Token'], undefined);
    assert.equal(calls[0].init.credentials, 'same-origin');
    assert.equal(calls[1].url, '/api/v1/vms/web%2001/start');
    assert.equal(calls[1].init.method, 'POST');
    assert.equal(calls[1].init.headers['X-CSRF-Token'], 'tok');
  });

  it('sends JSON bodies and query strings', async () => {
    await api.login('local', 'admin', 'pw');
    assert.equal(calls[0].init.headers['Content-Type'], 'application/json');
    assert.deepEqual(JSON.parse(calls[0].init.body), { realm: 'local', username: 'admin', password: 'pw' });
    reply = () => new Response(null, { status: 204 });
    assert.equal(await api.deleteVM('db', { volumes: true }), null);
    assert.equal(calls[1].url, '/api/v1/vms/db?volumes=true');
    await api.deleteVM('db');
    assert.equal(calls[2].url, '/api/v1/vms/db');
  });

  it('turns the error envelope into an ApiError', async () => {
    reply = () => new Response(JSON.stringify({ error: { code: 'conflict', message: 'guest is running' } }), { status: 409 });
    await assert.rejects(api.deleteVM('web'), (err) => err instanceof ApiError && err.status === 409 &&
      err.code === 'conflict' && err.message === 'guest is running');
  });

  it('translates a known error code and keeps the server message', async () => {
    reply = () => new Response(JSON.stringify({ error: { code: 'guest_running', message: 'domain is running' } }), { status: 409 });
    await assert.rejects(api.deleteVM('web'), (err) => err.code === 'guest_running' &&
      err.message === 'The guest is running. Shut it down or power it off first.' && err.serverMessage === 'domain is running');
    await loadLocale('pt-BR');
    await assert.rejects(api.deleteVM('web'), (err) => err.message === 'A máquina virtual está em execução. Desligue-a primeiro.');
    setLocale('en');
  });

  it('keeps the 422 details', async () => {
    reply = () => new Response(JSON.stringify({ error: { code: 'unprocessable', message: 'bad token', details: [{ field: 'name', message: 'too long' }] } }), { status: 422 });
    await assert.rejects(api.createToken('x'.repeat(99), 30), (err) => err.status === 422 && err.message === 'bad token' &&
      err.details[0].field === 'name');
  });

  it('reads Retry-After of a 429', async () => {
    reply = () => new Response(JSON.stringify({ error: { code: 'too_many_requests', message: 'slow down' } }),
      { status: 429, headers: { 'Retry-After': '17' } });
    await assert.rejects(api.login('local', 'a', 'b'), (err) => err.status === 429 && err.retryAfter === 17);
  });

  it('survives a body that is not JSON', async () => {
    reply = () => new Response('<html>bad gateway</html>', { status: 502 });
    await assert.rejects(request('GET', '/vms'), (err) => err.status === 502 && err.code === 'http_502' && /502/.test(err.message));
  });

  it('reports a network failure as status 0', async () => {
    globalThis.fetch = async () => {
      throw new TypeError('Failed to fetch');
    };
    await assert.rejects(request('GET', '/vms'), (err) => err.status === 0 && err.code === 'network');
  });

  it('lets an abort through as it is', async () => {
    globalThis.fetch = async () => {
      throw new DOMException('aborted', 'AbortError');
    };
    await assert.rejects(request('GET', '/vms'), (err) => err.name === 'AbortError');
  });

  it('calls onUnauthorized on a 401, except for quiet calls', async () => {
    let ended = 0;
    configure({ onUnauthorized: () => ended++ });
    reply = () => new Response(JSON.stringify({ error: { code: 'unauthorized', message: 'no session' } }), { status: 401 });
    await assert.rejects(api.listVMs());
    assert.equal(ended, 1);
    await assert.rejects(api.login('local', 'x', 'y'));
    await assert.rejects(api.session());
    assert.equal(ended, 1);
  });
});
