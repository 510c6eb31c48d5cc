// The Account page's pure parts: the language cookie, the token form's
// checks, and which field an API error belongs to.

import { CATALOGS } from './i18n.js';

/** The cookie the server reads for the page language (handlers/lang.go). */
export const LANG_COOKIE = 'vp_lang';

/** The languages offered: those with a catalog (the server supports the same list). */
export const LANGUAGES = Object.freeze(Object.keys(CATALOGS));

/** Expiry choices of a new token, in days; the server's default is 30. */
export const TOKEN_EXPIRY_DAYS = Object.freeze([7, 30, 90, 180, 365]);
export const DEFAULT_EXPIRY_DAYS = 30;

/** The server's limit on a token's name (services/tokens.MaxNameLen), in characters. */
export const TOKEN_NAME_MAX = 64;

/**
 * The Set-Cookie-like string that stores (or, for '', forgets) the chosen language.
 * @param {string} lang a LANGUAGES entry, or '' for the browser's languages
 * @param {boolean} secure the page is served over HTTPS
 */
export function langCookie(lang, secure) {
  const attrs = `; Path=/; SameSite=Lax${secure ? '; Secure' : ''}`;
  if (!lang || !LANGUAGES.includes(lang)) return `${LANG_COOKIE}=${attrs}; Max-Age=0`;
  return `${LANG_COOKIE}=${lang}${attrs}; Max-Age=${400 * 24 * 3600}`;
}

/**
 * The language stored in document.cookie, if it is one we offer.
 * @param {string} cookies document.cookie
 */
export function storedLang(cookies) {
  for (const part of String(cookies ?? '').split(';')) {
    const [k, v] = part.trim().split('=');
    if (k === LANG_COOKIE && LANGUAGES.includes(v)) return v;
  }
  return '';
}

/**
 * Check a new token's name before asking the server (which checks again).
 * @param {string} name
 * @returns {string|null} a catalog key for the problem, or null
 */
export function tokenNameProblem(name) {
  if (name.trim() === '') return 'account.token.nameRequired';
  if ([...name].length > TOKEN_NAME_MAX) return 'account.token.nameTooLong';
  return null;
}

/**
 * Sort an API error on the token form into messages per field: the 422
 * details by their field, a token_name_invalid or token_expiry_invalid
 * code to its field; anything else for the whole form.
 * @param {{code?: string, message?: string, serverMessage?: string, details?: Array<{field: string, message: string}>}} err
 * @returns {{name?: string, expiry?: string, form?: string}}
 */
export function tokenFormErrors(err) {
  const out = {};
  for (const d of err?.details ?? []) {
    const field = d.field === 'name' ? 'name' : d.field === 'expires_in_days' || d.field === 'expires' ? 'expiry' : 'form';
    out[field] = out[field] ? `${out[field]} ${d.message}` : d.message;
  }
  if (Object.keys(out).length > 0) return out;
  const msg = err?.message || err?.serverMessage || '';
  if (err?.code === 'token_name_invalid' || err?.code === 'invalid_name') return { name: msg };
  if (err?.code === 'token_expiry_invalid') return { expiry: msg };
  return { form: msg };
}

/**
 * Is the token past its expiry?
 * @param {{expires?: string}} token
 * @param {number} [now]
 */
export function tokenExpired(token, now = Date.now()) {
  const t = Date.parse(token?.expires ?? '');
  return Number.isFinite(t) && t <= now;
}
