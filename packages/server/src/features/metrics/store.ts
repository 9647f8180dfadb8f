import { and, asc, eq } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { metrics } from '../../db/schema.js';

export interface Metric {
  id: string;
  projectId: string;
  key: string;
  name: string;
  description: string;
  event: string;
  kind: 'conversion' | 'mean';
  direction: 'increase' | 'decrease';
  archived: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export async function findMetric(db: Db | Tx, projectId: string, key: string): Promise<Metric | undefined> {
  const [row] = await db
    .select()
    .from(metrics)
    .where(and(eq(metrics.projectId, projectId), eq(metrics.key, key)));
  return row;
}

/** Holds the metric's row until the transaction ends, so that its audit entry's `before` is what was replaced. */
export async function lockMetric(tx: Tx, projectId: string, key: string): Promise<Metric | undefined> {
  const [row] = await tx
    .select()
    .from(metrics)
    .where(and(eq(metrics.projectId, projectId), eq(metrics.key, key)))
    .for('update');
  return row;
}

export async function listMetrics(db: Db, projectId: string, archived: boolean | undefined): Promise<Metric[]> {
  const where =
    archived === undefined
      ? eq(metrics.projectId, projectId)
      : and(eq(metrics.projectId, projectId), eq(metrics.archived, archived));
  return db.select().from(metrics).where(where).orderBy(asc(metrics.key));
}

export async function insertMetric(
  tx: Tx,
  m: Omit<Metric, 'id' | 'archived' | 'createdAt' | 'updatedAt'>,
): Promise<Metric> {
  const [row] = await tx.insert(metrics).values(m).returning();
  return row as Metric;
}

export async function updateMetric(
  tx: Tx,
  id: string,
  patch: Partial<Pick<Metric, 'name' | 'description' | 'event' | 'kind' | 'direction' | 'archived'>>,
): Promise<Metric> {
  const [row] = await tx
    .update(metrics)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(metrics.id, id))
    .returning();
  return row as Metric;
}
