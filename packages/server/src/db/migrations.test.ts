import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { getTableConfig } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryRows } from '../test-support/snapshot.js';
import { type Database, type Db, MIGRATIONS_FOLDER, openPglite, openPostgres } from './database.js';
import { schema } from './schema.js';

type Kind = 'postgres' | 'pglite';

interface EmptyDatabase {
  /** Another handle on the same database: with Postgres, another pool (another instance). */
  open(): Database;
  drop(): Promise<void>;
}

/** A brand-new, empty database: a Postgres database created here (not cloned from the test template), or an in-memory PGlite. */
async function createEmptyDatabase(kind: Kind): Promise<EmptyDatabase> {
  const base = process.env.DATABASE_URL;
  if (kind === 'pglite' || base === undefined) {
    const database = await openPglite(undefined);
    return { open: () => database, drop: () => database.close() };
  }
  const name = `switchyard_empty_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  const opened: Database[] = [];
  return {
    open() {
      const database = openPostgres(url.toString(), { max: 2 });
      opened.push(database);
      return database;
    },
    async drop() {
      for (const database of opened) await database.close();
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}

/**
 * Tables, columns, constraints and indexes of the public schema, in a stable order. The event
 * tables' daily partitions are the server's to create and drop; only their parents count.
 */
async function describeSchema(db: Db) {
  const columns = await queryRows(
    db,
    sql`select table_name, column_name, data_type, is_nullable, column_default
        from information_schema.columns
        where table_schema = 'public'
          and table_name not in (select relname from pg_class where relispartition)
        order by table_name, column_name`,
  );
  const constraints = await queryRows(
    db,
    sql`select c.conrelid::regclass::text as table_name, c.conname, pg_get_constraintdef(c.oid) as definition
        from pg_constraint c join pg_namespace n on n.oid = c.connamespace
        where n.nspname = 'public' order by 1, 2`,
  );
  const indexes = await queryRows(
    db,
    sql`select tablename, indexname, indexdef from pg_indexes where schemaname = 'public' order by 1, 2`,
  );
  return { columns, constraints, indexes };
}

async function appliedMigrations(db: Db): Promise<number> {
  const rows = await queryRows<{ n: string }>(db, sql`select count(*)::text as n from drizzle.__drizzle_migrations`);
  return Number(rows[0]?.n);
}

const journal: { entries: unknown[] } = JSON.parse(
  readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8'),
);

async function expectMatchesSchemaModule(db: Db) {
  const { columns } = await describeSchema(db);
  for (const table of Object.values(schema)) {
    const config = getTableConfig(table);
    const inDatabase = columns.filter((c) => c.table_name === config.name).map((c) => c.column_name);
    expect(inDatabase.sort(), config.name).toEqual(config.columns.map((c) => c.name).sort());
  }
  const tables = new Set(columns.map((c) => c.table_name));
  expect([...tables].sort()).toEqual(
    Object.values(schema)
      .map((t) => getTableConfig(t).name)
      .sort(),
  );
}

/** The embedded database always; a real Postgres server too when the suite has one. */
const KINDS: Kind[] = (process.env.DATABASE_URL ?? '') === '' ? ['pglite'] : ['postgres', 'pglite'];

for (const kind of KINDS) {
  describe(`migrations on an empty ${kind} database`, () => {
    let empty: EmptyDatabase;
    let database: Database;

    beforeAll(async () => {
      empty = await createEmptyDatabase(kind);
      database = empty.open();
    });

    afterAll(async () => {
      await empty?.drop();
    });

    it('apply and create every table and column of the schema module', async () => {
      expect(await describeSchema(database.db)).toEqual({ columns: [], constraints: [], indexes: [] });
      await database.migrate();
      await expectMatchesSchemaModule(database.db);
      expect(await appliedMigrations(database.db)).toBe(journal.entries.length);
    });

    it('are idempotent: applying them again raises no error and leaves the same schema', async () => {
      const once = await describeSchema(database.db);
      await database.migrate();
      expect(await describeSchema(database.db)).toEqual(once);
      expect(await appliedMigrations(database.db)).toBe(journal.entries.length);
    });

    // Only a server has a second instance to race with: an embedded database belongs to one process.
    if (kind === 'postgres') {
      it('are applied once when two instances start on another empty database at the same time', async () => {
        const other = await createEmptyDatabase(kind);
        try {
          const a = other.open();
          const b = other.open();
          await Promise.all([a.migrate(), b.migrate()]);
          await expectMatchesSchemaModule(a.db);
          expect(await appliedMigrations(b.db)).toBe(journal.entries.length);
        } finally {
          await other.drop();
        }
      });
    }
  });
}
