import { inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { changes, environments } from '../../db/schema.js';
import type { Principal } from '../keys/principal.js';

/** Who makes a write and why: recorded with every audit entry. */
export interface Actor {
  principal: Principal;
  reason: string | undefined;
}

export interface ChangedItem {
  environmentId: string;
  kind: 'flag' | 'segment';
  key: string;
}

/** An environment at a version a committed write produced. */
export interface CommittedVersion {
  environmentId: string;
  version: number;
}

export type CommitListener = (committed: CommittedVersion[]) => void;

const listeners = new WeakMap<Db, Set<CommitListener>>();
const pending = new WeakMap<Tx, Map<string, number>>();

/** Calls `listener` after every committed {@link write} on `db` that changed an environment. */
export function onCommitted(db: Db, listener: CommitListener): () => void {
  let set = listeners.get(db);
  if (set === undefined) {
    set = new Set();
    listeners.set(db, set);
  }
  set.add(listener);
  return () => set.delete(listener);
}

/**
 * Runs `fn` in one transaction. The environment versions it produces are announced to the
 * {@link onCommitted} listeners once the transaction has committed, never before and never
 * for a rolled-back write.
 */
export async function write<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const versions = new Map<string, number>();
  const result = await db.transaction(async (tx) => {
    pending.set(tx, versions);
    return fn(tx);
  });
  if (versions.size > 0) {
    const committed = [...versions].map(([environmentId, version]) => ({ environmentId, version }));
    for (const listener of listeners.get(db) ?? []) {
      // The write has committed: a listener that fails must not turn it into an error answer.
      // Delivery, the listener, catches up through reconciliation anyway.
      try {
        listener(committed);
      } catch {}
    }
  }
  return result;
}

/** Records that this transaction brings an environment to `version` (for writes that do not bump). */
export function noteVersion(tx: Tx, environmentId: string, version: number): void {
  const versions = pending.get(tx);
  if (versions === undefined) throw new Error('noteVersion outside write()');
  versions.set(environmentId, Math.max(version, versions.get(environmentId) ?? 0));
}

/**
 * Bumps the version of each environment by one and returns the new versions. The rows are
 * locked in id order, so two writes touching the same environments cannot deadlock, and a
 * write waits for any other write to the same environment to commit.
 */
export async function bumpVersions(tx: Tx, environmentIds: readonly string[]): Promise<Map<string, number>> {
  const ids = [...new Set(environmentIds)].sort();
  if (ids.length === 0) return new Map();
  await tx.execute(sql`select id from environments where id in ${ids} order by id for update`);
  const rows = await tx
    .update(environments)
    .set({ version: sql`${environments.version} + 1`, updatedAt: new Date() })
    .where(inArray(environments.id, ids))
    .returning({ id: environments.id, version: environments.version });
  for (const r of rows) noteVersion(tx, r.id, r.version);
  return new Map(rows.map((r) => [r.id, r.version]));
}

/** Writes the outbox rows that delivery turns into patches. */
export async function recordChanges(
  tx: Tx,
  items: readonly ChangedItem[],
  versions: Map<string, number>,
): Promise<void> {
  if (items.length === 0) return;
  await tx.insert(changes).values(
    items.map((item) => {
      const version = versions.get(item.environmentId);
      if (version === undefined) throw new Error(`environment ${item.environmentId} was not bumped`);
      return { ...item, version };
    }),
  );
}
