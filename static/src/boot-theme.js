// Loaded as a classic script in <head> (dist/theme.js) so that a stored theme
// applies before the first paint; the app bundle is a deferred module.
// esbuild inlines the import: the output has none.
import { storedTheme } from './lib/theme.js';

const theme = storedTheme();
if (theme) document.documentElement.dataset.theme = theme;
