// Builds the package twice over: ESM with types by tsc (dist/esm), and CommonJS by esbuild
// (dist/cjs, with @switchyard/core bundled in, since the core ships ESM only) with the same
// declarations marked CommonJS by a package.json of their own.
import { spawnSync } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const root = new URL('..', import.meta.url);
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function run(...args) {
  const result = spawnSync(process.execPath, [tsc, ...args], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

await rm(new URL('dist', root), { recursive: true, force: true });
run('-p', 'tsconfig.build.json');
run('-p', 'tsconfig.build.json', '--emitDeclarationOnly', '--declarationMap', 'false', '--outDir', 'dist/cjs');

const common = {
  absWorkingDir: root.pathname,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // The core from its sources: the bundle then does not depend on the core having been built first.
  conditions: ['source'],
  // The peer dependency is the application's own copy, never bundled.
  external: ['@openfeature/server-sdk', '@openfeature/core'],
};

await build({ ...common, entryPoints: ['src/index.ts'], outfile: 'dist/cjs/index.js' });
await build({
  ...common,
  entryPoints: ['src/openfeature/index.ts'],
  outfile: 'dist/cjs/openfeature/index.js',
  plugins: [
    {
      // The provider uses the package's main entry as is (one client class for both entries).
      name: 'main-entry-external',
      setup(b) {
        b.onResolve({ filter: /^\.\.\/index\.js$/ }, () => ({ path: '../index.js', external: true }));
      },
    },
  ],
});
await mkdir(new URL('dist/cjs', root), { recursive: true });
await writeFile(new URL('dist/cjs/package.json', root), '{ "type": "commonjs" }\n');
