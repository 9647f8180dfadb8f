import { inArray, sql } from 'drizzle-orm';
import type { Tx } from '../../db/database.js';
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
