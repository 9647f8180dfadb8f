import { inArray, sql } from 'drizzle-orm';
import type { Tx } from '../../db/database.js';
import { auditEntries, changes, environments } from '../../db/schema.js';
import type { Actor, AuditEntry, AuditRecord, EntryRef } from './commit-change.js';

/**
 * Bumps the version of each environment by one and returns the new versions. The rows are
 * locked in id order, so two writes touching the same environments cannot deadlock, and a
 * write waits for any other write to the same environment to commit.
 */
export async function bumpVersions(tx: Tx, environmentIds: readonly string[]): Promise<Map<string, number>> {
  const ids = [...new Set(environmentIds)];
  if (ids.length === 0) return new Map();
  // The update locks its rows in no set order, so several are locked in id order first. One
  // row's lock cannot be out of order: the update takes it, a round trip fewer in every kill.
  if (ids.length > 1) await lockEnvironments(tx, ids);
  const rows = await tx
    .update(environments)
    .set({ version: sql`${environments.version} + 1`, updatedAt: new Date() })
    .where(inArray(environments.id, ids))
    .returning({ id: environments.id, version: environments.version });
  return new Map(rows.map((r) => [r.id, r.version]));
}

/** Locks the environments' rows in id order until the commit. */
export async function lockEnvironments(tx: Tx, environmentIds: readonly string[]): Promise<void> {
  const ids = [...new Set(environmentIds)].sort();
  if (ids.length > 0) await tx.execute(sql`select id from environments where id in ${ids} order by id for update`);
}

/** The outbox rows that delivery turns into patches. */
export async function insertOutbox(
  tx: Tx,
  entries: readonly EntryRef[],
  versions: ReadonlyMap<string, number>,
): Promise<void> {
  if (entries.length === 0) return;
  await tx.insert(changes).values(
    entries.map((e) => ({
      environmentId: e.environmentId,
      kind: e.kind,
      key: e.key,
      version: versions.get(e.environmentId) as number,
    })),
  );
}

export async function insertAudit(tx: Tx, actor: Actor, records: readonly AuditRecord[]): Promise<AuditEntry[]> {
  const rows = await tx
    .insert(auditEntries)
    .values(
      records.map((r) => ({
        projectId: r.projectId,
        environmentId: r.environmentId ?? null,
        actor: actor.principal.name,
        actorId: actor.principal.id,
        action: r.action,
        targetKind: r.targetKind,
        targetKey: r.targetKey,
        before: r.before ?? null,
        after: r.after ?? null,
        reason: actor.reason ?? null,
      })),
    )
    .returning({ id: auditEntries.id, createdAt: auditEntries.createdAt });
  // Ids come from one sequence in the order of the values, whatever order RETURNING lists them in.
  rows.sort((a, b) => a.id - b.id);
  return rows.map((row, i) => ({
    ...(records[i] as AuditRecord),
    id: row.id,
    createdAt: row.createdAt,
    actor: actor.principal.name,
    actorId: actor.principal.id,
    reason: actor.reason ?? null,
  }));
}
