import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { releasePlanHistory, releasePlans } from '../../db/schema.js';

export type PlanRow = typeof releasePlans.$inferSelect;
export type PlanState = PlanRow['state'];
export type HistoryRow = typeof releasePlanHistory.$inferSelect;

export const OPEN_STATES: PlanState[] = ['draft', 'running', 'paused'];

/** The newest plan of a flag in an environment, whatever its state. */
export async function latestPlan(db: Db | Tx, flagId: string, environmentId: string): Promise<PlanRow | undefined> {
  const [row] = await db
    .select()
    .from(releasePlans)
    .where(and(eq(releasePlans.flagId, flagId), eq(releasePlans.environmentId, environmentId)))
    .orderBy(desc(releasePlans.createdAt), desc(releasePlans.id))
    .limit(1);
  return row;
}

/** The open plan of a flag in an environment, locked until the transaction ends. */
export async function lockOpenPlan(tx: Tx, flagId: string, environmentId: string): Promise<PlanRow | undefined> {
  const [row] = await tx
    .select()
    .from(releasePlans)
    .where(
      and(
        eq(releasePlans.flagId, flagId),
        eq(releasePlans.environmentId, environmentId),
        inArray(releasePlans.state, OPEN_STATES),
      ),
    )
    .for('update');
  return row;
}

/** Every open plan of a flag, whatever the environment. */
export async function openPlansOfFlag(db: Db | Tx, flagId: string): Promise<PlanRow[]> {
  return db
    .select()
    .from(releasePlans)
    .where(and(eq(releasePlans.flagId, flagId), inArray(releasePlans.state, OPEN_STATES)));
}

export async function findPlan(db: Db | Tx, id: string): Promise<PlanRow | undefined> {
  const [row] = await db.select().from(releasePlans).where(eq(releasePlans.id, id));
  return row;
}

export async function lockPlan(tx: Tx, id: string): Promise<PlanRow | undefined> {
  const [row] = await tx.select().from(releasePlans).where(eq(releasePlans.id, id)).for('update');
  return row;
}

export async function runningPlans(db: Db): Promise<PlanRow[]> {
  return db.select().from(releasePlans).where(eq(releasePlans.state, 'running')).orderBy(asc(releasePlans.createdAt));
}

export async function insertPlan(
  tx: Tx,
  plan: Omit<
    PlanRow,
    'id' | 'createdAt' | 'updatedAt' | 'revision' | 'stage' | 'stageStartedAt' | 'startedAt' | 'measuredBefore'
  >,
): Promise<PlanRow> {
  const [row] = await tx.insert(releasePlans).values(plan).returning();
  return row as PlanRow;
}

/** Writes the plan's new fields and moves its revision on by one. */
export async function updatePlan(tx: Tx, id: string, fields: Partial<PlanRow>): Promise<PlanRow> {
  const [row] = await tx
    .update(releasePlans)
    .set({ ...fields, revision: sql`${releasePlans.revision} + 1`, updatedAt: new Date() })
    .where(eq(releasePlans.id, id))
    .returning();
  return row as PlanRow;
}

export async function insertHistory(tx: Tx, entry: Omit<HistoryRow, 'id' | 'createdAt'>): Promise<void> {
  await tx.insert(releasePlanHistory).values(entry);
}

export async function historyOf(db: Db, planId: string): Promise<HistoryRow[]> {
  return db
    .select()
    .from(releasePlanHistory)
    .where(eq(releasePlanHistory.planId, planId))
    .orderBy(asc(releasePlanHistory.id));
}
