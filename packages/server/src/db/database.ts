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
  /** The connection pool's occupancy, for metrics; absent for the embedded database (one connection, no pool). */
  poolStats?(): PoolStats;
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

export interface PoolStats {
  /** Connections checked out by a query or transaction. */
  inUse: number;
  idle: number;
  /** Queries waiting for a connection. */
  waiting: number;
}

/** The repository's migrations/ folder, from src/db/ and dist/db/ alike. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../../../migrations', import.meta.url));

// Any constant shared by every instance: it serialises concurrent migrations of one database.
const MIGRATION_LOCK = 0x5317_c4a1;

/**
 * How long the server waits on Postgres before it gives up and answers 503. Each is a bound on
 * one way Postgres can fail to answer: down (connect), saturated (acquire), slow (statement),
 * stalled (query: the server never answers at all), or a transaction left open by a client
 * that stopped talking (idle in transaction, whose row locks would block every writer).
 */
export interface PostgresTimeouts {
  /** Opening one new connection. */
  connectMs: number;
  /** Waiting for a pooled connection, opening one included. */
  acquireMs: number;
  /** Postgres cancels a statement running longer (`statement_timeout`); the connection stays usable. */
  statementMs: number;
  /** The client gives up on an answer that does not come; the connection is then discarded. */
  queryMs: number;
  /** Postgres ends a session idle inside a transaction this long (`idle_in_transaction_session_timeout`). */
  idleInTransactionMs: number;
}

export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = {
  connectMs: 500,
  acquireMs: 1000,
  statementMs: 1200,
  queryMs: 1400,
  idleInTransactionMs: 5000,
};

/**
 * Postgres drops a session lock only when it sees the holder's connection end. A holder whose
 * host died or was cut off sends no FIN, and with the kernel's defaults Postgres would notice
 * after about two hours of silence, in which no instance could take the lock over (plans,
 * scheduled changes and webhooks would wait that long). These make Postgres probe the
 * connection after 10 s of silence and give it up after three unanswered probes 5 s apart, or
 * after 30 s of data left unacknowledged: about 25-30 s.
 */
export const LOCK_SESSION_SETTINGS: readonly string[] = [
  'set tcp_keepalives_idle = 10',
  'set tcp_keepalives_interval = 5',
  'set tcp_keepalives_count = 3',
  'set tcp_user_timeout = 30000',
];

export function openPostgres(
  url: string,
  options: { max?: number; onIdleError?: (err: Error) => void; timeouts?: Partial<PostgresTimeouts> } = {},
): Database {
  const timeouts = { ...DEFAULT_POSTGRES_TIMEOUTS, ...options.timeouts };
  const pool = new GuardedPool(
    {
      connectionString: url,
      max: options.max ?? 10,
      connectionTimeoutMillis: timeouts.acquireMs,
      statement_timeout: timeouts.statementMs,
      query_timeout: timeouts.queryMs,
      idle_in_transaction_session_timeout: timeouts.idleInTransactionMs,
      keepAlive: true,
    },
    timeouts.connectMs,
  );
  // An idle connection that Postgres closes (a restart, a failover) is an error event on the
  // pool; unhandled, it would crash the process. The pool replaces it on the next query.
  pool.on('error', options.onIdleError ?? (() => undefined));
  const db = drizzlePg(pool, { schema });
  return {
    db: db as unknown as Db,
    kind: 'postgres',
    async migrate() {
      // Migrations hold a lock other instances wait for and may rewrite large tables: they run on
      // a connection of their own, without the request timeouts.
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeouts.connectMs });
      await client.connect();
      try {
        await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
        await migratePg(drizzlePg(client, { schema }), { migrationsFolder: MIGRATIONS_FOLDER });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
        await client.end();
      }
    },
    close: () => pool.end(),
    poolStats: () => ({
      inUse: pool.totalCount - pool.idleCount,
      idle: pool.idleCount,
      waiting: pool.waitingCount,
    }),
    async tryAdvisoryLock(key) {
      // A dedicated client, not the pool's: a session lock belongs to one connection, and a
      // pooled one would be handed to other queries and could be closed by the pool at will.
      const client = new pg.Client({
        connectionString: url,
        keepAlive: true,
        connectionTimeoutMillis: timeouts.connectMs,
        query_timeout: timeouts.queryMs,
      });
      let lost = false;
      client.on('error', () => {
        lost = true;
      });
      client.on('end', () => {
        lost = true;
      });
      await client.connect();
      try {
        for (const statement of LOCK_SESSION_SETTINGS) await client.query(statement);
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

/**
 * A pool that never keeps a connection it cannot trust, so that it recovers on its own when
 * Postgres comes back. Plain `pg.Pool` falls short three ways: a query that timed out leaves
 * its connection waiting for an answer that may never come, and the next borrower queues
 * behind it; a connection whose socket dies while borrowed emits an error nobody listens to,
 * which ends the process; and a connection drizzle borrowed for a transaction whose `begin`
 * failed is never given back, so each such failure shrinks the pool for good.
 */
class GuardedPool extends pg.Pool {
  constructor(config: pg.PoolConfig, connectMs: number) {
    // The pool's own connection timeout bounds the whole wait for a connection; opening one has
    // its own, shorter bound, so a refused or silent Postgres is noticed before that wait ends.
    class Client extends pg.Client {
      constructor(clientConfig?: pg.ClientConfig) {
        super({ ...clientConfig, connectionTimeoutMillis: connectMs });
      }
    }
    super({ ...config, Client });
    this.on('connect', (client) => {
      client.on('error', () => undefined);
      discardAfterClientSideFailure(client);
    });
  }

  // The callback form is pg-pool's own `query`, which gives the connection back itself.
  // biome-ignore lint/suspicious/noExplicitAny: one implementation of both of pg.Pool's overloads.
  override connect(...args: any[]): any {
    if (args.length > 0) return super.connect(args[0]);
    return super.connect().then(giveBackWhenEnded);
  }
}

/** A borrowed connection that ends goes back to the pool (which drops it) at once, and only once. */
function giveBackWhenEnded(client: pg.PoolClient): pg.PoolClient {
  const release = client.release.bind(client);
  let released = false;
  const giveBack = (err?: Error | boolean) => {
    if (released) return;
    released = true;
    client.removeListener('end', onEnd);
    release(err);
  };
  const onEnd = () => giveBack(new Error('the connection ended while borrowed'));
  client.once('end', onEnd);
  client.release = giveBack;
  return client;
}

/**
 * Ends the connection after a query fails without an answer from Postgres (a read timeout, a
 * broken socket): whatever it was waiting for may still arrive and be taken for the answer to
 * the next query. Errors Postgres itself sent leave the connection as usable as before.
 */
function discardAfterClientSideFailure(client: pg.PoolClient): void {
  const query = client.query;
  let ended = false;
  const check = (err: unknown) => {
    if (ended || err === null || err === undefined || err instanceof pg.DatabaseError) return;
    ended = true;
    client.end().catch(() => undefined);
  };
  // biome-ignore lint/suspicious/noExplicitAny: forwards every overload of pg's query unchanged.
  client.query = function guardedQuery(this: unknown, ...args: any[]): any {
    const last = args.at(-1);
    if (typeof last === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => {
        check(err);
        last(err, result);
      };
      return query.apply(client, args as Parameters<typeof query>);
    }
    const result = query.apply(client, args as Parameters<typeof query>) as unknown;
    if (result instanceof Promise) {
      return result.catch((err: unknown) => {
        check(err);
        throw err;
      });
    }
    return result;
  } as typeof client.query;
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
