// What starts before the app's code has loaded. The boot script
// (boot-theme.js, a classic script in <head>) asks for the session and the
// first page's list, and preloads the first page's chunks; the shell takes
// the answers instead of asking again. So the requests, the list's
// encoding on the server and the module loading overlap rather than follow
// one another. A global is the only channel between the classic boot
// script and the module bundle (CSP: no inline script).

import { matchRoute } from './router.js';

const KEY = '__virtportalEarly';

/**
 * The API paths to ask for at once when opening pathname.
 * @param {string} pathname
 * @returns {string[]}
 */
export function earlyRequestsFor(pathname) {
  if (pathname === '/login' || pathname.startsWith('/api/') || pathname.startsWith('/static/')) return [];
  const name = matchRoute(pathname).name;
  return name === 'guests' || name === 'home' ? ['/api/v1/session', '/api/v1/vms'] : ['/api/v1/session'];
}

/**
 * Start the early requests for this page (the boot script calls this). Each
 * promise resolves to the response, or null on a network failure.
 * @param {string} pathname
 */
export function startEarly(pathname) {
  if (typeof fetch !== 'function') return;
  const pending = new Map();
  for (const path of earlyRequestsFor(pathname)) {
    pending.set(path, fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } }).catch(() => null));
  }
  globalThis[KEY] = pending;
}

/**
 * Take the early request for path (once): null when none was started.
 * @param {string} path e.g. /api/v1/vms
 * @returns {Promise<Response|null>|null}
 */
export function takeEarly(path) {
  /** @type {Map<string, Promise<Response|null>>|undefined} */
  const pending = globalThis[KEY];
  const p = pending?.get(path) ?? null;
  pending?.delete(path);
  return p;
}

/**
 * The chunk files to preload for pathname's page.
 * @param {string} pathname
 * @param {Record<string, string[]>} chunks page module name → files (from the build)
 */
export function preloadsFor(pathname, chunks) {
  if (pathname === '/login') return chunks.login ?? [];
  const name = matchRoute(pathname).name;
  const page = { home: 'guests', templates: 'placeholder', notfound: 'placeholder' }[name] ?? name;
  return chunks[page] ?? [];
}
