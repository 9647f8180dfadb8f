import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { type Database, MIGRATIONS_FOLDER, openPglite, openPostgres } from '../db/database.js';

export interface TestDatabase {
  database: Database;
  /** The connection string, when it is a real Postgres database. */
  url: string | undefined;
  drop(): Promise<void>;
}

/** A name that changes whenever a migration does, so an old template is never reused. */
function templateName(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_FOLDER)
    .filter((f) => f.endsWith('.sql'))
    .sort()) {
    hash.update(file).update(readFileSync(join(MIGRATIONS_FOLDER, file)));
  }
  return `switchyard_template_${hash.digest('hex').slice(0, 12)}`;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

// Serialises template creation across vitest's worker processes.
const TEMPLATE_LOCK = 0x5317_7e57;

/**
 * A fresh database for one test file. With `DATABASE_URL`: a new Postgres database cloned from
 * a migrated template (made once). Without it: an in-memory PGlite, migrated.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL;
  if (base === undefined || base === '') {
    const database = await openPglite(undefined);
    await database.migrate();
    return { database, url: undefined, drop: () => database.close() };
  }
  const template = templateName();
  const name = `switchyard_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  try {
    await admin.query('select pg_advisory_lock($1)', [TEMPLATE_LOCK]);
    const exists = await admin.query('select 1 from pg_database where datname = $1', [template]);
    if (exists.rowCount === 0) {
      await admin.query(`create database "${template}_building"`);
      const building = openPostgres(withDatabase(base, `${template}_building`), { max: 1 });
      await building.migrate();
      await building.close();
      await admin.query(`alter database "${template}_building" rename to "${template}"`);
    }
    await admin.query(`create database "${name}" template "${template}"`);
  } finally {
    await admin.query('select pg_advisory_unlock($1)', [TEMPLATE_LOCK]).catch(() => undefined);
    await admin.end();
  }
  const url = withDatabase(base, name);
  const database = openPostgres(url, { max: 5 });
  return {
    database,
    url,
    async drop() {
      await database.close();
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}
