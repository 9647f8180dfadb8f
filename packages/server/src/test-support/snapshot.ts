import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/database.js';

/** Rows of a raw query, whichever driver answers it (node-postgres and PGlite both return `{rows}`). */
export async function queryRows<T = Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}

const TABLES = [
  'projects',
  'environments',
  'flags',
  'flag_configs',
  'segments',
  'api_keys',
  'audit_entries',
  'changes',
  'metrics',
] as const;

export type DatabaseSnapshot = Record<(typeof TABLES)[number], string[]>;

/**
 * Every row of every table, as JSON text in a stable order: two snapshots are equal exactly
 * when no row was added, removed or changed in between (timestamps and versions included).
 */
export async function snapshotDatabase(db: Db): Promise<DatabaseSnapshot> {
  const out = {} as DatabaseSnapshot;
  for (const table of TABLES) {
    const rows = await queryRows<{ row: string }>(
      db,
      sql`select to_jsonb(t)::text as row from ${sql.identifier(table)} t order by 1`,
    );
    out[table] = rows.map((r) => r.row);
  }
  return out;
}
