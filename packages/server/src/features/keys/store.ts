import { and, desc, eq, gt, inArray, isNotNull, isNull, lt, lte, or, sql } from 'drizzle-orm';
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
  expiresAt: Date | null;
  /** When the secret a rotation replaced stops working; `null` if the key was never rotated. */
  previousExpiresAt: Date | null;
  lastUsedAt: Date | null;
}

/** A key found by its token: which of its secrets to compare the token with. */
export interface KeyCredentials extends ApiKey {
  tokenHash: string;
  previousTokenHash: string | null;
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
  expiresAt: apiKeys.expiresAt,
  previousExpiresAt: apiKeys.previousExpiresAt,
  lastUsedAt: apiKeys.lastUsedAt,
};

/** What a write to a key's grant sets: a new revision, and the stamp every instance's key check polls. */
const changed = () => ({ revision: sql`${apiKeys.revision} + 1`, changedAt: sql`clock_timestamp()` });

export async function insertKey(
  tx: Db | Tx,
  key: { name: string; type: KeyType; projectId: string | null; environmentId: string | null; expiresAt: Date | null },
  digest: TokenDigest,
): Promise<ApiKey> {
  const [row] = await tx
    .insert(apiKeys)
    .values({ ...key, prefix: digest.prefix, lookup: digest.lookup, tokenHash: digest.hash })
    .returning(columns);
  return row as ApiKey;
}

/**
 * Keys that are neither revoked nor expired and whose current secret, or previous secret still
 * in its grace period, has a hash starting like this one: almost always one row, or none.
 */
export async function findActiveByLookup(db: Db, lookup: string): Promise<KeyCredentials[]> {
  return db
    .select({ ...columns, tokenHash: apiKeys.tokenHash, previousTokenHash: apiKeys.previousTokenHash })
    .from(apiKeys)
    .where(
      and(
        isNull(apiKeys.revokedAt),
        or(isNull(apiKeys.expiresAt), gt(apiKeys.expiresAt, sql`now()`)),
        or(
          eq(apiKeys.lookup, lookup),
          and(eq(apiKeys.previousLookup, lookup), gt(apiKeys.previousExpiresAt, sql`now()`)),
        ),
      ),
    );
}

/** The keys of these projects; `undefined`: every key, the organisation's included. */
export async function listKeys(db: Db, projectIds: readonly string[] | undefined): Promise<ApiKey[]> {
  const query = db.select(columns).from(apiKeys);
  if (projectIds?.length === 0) return [];
  const rows = projectIds === undefined ? await query : await query.where(inArray(apiKeys.projectId, [...projectIds]));
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
    .set({ revokedAt: new Date(), ...changed() })
    .where(eq(apiKeys.id, id))
    .returning(columns);
  return row as ApiKey;
}

export async function updateKey(
  tx: Tx,
  id: string,
  patch: { name?: string; expiresAt?: Date | null },
): Promise<ApiKey> {
  const [row] = await tx
    .update(apiKeys)
    .set({ ...patch, ...changed() })
    .where(eq(apiKeys.id, id))
    .returning(columns);
  return row as ApiKey;
}

/** Gives the key a new secret; the one it replaces keeps working for `graceSeconds`. */
export async function rotateSecret(tx: Tx, id: string, digest: TokenDigest, graceSeconds: number): Promise<ApiKey> {
  const [row] = await tx
    .update(apiKeys)
    .set({
      previousLookup: sql`${apiKeys.lookup}`,
      previousTokenHash: sql`${apiKeys.tokenHash}`,
      previousExpiresAt: sql`clock_timestamp() + make_interval(secs => ${graceSeconds})`,
      prefix: digest.prefix,
      lookup: digest.lookup,
      tokenHash: digest.hash,
      ...changed(),
    })
    .where(eq(apiKeys.id, id))
    .returning(columns);
  return row as ApiKey;
}

/** Stamps when these keys were last used: one statement for a whole batch of requests. */
export async function markUsed(db: Db, ids: string[], at: Date): Promise<void> {
  if (ids.length === 0) return;
  await db
    .update(apiKeys)
    .set({ lastUsedAt: at })
    .where(and(inArray(apiKeys.id, ids), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, at))));
}

/** A key whose grant changed, as the key check sees it. */
export interface KeyChange {
  id: string;
  /** Tells one change of the key from the next. */
  stamp: string;
  /** Revoked or expired: its streams close. */
  invalid: boolean;
  /** The grace period of its replaced secret is over: streams opened with that secret close. */
  previousOver: boolean;
}

/**
 * Keys whose grant changed after `since`, or whose expiry or rotation grace period passed
 * since then, and the database's clock now (`since` of the next call). One cheap query,
 * polled by every instance. It looks back 5 s before `since`: `changed_at` is stamped before
 * its transaction commits, so a write committed just after a poll may carry an earlier stamp;
 * a key is then reported by several polls, and the caller tells repeats by their `stamp`.
 */
export async function changedSince(db: Db, since: string | undefined): Promise<{ now: string; changes: KeyChange[] }> {
  const result = (await db.execute(sql`
    with clock as (select clock_timestamp() as now, coalesce(${since ?? null}::timestamptz - interval '5 seconds', clock_timestamp()) as since)
    select clock.now::text as now, k.id,
           k.changed_at::text || '|' || coalesce(k.expires_at::text, '') || '|' || coalesce(k.previous_expires_at::text, '') as stamp,
           (k.revoked_at is not null or k.expires_at <= clock.now) as invalid,
           coalesce(k.previous_expires_at <= clock.now, false) as previous_over
    from clock left join api_keys k
      on k.changed_at > clock.since
      or (k.expires_at > clock.since and k.expires_at <= clock.now)
      or (k.previous_expires_at > clock.since and k.previous_expires_at <= clock.now)`)) as unknown as {
    rows: { now: string; id: string | null; stamp: string; invalid: boolean | null; previous_over: boolean }[];
  };
  const now = result.rows[0]?.now as string;
  const changes: KeyChange[] = [];
  for (const r of result.rows) {
    if (r.id === null) continue;
    changes.push({ id: r.id, stamp: r.stamp, invalid: r.invalid === true, previousOver: r.previous_over });
  }
  return { now, changes };
}

export async function countActiveForEnvironment(tx: Tx, environmentId: string): Promise<number> {
  const rows = await tx
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(eq(apiKeys.environmentId, environmentId), isNull(apiKeys.revokedAt)));
  return rows.length;
}

/** Which of these keys are revoked or expired: open streams of such keys are closed. */
export async function revokedAmong(db: Db, ids: string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .select({ id: apiKeys.id })
    .from(apiKeys)
    .where(and(inArray(apiKeys.id, ids), or(isNotNull(apiKeys.revokedAt), lte(apiKeys.expiresAt, sql`now()`))));
  return rows.map((r) => r.id);
}
