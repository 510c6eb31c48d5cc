// Builds the browser app: static/src → static/dist (app.js, app.css,
// theme.js, logo.svg, source maps). `node static/build.mjs [--watch]`.
import * as esbuild from 'esbuild';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const src = join(here, 'src');
const dist = join(here, 'dist');
const watch = process.argv.includes('--watch');

// Browsers with CSS light-dark(), <dialog> and ES2022 (early 2024 onwards).
const target = ['chrome123', 'edge123', 'firefox120', 'safari17.5'];

const common = {
  bundle: true,
  minify: true,
  sourcemap: 'linked',
  target,
  logLevel: watch ? 'info' : 'warning',
  legalComments: 'none',
};

await rm(dist, { recursive: true, force: true });
await mkdir(dist, { recursive: true });
await copyFile(join(src, 'assets', 'logo.svg'), join(dist, 'logo.svg'));

const app = {
  ...common,
  entryPoints: { app: join(src, 'main.js') },
  outdir: dist,
  format: 'esm',
};
// The theme script runs before first paint as a classic script: no imports, no map.
const theme = {
  ...common,
  sourcemap: false,
  entryPoints: { theme: join(src, 'boot-theme.js') },
  outdir: dist,
  format: 'iife',
};

if (watch) {
  const a = await esbuild.context(app);
  const t = await esbuild.context(theme);
  await Promise.all([a.watch(), t.watch()]);
  console.log('watching static/src …');
} else {
  await Promise.all([esbuild.build(app), esbuild.build(theme)]);
  const sizes = await Promise.all(['app.js', 'app.css', 'theme.js'].map(async (f) => `${f} ${((await stat(join(dist, f))).size / 1024).toFixed(1)} KiB`));
  console.log(`static/dist: ${sizes.join(', ')}`);
}
