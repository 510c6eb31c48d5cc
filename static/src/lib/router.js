// Client-side routes: path → page name and parameters. Pure; the shell
// does the history handling.

/** UI routes; the server serves app.html for each of these paths. */
export const ROUTES = Object.freeze([
  { name: 'guests', pattern: /^\/guests\/?$/ },
  { name: 'guest', pattern: /^\/guests\/([^/]+)\/?$/, params: ['name'] },
  { name: 'templates', pattern: /^\/templates\/?$/ },
  { name: 'storage', pattern: /^\/storage\/?$/ },
  { name: 'networks', pattern: /^\/networks\/?$/ },
  // /host and /hosts show the first host (the one there is, today).
  { name: 'host', pattern: /^\/hosts?\/?$/ },
  { name: 'host', pattern: /^\/hosts\/([^/]+)\/?$/, params: ['name'] },
  { name: 'audit', pattern: /^\/audit\/?$/ },
  { name: 'account', pattern: /^\/account\/?$/ }, // ui: Account page (no nav entry; the user menu links it)
]);

/** The navigation, in display order (route name = nav id). */
export const NAV = Object.freeze(['guests', 'templates', 'storage', 'networks', 'host', 'audit']);

/** Navigation entries only some roles see (the API refuses the others). */
export const NAV_ROLES = Object.freeze({ host: ['admin', 'auditor'], audit: ['admin', 'auditor'] });

/**
 * The navigation entries for a caller with these global roles.
 * @param {string[]} roles
 */
export function navFor(roles) {
  return NAV.filter((id) => !NAV_ROLES[id] || NAV_ROLES[id].some((r) => roles?.includes(r)));
}

/**
 * Match a path.
 * @param {string} path
 * @returns {{name: string, params: Record<string, string>, section: string}}
 *   name "home" for "/", "notfound" for anything else unknown; section is the nav entry
 */
export function matchRoute(path) {
  if (path === '/' || path === '') return { name: 'home', params: {}, section: 'guests' };
  for (const r of ROUTES) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params = {};
    (r.params ?? []).forEach((p, i) => {
      try {
        params[p] = decodeURIComponent(m[i + 1]);
      } catch {
        params[p] = m[i + 1];
      }
    });
    return { name: r.name, params, section: r.name === 'guest' ? 'guests' : r.name };
  }
  return { name: 'notfound', params: {}, section: '' };
}

/** The path of a host's page. */
export function hostPath(name) {
  return '/hosts/' + encodeURIComponent(name);
}

/** The path of a guest's detail page. */
export function guestPath(name) {
  return '/guests/' + encodeURIComponent(name);
}

/** Controls (browsers strip them, joining what they separated), DEL, backslashes (read as slashes). */
const UNSAFE_CHAR = /[\u0000-\u001f\u007f\\]/;

/**
 * A safe place to return to after login: a same-origin path (with query),
 * never another site, never the login page itself; "/" otherwise. The
 * decoded path must already be canonical (no "//", no "." or ".." segment):
 * a browser removes dot segments without collapsing slashes, so
 * "/.//evil.example", "/x/..//evil.example" and "/%2e//evil.example" all
 * become "//evil.example", another site. The server's login page applies
 * the same rule (handlers/next.go safeNext).
 * @param {string|null|undefined} next
 * @param {string} origin e.g. location.origin
 */
export function safeNext(next, origin) {
  if (!next || typeof next !== 'string' || next.length > 2048) return '/';
  // Only absolute paths; "//host" and "/\host" are other sites to a browser.
  if (!next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\') || UNSAFE_CHAR.test(next)) return '/';
  const rawPath = next.split(/[?#]/, 1)[0];
  let path;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return '/';
  }
  if (UNSAFE_CHAR.test(path) || !isCanonical(path)) return '/';
  let u;
  try {
    u = new URL(next, origin);
  } catch {
    return '/';
  }
  if (u.origin !== new URL(origin).origin || u.pathname.startsWith('//')) return '/';
  if (u.pathname === '/login' || u.pathname.startsWith('/login/') || u.pathname.startsWith('/api/')) return '/';
  return u.pathname + u.search + u.hash;
}

/** An absolute path without empty, "." or ".." segments (a trailing slash is fine). */
function isCanonical(path) {
  if (!path.startsWith('/')) return false;
  const segs = path.slice(1).split('/');
  return segs.every((s, i) => (s !== '' || i === segs.length - 1) && s !== '.' && s !== '..');
}
