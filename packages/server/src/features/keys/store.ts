import { and, desc, eq, inArray, isNotNull, isNull, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { apiKeys } from '../../db/schema.js';
import type { KeyType, TokenDigest } from './tokens.js';

export interface ApiKey {
  id: string;
  name: string;
  type: KeyType;
  prefix: string;
  projectId: string | null;
  environmentId: string | null;
  createdAt: Date;
  revokedAt: Date | null;
  revision: number;
}

const columns = {
  id: apiKeys.id,
  name: apiKeys.name,
  type: apiKeys.type,
  prefix: apiKeys.prefix,
  projectId: apiKeys.projectId,
  environmentId: apiKeys.environmentId,
  createdAt: apiKeys.createdAt,
  revokedAt: apiKeys.revokedAt,
  revision: apiKeys.revision,
};

export async function insertKey(
  tx: Db | Tx,
  key: { name: string; type: KeyType; projectId: string | null; environmentId: string | null },
  digest: TokenDigest,
): Promise<ApiKey> {
  const [row] = await tx
    .insert(apiKeys)
    .values({ ...key, prefix: digest.prefix, lookup: digest.lookup, tokenHash: digest.hash })
    .returning(columns);
  return row as ApiKey;
}

/** Active keys whose token hash starts like this one: almost always one row, or none. */
export async function findActiveByLookup(db: Db, lookup: string): Promise<(ApiKey & { tokenHash: string })[]> {
  return db
    .select({ ...columns, tokenHash: apiKeys.tokenHash })
    .from(apiKeys)
    .where(and(eq(apiKeys.lookup, lookup), isNull(apiKeys.revokedAt)));
}

export async function listKeys(db: Db, projectId: string | undefined): Promise<ApiKey[]> {
  const query = db.select(columns).from(apiKeys);
  const rows = projectId === undefined ? await query : await query.where(eq(apiKeys.projectId, projectId));
  return rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
}

export async function findKey(tx: Db | Tx, id: string): Promise<ApiKey | undefined> {
  const [row] = await tx.select(columns).from(apiKeys).where(eq(apiKeys.id, id)).orderBy(desc(apiKeys.createdAt));
  return row;
}

/** The key's row, locked until the transaction ends. */
export async function lockKey(tx: Tx, id: string): Promise<ApiKey | undefined> {
  const [row] = await tx.select(columns).from(apiKeys).where(eq(apiKeys.id, id)).for('update');
  return row;
}

export async function markRevoked(tx: Tx, id: string): Promise<ApiKey> {
  const [row] = await tx
    .update(apiKeys)
    .set({ revokedAt: new Date(), revision: sql`${apiKeys.revision} + 1`, changedAt: sql`clock_timestamp()` })
    .where(eq(apiKeys.id, id))
    .returning(columns);
  return row as ApiKey;
}

export async function countActiveForEnvironment(tx: Tx, environmentId: string): Promise<number> {
  const rows = await tx
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.environmentId, environmentId), isNull(apiKeys.revokedAt)));
  return rows.length;
}

/** Which of these keys are revoked: open streams of such keys are closed. */
export async function revokedAmong(db: Db, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(inArray(apiKeys.id, ids), isNotNull(apiKeys.revokedAt)));
  return rows.map((r) => r.id);
}
