import { and, asc, eq, lte, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { scheduledChanges } from '../../db/schema.js';
import type { ScheduleState } from './schemas.js';

export type ScheduledChange = typeof scheduledChanges.$inferSelect;

export async function insertScheduled(
  tx: Tx,
  row: Pick<
    ScheduledChange,
    | 'projectId'
    | 'flagId'
    | 'environmentId'
    | 'at'
    | 'change'
    | 'ifVersionMoved'
    | 'baseVersion'
    | 'reason'
    | 'scheduledBy'
    | 'scheduledById'
  >,
): Promise<ScheduledChange> {
  const [inserted] = await tx.insert(scheduledChanges).values(row).returning();
  return inserted as ScheduledChange;
}

export async function findScheduled(db: Db | Tx, id: number): Promise<ScheduledChange | undefined> {
  const [row] = await db.select().from(scheduledChanges).where(eq(scheduledChanges.id, id));
  return row;
}

/** The flag's scheduled changes in the environment, soonest first. */
export async function listScheduled(
  db: Db,
  flagId: string,
  environmentId: string,
  q: { state: ScheduleState | undefined; limit: number },
): Promise<ScheduledChange[]> {
  const where = [eq(scheduledChanges.flagId, flagId), eq(scheduledChanges.environmentId, environmentId)];
  if (q.state !== undefined) where.push(eq(scheduledChanges.state, q.state));
  return db
    .select()
    .from(scheduledChanges)
    .where(and(...where))
    .orderBy(asc(scheduledChanges.at), asc(scheduledChanges.id))
    .limit(q.limit);
}

/** Ids of pending changes due at `now`, oldest first. */
export async function dueIds(db: Db, now: Date, limit: number): Promise<number[]> {
  const rows = await db
    .select({ id: scheduledChanges.id })
    .from(scheduledChanges)
    .where(and(eq(scheduledChanges.state, 'pending'), lte(scheduledChanges.at, now)))
    .orderBy(asc(scheduledChanges.at), asc(scheduledChanges.id))
    .limit(limit);
  return rows.map((r) => r.id);
}

/**
 * The pending change, locked until the transaction ends; `undefined` when it is no longer
 * pending or another transaction holds it (it is being applied or cancelled there: this one
 * must not wait to do it twice).
 */
export async function claimPending(tx: Tx, id: number): Promise<ScheduledChange | undefined> {
  const [row] = await tx
    .select()
    .from(scheduledChanges)
    .where(and(eq(scheduledChanges.id, id), eq(scheduledChanges.state, 'pending')))
    .for('update', { skipLocked: true });
  return row;
}

/** The change locked until the transaction ends, whatever its state: a cancellation waits for an application. */
export async function lockScheduled(tx: Tx, id: number): Promise<ScheduledChange | undefined> {
  const [row] = await tx.select().from(scheduledChanges).where(eq(scheduledChanges.id, id)).for('update');
  return row;
}

/** Ends a pending change: its final state, how and by whom. */
export async function settle(
  tx: Tx,
  id: number,
  fields: {
    state: Exclude<ScheduleState, 'pending'>;
    appliedVersion?: number;
    outcome: string;
    settledBy: string;
  },
): Promise<ScheduledChange> {
  const now = new Date();
  const [row] = await tx
    .update(scheduledChanges)
    .set({ ...fields, settledAt: now, updatedAt: now })
    .where(eq(scheduledChanges.id, id))
    .returning();
  return row as ScheduledChange;
}

/** Counts one unexpected failure to apply a pending change; returns the count so far. */
export async function countAttempt(db: Db, id: number): Promise<number> {
  const [row] = await db
    .update(scheduledChanges)
    .set({ attempts: sql`${scheduledChanges.attempts} + 1`, updatedAt: new Date() })
    .where(and(eq(scheduledChanges.id, id), eq(scheduledChanges.state, 'pending')))
    .returning({ attempts: scheduledChanges.attempts });
  return row?.attempts ?? 0;
}
