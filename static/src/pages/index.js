// The page registry: route name → a loader that imports the page's module
// on first use (esbuild splits each into a chunk of its own, so the first
// screen loads only what it shows). A page is mount(main, ctx) → {title,
// heading?, unmount(), isDirty?(), confirmLeave?()}. A new page is one line
// here and one route in lib/router.js.

/** @typedef {{title: string, heading?: HTMLElement, unmount: () => void, isDirty?: () => boolean, confirmLeave?: () => Promise<boolean>}} Page */
/** @typedef {(main: HTMLElement, ctx: any) => Page} Mount */

/** @type {Readonly<Record<string, () => Promise<Mount>>>} */
export const PAGES = Object.freeze({
  guests: () => import('./guests.js').then((m) => m.mountGuests),
  guest: () => import('./guest.js').then((m) => m.mountGuest),
  host: () => import('./host.js').then((m) => m.mountHost),
  audit: () => import('./audit.js').then((m) => m.mountAudit),
  account: () => import('./account.js').then((m) => m.mountAccount),
  templates: () => import('./templates.js').then((m) => m.mountTemplates),
  storage: () => import('./storage.js').then((m) => m.mountStorage),
  networks: () => import('./networks.js').then((m) => m.mountNetworks),
  notfound: () => import('./placeholder.js').then((m) => m.mountNotFound),
});

/**
 * The mount function of a route's page (unknown names get the not-found page).
 * @param {string} name
 * @returns {Promise<Mount>}
 */
export function loadPage(name) {
  return (PAGES[name] ?? PAGES.notfound)();
}
