import type { SQL } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';

/** Rows of a raw query, whichever driver answers it (node-postgres and PGlite both return `{rows}`). */
export async function queryRows<T>(db: Db | Tx, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows: T[] };
  return result.rows;
}
