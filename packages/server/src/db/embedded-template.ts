import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIGRATIONS_FOLDER, openPglite } from './database.js';

/**
 * Creating an embedded cluster runs initdb in WebAssembly: most of a first start's silence. A
 * tarball of a cluster initialised and migrated once, at `pnpm install`, loads in under half
 * that time (`pnpm bench startup`). It is only valid for the PGlite build and the migrations
 * that made it, so both are in its name; a stale or missing one means initdb as before.
 */
export async function embeddedTemplatePath(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await readdir(MIGRATIONS_FOLDER)).filter((f) => f.endsWith('.sql')).sort()) {
    hash.update(file).update(await readFile(join(MIGRATIONS_FOLDER, file)));
  }
  const pgliteEntry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const pglite = JSON.parse(await readFile(join(dirname(pgliteEntry), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  const cache = fileURLToPath(new URL('../../node_modules/.cache/switchyard/', import.meta.url));
  return join(cache, `embedded-pglite-${pglite.version}-${hash.digest('hex').slice(0, 12)}.tar.gz`);
}

/** Writes the template: an in-memory cluster, migrated, dumped. Written aside and renamed, so a reader never sees half of it. */
export async function writeEmbeddedTemplate(path: string): Promise<void> {
  const database = await openPglite(undefined);
  try {
    await database.migrate();
    const tarball = Buffer.from(await (await database.dump()).arrayBuffer());
    await mkdir(dirname(path), { recursive: true });
    await writeFile(`${path}.partial`, tarball);
    await rename(`${path}.partial`, path);
    // Templates of earlier PGlite versions or migrations are never read again.
    for (const file of await readdir(dirname(path))) {
      if (file.startsWith('embedded-pglite-') && join(dirname(path), file) !== path)
        await rm(join(dirname(path), file), { force: true });
    }
  } finally {
    await database.close();
  }
}

/** The template's bytes, or `undefined` when it was never made for this PGlite and these migrations. */
export async function readEmbeddedTemplate(path: string): Promise<Blob | undefined> {
  try {
    return new Blob([await readFile(path)]);
  } catch {
    return undefined;
  }
}
