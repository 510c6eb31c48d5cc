// Builds the browser app: static/src → static/dist (app.js, app.css,
// theme.js, logo.svg, and the chunks app.js loads on demand:
// the consoles, noVNC and xterm.js, which the guest list never pays for).
// `node static/build.mjs [--watch | --dev]` (--dev: inline source maps).
import * as esbuild from 'esbuild';
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
const watch = process.argv.includes('--watch');
// Source maps only for development (--watch or --dev), and then inline: the
// binary of a production build carries and serves none.
const dev = watch || process.argv.includes('--dev');

// Browsers with CSS light-dark(), <dialog> and ES2022 (early 2024 onwards).
const target = ['chrome123', 'edge123', 'firefox120', 'safari17.5'];

const common = {
  bundle: true,
  minify: true,
  sourcemap: dev ? 'inline' : false,
  target,
  logLevel: watch ? 'info' : 'warning',
  // A duplicate key silently drops the first: a merge mistake, never intended.
  logOverride: { 'duplicate-object-key': 'error', 'duplicate-case': 'error' },
  legalComments: 'none',
};

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await copyFile(join(src, 'assets', 'logo.svg'), join(dist, 'logo.svg'));

// The bundle strips license comments: the licenses of the npm packages it
// contains go next to it (served as /static/THIRD-PARTY-LICENSES.txt).
const modules = join(here, '..', 'node_modules');
const licenses = [
  ['@novnc/novnc 1.7.0 (noVNC, MPL-2.0; the chunk vnc-*.js; its source: https://github.com/novnc/noVNC/tree/v1.7.0 and the npm package @novnc/novnc@1.7.0)', '@novnc/novnc/LICENSE.txt'],
  ['MPL-2.0', '@novnc/novnc/docs/LICENSE.MPL-2.0'],
  ['pako (in noVNC, MIT)', '@novnc/novnc/vendor/pako/LICENSE'],
  ['BSD-3-Clause (parts of noVNC)', '@novnc/novnc/docs/LICENSE.BSD-3-Clause'],
  ['noVNC core/crypto/des.js (its notice)', '@novnc/novnc/core/crypto/des.js', 'header'],
  ['@xterm/xterm (xterm.js, MIT; the chunk serial-*.js)', '@xterm/xterm/LICENSE'],
  ['@xterm/addon-fit (MIT; the chunk serial-*.js)', '@xterm/addon-fit/LICENSE'],
  ['tus-js-client 4.3.1 (MIT; the Storage page chunk)', 'tus-js-client/LICENSE'],
  ['js-base64 (in tus-js-client, BSD-3-Clause)', 'js-base64/LICENSE.md'],
  ['url-parse (in tus-js-client, MIT)', 'url-parse/LICENSE'],
  ['querystringify (in url-parse, MIT)', 'querystringify/LICENSE'],
  ['requires-port (in url-parse, MIT)', 'requires-port/LICENSE'],
  ['uPlot 1.6.32 (MIT; the chunk of the pages with charts: Host, a guest\'s Overview)', 'uplot/LICENSE'],
];
const texts = await Promise.all(licenses.map(async ([what, file, part]) => {
  let text = await readFile(join(modules, file), 'utf8');
  if (part === 'header') text = text.slice(0, text.indexOf('*/') + 2); // a source file's leading comment
  return `==== ${what}\n\n${text.trim()}\n`;
}));
await writeFile(join(dist, 'THIRD-PARTY-LICENSES.txt'), texts.join('\n'));

// xterm.js's stylesheet is imported as text by the serial console and
// applied as a constructed stylesheet (CSP: no inline <style>), so it loads
// with that chunk instead of weighing on app.css.
const cssAsText = {
  name: 'css-as-text',
  setup(build) {
    // uPlot's stylesheet likewise travels with the chart chunk.
    build.onLoad({ filter: /([\\/]@xterm[\\/]xterm[\\/]css[\\/]xterm|[\\/]uplot[\\/]dist[\\/]uPlot\.min)\.css$/ }, async (args) => {
      const css = await readFile(args.path, 'utf8');
      const { code } = await esbuild.transform(css, { loader: 'css', minify: true, target });
      return { contents: code, loader: 'text' };
    });
  },
};

const app = {
  ...common,
  entryPoints: { app: join(src, 'main.js') },
  outdir: dist,
  format: 'esm',
  // Dynamic import() becomes a chunk next to app.js, loaded when first needed.
  splitting: true,
  chunkNames: '[name]-[hash]',
  plugins: [cssAsText],
};
// The theme script runs before first paint as a classic script: its imports
// inlined, no map.
const theme = {
  ...common,
  sourcemap: false,
  entryPoints: { theme: join(src, 'boot-theme.js') },
  outdir: dist,
  format: 'iife',
};

/**
 * The chunks each page needs, from esbuild's metafile: the page's own chunk
 * and every chunk it imports statically, transitively. The boot script
 * (theme.js) preloads them for the page being opened, so that they load
 * alongside app.js instead of one import level after another.
 * @param {import('esbuild').Metafile} meta
 * @returns {Record<string, string[]>} page module (pages/NAME.js) → file names in dist
 */
function pageChunks(meta) {
  const outputs = meta.outputs;
  const base = (p) => p.slice(p.lastIndexOf('/') + 1);
  const closure = (out, seen = new Set()) => {
    if (seen.has(out)) return seen;
    seen.add(out);
    for (const imp of outputs[out]?.imports ?? []) if (imp.kind === 'import-statement') closure(imp.path, seen);
    return seen;
  };
  const app = new Set([...closure(Object.keys(outputs).find((o) => base(o) === 'app.js'))]);
  const map = {};
  for (const [out, info] of Object.entries(outputs)) {
    const m = info.entryPoint && /(?:^|\/)src\/pages\/([a-z]+)\.js$/.exec(info.entryPoint);
    if (!m || !out.endsWith('.js')) continue;
    map[m[1]] = [...closure(out)].filter((o) => !app.has(o)).map(base);
  }
  return map;
}

if (watch) {
  const a = await esbuild.context(app);
  const t = await esbuild.context({ ...theme, define: { __PAGE_CHUNKS__: '{}' } });
  await Promise.all([a.watch(), t.watch()]);
  console.log('watching static/src …');
} else {
  const result = await esbuild.build({ ...app, metafile: true });
  await esbuild.build({ ...theme, define: { __PAGE_CHUNKS__: JSON.stringify(pageChunks(result.metafile)) } });
  const chunks = (await readdir(dist)).filter((f) => f.endsWith('.js') && !['app.js', 'theme.js'].includes(f)).sort();
  const sizes = await Promise.all(['app.js', 'app.css', 'theme.js', ...chunks].map(async (f) => `${f} ${((await stat(join(dist, f))).size / 1024).toFixed(1)} KiB`));
  console.log(`static/dist: ${sizes.join(', ')}`);
}
