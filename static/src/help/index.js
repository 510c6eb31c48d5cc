// The help pages: one per area of the portal, in every language the
// portal speaks, loaded only when someone opens one.

import { FALLBACK_LOCALE, getLocale } from '../lib/i18n.js';

/**
 * @typedef {string|{h: string}|{ul: string[]}} HelpBlock
 *   a paragraph, a heading, or a list
 * @typedef {{title: string, body: HelpBlock[]}} HelpPage
 * @typedef {Record<string, HelpPage>} HelpBook
 */

/** The areas with a help page, each opened from its page's help button. */
export const HELP_AREAS = Object.freeze(['guests', 'templates', 'storage', 'networks', 'host', 'access', 'console']);

/** A loader per language, as the catalogs have (lib/i18n.js CATALOGS). */
export const HELP_BOOKS = Object.freeze({
  en: async () => (await import('./en.js')).default,
  'pt-BR': async () => (await import('./pt-BR.js')).default,
  'zh-CN': async () => (await import('./zh-CN.js')).default,
});

/**
 * The help page of an area in the portal's current language (English
 * when the language has none, which the tests do not let happen).
 * @param {string} area
 * @param {string} [lang]
 * @returns {Promise<{page: HelpPage, lang: string}>}
 */
export async function loadHelp(area, lang = getLocale()) {
  if (!HELP_AREAS.includes(area)) throw new Error(`no help for ${area}`);
  const want = Object.hasOwn(HELP_BOOKS, lang) ? lang : FALLBACK_LOCALE;
  const book = await HELP_BOOKS[want]();
  if (book[area]) return { page: book[area], lang: want };
  return { page: (await HELP_BOOKS[FALLBACK_LOCALE]())[area], lang: FALLBACK_LOCALE };
}

/**
 * The kind of each block, for comparing a translation with English.
 * @param {HelpPage} page
 * @returns {string[]}
 */
export function shape(page) {
  return page.body.map((b) => (typeof b === 'string' ? 'p' : 'h' in b ? 'h' : `ul${b.ul.length}`));
}
