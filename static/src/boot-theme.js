// Loaded as a classic script in <head> (dist/theme.js) so that a stored theme
// applies before the first paint; the app bundle is a deferred module.
// esbuild inlines the imports: the output has none. It also starts what the
// first page needs (lib/early.js): the session and list requests, and
// <link rel="modulepreload"> for the page's chunks (their names come from
// the build: __PAGE_CHUNKS__), so that these load alongside app.js.
import { preloadsFor, startEarly } from './lib/early.js';
import { storedTheme } from './lib/theme.js';

/* global __PAGE_CHUNKS__ */

const theme = storedTheme();
if (theme) document.documentElement.dataset.theme = theme;
startEarly(location.pathname);
const base = document.currentScript?.src ? new URL('.', document.currentScript.src) : null;
if (base) {
  for (const file of preloadsFor(location.pathname, typeof __PAGE_CHUNKS__ === 'object' ? __PAGE_CHUNKS__ : {})) {
    const link = document.createElement('link');
    link.rel = 'modulepreload';
    link.href = new URL(file, base).pathname;
    document.head.append(link);
  }
}
