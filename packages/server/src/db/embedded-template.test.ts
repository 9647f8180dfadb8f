import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { queryRows } from '../test-support/snapshot.js';
import { openPglite } from './database.js';
import { embeddedTemplatePath, readEmbeddedTemplate, writeEmbeddedTemplate } from './embedded-template.js';

const scratch = mkdtempSync(join(tmpdir(), 'switchyard-template-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the embedded database template', () => {
  it('is named after the PGlite version and the migrations, so a changed migration never reuses an old one', async () => {
    expect(await embeddedTemplatePath()).toMatch(/embedded-pglite-\d+\.\d+\.\d+-[0-9a-f]{12}\.tar\.gz$/);
  });

  it('is read as nothing when it was never written', async () => {
    expect(await readEmbeddedTemplate(join(scratch, 'absent.tar.gz'))).toBeUndefined();
  });

  it('gives a new data directory a migrated cluster that keeps its writes across a restart', async () => {
    const path = join(scratch, 'template.tar.gz');
    await writeEmbeddedTemplate(path);
    const template = await readEmbeddedTemplate(path);
    expect(template).toBeDefined();

    const dataDir = join(scratch, 'data');
    const first = await openPglite(dataDir, template === undefined ? {} : { template });
    const countApplied = sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const applied = await queryRows<{ n: number }>(first.db, countApplied);
    expect(applied[0]?.n).toBeGreaterThan(0);
    await first.migrate();
    expect(await queryRows(first.db, countApplied)).toEqual(applied);
    await first.db.execute(sql`insert into projects (key, name) values ('from-template', 'From the template')`);
    await first.close();

    const restarted = await openPglite(dataDir);
    expect(await queryRows(restarted.db, sql`select key from projects`)).toEqual([{ key: 'from-template' }]);
    await restarted.close();
  }, 120_000);
});
