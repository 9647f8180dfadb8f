import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { type Section, table } from '../report.js';

const CONSOLE = fileURLToPath(new URL('../../../packages/console/', import.meta.url));

/** DESIGN §8: at most 100 KB of gzipped JavaScript on the console's first load (KB as 1 000 bytes). */
export const BUDGET_BYTES = 100_000;

/**
 * The JavaScript a browser fetches before the console's first page shows: the module script
 * and the module preloads that the built `index.html` names. Chunks loaded later on demand are
 * listed apart.
 */
export function firstLoadScripts(html: string): string[] {
  const found = new Set<string>();
  for (const m of html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g)) found.add(m[1] as string);
  for (const m of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)) found.add(m[1] as string);
  return [...found];
}

/** A dependency's version as the console installed it (they are the console's, not the bench's). */
async function consoleDependency(name: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(CONSOLE, 'node_modules', name, 'package.json'), 'utf8'));
  return String(manifest.version);
}

const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} KB`;

/** Builds the console with its own build (Vite, production mode) and weighs what it ships, gzipped at level 9. */
export async function runConsoleBenchmark(log: (line: string) => void): Promise<Section> {
  const out = await mkdtemp(join(tmpdir(), 'switchyard-console-bench-'));
  try {
    log('console: building with vite…');
    const vite = join(CONSOLE, 'node_modules/vite/bin/vite.js');
    await promisify(execFile)(
      process.execPath,
      [vite, 'build', '--outDir', out, '--emptyOutDir', '--logLevel', 'warn'],
      {
        cwd: CONSOLE,
      },
    );
    const html = await readFile(join(out, 'index.html'), 'utf8');
    const first = new Set(firstLoadScripts(html).map((src) => src.replace(/^\//, '')));
    const assets = (await readdir(join(out, 'assets'))).map((f) => `assets/${f}`);
    const rows: string[][] = [];
    let firstGzipped = 0;
    let firstRaw = 0;
    for (const file of assets.sort()) {
      const body = await readFile(join(out, file));
      const gzipped = gzipSync(body, { level: 9 }).length;
      const isJs = file.endsWith('.js');
      const onFirstLoad = first.has(file);
      if (isJs && onFirstLoad) {
        firstGzipped += gzipped;
        firstRaw += body.length;
      }
      rows.push([file, isJs ? (onFirstLoad ? 'first load' : 'on demand') : 'stylesheet', kb(body.length), kb(gzipped)]);
    }
    const verdict = firstGzipped <= BUDGET_BYTES ? 'within' : 'OVER';
    const body = [
      `Console (\`packages/console\`, Preact ${await consoleDependency('preact')}, built by Vite ${await consoleDependency('vite')}): ` +
        `**${kb(firstGzipped)} of gzipped JavaScript on first load** (${kb(firstRaw)} minified), ${verdict} the ` +
        `${kb(BUDGET_BYTES)} budget (DESIGN §8). First load is the module script and module preloads named by the ` +
        'built `index.html`; sizes are gzip level 9 of the files the server sends.',
      '',
      table(['file', 'loaded', 'minified', 'gzipped'], rows, ['left', 'left', 'right', 'right']),
    ].join('\n');
    return { title: 'Console bundle size', body };
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}
