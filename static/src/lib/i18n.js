// The one translation function of the app, t(key, params), and the catalog
// registry. Every string a person reads goes through t().
//
// A catalog is a flat object of dotted keys. A value is either a string with
// {name} placeholders, or a plural object keyed by Intl.PluralRules
// categories ({one, other, …}) chosen by params.count. Numbers passed as
// params are formatted for the locale; strings are inserted as they are.
//
// To add a language: create catalogs/xx.js exporting the same keys as en.js
// (i18n.test.js checks them), register it in CATALOGS below and add it to
// SupportedLangs in handlers/lang.go (account.test.js compares the lists).
// English is bundled; the others are loaded on demand (chunks of their own),
// so a page carries only its own language.

import en from './catalogs/en.js';

/**
 * Registered catalogs by BCP 47 language tag: a loader each. English is
 * complete and is the fallback. The server negotiates the same list.
 */
export const CATALOGS = Object.freeze({
  en: async () => en,
  'pt-BR': async () => (await import('./catalogs/pt-BR.js')).default,
  'zh-CN': async () => (await import('./catalogs/zh-CN.js')).default,
});

/** Catalogs loaded so far. */
const loaded = new Map([['en', en]]);

export const FALLBACK_LOCALE = 'en';

let locale = FALLBACK_LOCALE;
let catalog = en;
let pluralRules = new Intl.PluralRules(locale);
let numberFormat = new Intl.NumberFormat(locale);

/**
 * Choose the best registered catalog for a list of wanted tags (for example
 * [<html lang>, ...navigator.languages]): an exact match first, then the base
 * language ("de" for "de-AT"); English if none fits.
 * @param {Array<string|undefined|null>} wanted
 * @param {Record<string, object>} [catalogs]
 * @returns {string}
 */
export function negotiateLocale(wanted, catalogs = CATALOGS) {
  const tags = wanted.filter(Boolean).map((w) => String(w).trim()).filter(Boolean);
  for (const tag of tags) {
    const exact = Object.keys(catalogs).find((k) => k.toLowerCase() === tag.toLowerCase());
    if (exact) return exact;
  }
  for (const tag of tags) {
    const base = tag.split('-')[0].toLowerCase();
    if (base in catalogs) return base;
    // "pt-PT" reads Brazilian Portuguese rather than English.
    const sibling = Object.keys(catalogs).find((k) => k.split('-')[0].toLowerCase() === base);
    if (sibling) return sibling;
  }
  return FALLBACK_LOCALE;
}

/**
 * Load the catalog of a language (once) and switch to it.
 * @param {string} tag a registered tag or anything negotiateLocale understands
 * @returns {Promise<string>} the locale now in use (English if its catalog fails to load)
 */
export async function loadLocale(tag) {
  const want = negotiateLocale([tag]);
  if (!loaded.has(want)) {
    try {
      loaded.set(want, await CATALOGS[want]());
    } catch {
      return setLocale(FALLBACK_LOCALE);
    }
  }
  return setLocale(want);
}

/**
 * Switch the active language, if its catalog is loaded (else English);
 * updates <html lang> when there is a document.
 * @param {string} tag a registered tag or anything negotiateLocale understands
 * @returns {string} the locale now in use
 */
export function setLocale(tag) {
  locale = negotiateLocale([tag]);
  if (!loaded.has(locale)) locale = FALLBACK_LOCALE;
  catalog = loaded.get(locale);
  pluralRules = new Intl.PluralRules(locale);
  numberFormat = new Intl.NumberFormat(locale);
  if (typeof document !== 'undefined' && document.documentElement) {
    document.documentElement.lang = locale;
  }
  return locale;
}

/** @returns {string} the active locale tag, for Intl formatters. */
export function getLocale() {
  return locale;
}

/**
 * Does the active catalog (or the English fallback) define key?
 * @param {string} key
 */
export function hasKey(key) {
  return Object.hasOwn(catalog, key) || Object.hasOwn(en, key);
}

/**
 * Translate key, filling {placeholders} from params.
 * An unknown key returns the key itself, so a gap shows instead of blanking
 * the UI (the unit tests make sure none ships).
 * @param {string} key
 * @param {Record<string, string|number>} [params]
 * @returns {string}
 */
export function t(key, params) {
  let msg = Object.hasOwn(catalog, key) ? catalog[key] : en[key];
  if (msg === undefined) return key;
  if (typeof msg === 'object') {
    const count = Number(params?.count ?? 0);
    msg = msg[pluralRules.select(count)] ?? msg.other;
  }
  if (!params) return msg;
  return msg.replace(/\{(\w+)\}/g, (whole, name) => {
    if (!Object.hasOwn(params, name)) return whole;
    const v = params[name];
    return typeof v === 'number' ? numberFormat.format(v) : String(v);
  });
}
