// Builds the browser SDK with esbuild (types come from tsc, see package.json):
// - dist/index.js: ESM for bundlers, @switchyard/core left as a dependency;
// - dist/openfeature/index.js: the OpenFeature web provider, a separate subpath entry;
// - dist/switchyard.iife.js: one file for a <script> tag, core included, global `Switchyard`.
// `node scripts/build.mjs [--outdir DIR] [--iife-only]`; the browser tests build into a temporary DIR.
// esbuild bundles and minifies, then terser minifies again: its names for nested functions' locals
// repeat the outer ones', which gzips smaller (about 200 bytes of the 5 KB budget; `pnpm bench
// bundle-size` measures both).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { minify } from 'terser';

const { values } = parseArgs({
  options: { outdir: { type: 'string' }, 'iife-only': { type: 'boolean', default: false } },
});
const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = values.outdir ?? `${root}dist`;

const common = {
  absWorkingDir: root,
  bundle: true,
  minify: true,
  sourcemap: true,
  // Every browser with fetch streams, TextDecoder and optional chaining.
  target: 'es2020',
  platform: 'browser',
  // Sibling workspace packages are bundled from their TypeScript sources, not their builds.
  conditions: ['source'],
  legalComments: 'none',
  logLevel: 'warning',
  outdir,
  write: false,
};

/** Writes esbuild's outputs, each script minified again by terser, its source map carried through. */
async function emit(result, format) {
  const files = new Map(result.outputFiles.map((f) => [f.path, f.text]));
  for (const [path, text] of files) {
    if (!path.endsWith('.js')) continue;
    const name = path.slice(path.lastIndexOf('/') + 1);
    const { code, map } = await minify(text, {
      ecma: 2020,
      module: format === 'esm',
      sourceMap: { content: files.get(`${path}.map`), url: `${name}.map` },
    });
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, code);
    writeFileSync(`${path}.map`, map);
  }
}

const iife = {
  ...common,
  entryPoints: { 'switchyard.iife': 'src/index.ts' },
  format: 'iife',
  globalName: 'Switchyard',
};
const esm = [
  { ...common, entryPoints: { index: 'src/index.ts' }, format: 'esm', external: ['@switchyard/core'] },
  {
    ...common,
    entryPoints: { 'openfeature/index': 'src/openfeature/index.ts' },
    format: 'esm',
    external: ['@switchyard/core', '@switchyard/sdk-browser', '@openfeature/web-sdk'],
  },
];

rmSync(outdir, { recursive: true, force: true });
await Promise.all(
  [iife, ...(values['iife-only'] ? [] : esm)].map(async (options) => emit(await build(options), options.format)),
);
