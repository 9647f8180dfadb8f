import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import pg from 'pg';
import { schema } from './schema.js';

/** The drizzle database, whichever driver is under it: the code above it does not care. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** The transaction handle drizzle passes to `db.transaction`'s callback. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface Database {
  readonly db: Db;
  readonly kind: 'postgres' | 'pglite';
  /** Applies the committed migrations that are not applied yet. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /**
   * Takes the session advisory lock `key` if no other session holds it, on a connection of its
   * own that holds it until released or lost: whoever holds it is the one instance doing a
   * job (driving release plans). `undefined` when another session holds it.
   */
  tryAdvisoryLock(key: number): Promise<HeldLock | undefined>;
}

export interface HeldLock {
  /** Whether the lock's connection still answers: when it does not, Postgres has let the lock go. */
  alive(): Promise<boolean>;
  release(): Promise<void>;
}

/** The repository's migrations/ folder, from src/db/ and dist/db/ alike. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../../migrations', import.meta.url));

// Any constant shared by every instance: it serialises concurrent migrations of one database.
const MIGRATION_LOCK = 0x5317_c4a1;

export function openPostgres(
  url: string,
  options: { max?: number; onIdleError?: (err: Error) => void } = {},
): Database {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10 });
  // An idle connection that Postgres closes (a restart, a failover) is an error event on the
  // pool; unhandled, it would crash the process. The pool replaces it on the next query.
  pool.on('error', options.onIdleError ?? (() => undefined));
  const db = drizzlePg(pool, { schema });
  return {
    db: db as unknown as Db,
    kind: 'postgres',
    async migrate() {
      const client = await pool.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
        await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
        client.release();
      }
    },
    close: () => pool.end(),
    async tryAdvisoryLock(key) {
      // A dedicated client, not the pool's: a session lock belongs to one connection, and a
      // pooled one would be handed to other queries and could be closed by the pool at will.
      const client = new pg.Client({ connectionString: url });
      let lost = false;
      client.on('error', () => {
        lost = true;
      });
      client.on('end', () => {
        lost = true;
      });
      await client.connect();
      try {
        const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1) as locked', [key]);
        if (rows[0]?.locked !== true) {
          await client.end();
          return undefined;
        }
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      return {
        async alive() {
          if (lost) return false;
          try {
            await client.query('select 1');
            return true;
          } catch {
            lost = true;
            return false;
          }
        },
        async release() {
          lost = true;
          await client.end().catch(() => undefined);
        },
      };
    },
  };
}

/** The embedded database, which can also be written out as a tarball of its cluster. */
export interface PgliteDatabase extends Database {
  dump(): Promise<Blob>;
}

/**
 * An embedded database in `dataDir`, or in memory when `dataDir` is undefined. A new cluster is
 * created by initdb, or loaded from `template` (a tarball {@link PgliteDatabase.dump} wrote).
 */
export async function openPglite(
  dataDir: string | undefined,
  options: { template?: Blob } = {},
): Promise<PgliteDatabase> {
  const settings = options.template === undefined ? {} : { loadDataDir: options.template };
  const client = new PGlite(dataDir, settings);
  await client.waitReady;
  const db = drizzlePglite(client, { schema });
  return {
    db: db as unknown as Db,
    kind: 'pglite',
    migrate: () => migratePglite(db, { migrationsFolder: MIGRATIONS_FOLDER }),
    dump: () => client.dumpDataDir('gzip'),
    close: () => client.close(),
    // One process owns an embedded database: its one server is always the one doing the job.
    tryAdvisoryLock: async () => ({ alive: async () => !client.closed, release: async () => undefined }),
  };
}

export async function ping(db: Db): Promise<void> {
  await db.execute(sql`select 1`);
}
