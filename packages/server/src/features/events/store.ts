import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { evaluationCounts, eventBatches, trackEvents } from '../../db/schema.js';
import type { EventBatchBody } from './schemas.js';

/** Values of a clamped integer column: a client's drop counter must not overflow `integer`. */
const int32 = (n: number) => Math.min(n, 2_147_483_647);

/** Stores one SDK batch, its counts and events in one transaction; returns the batch id. */
export async function insertBatch(
  db: Db,
  source: { environmentId: string; keyId: string },
  batch: EventBatchBody,
): Promise<number> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(eventBatches)
      .values({
        environmentId: source.environmentId,
        keyId: source.keyId,
        windowStart: new Date(batch.window.start),
        windowEnd: new Date(batch.window.end),
        droppedEvaluations: int32(batch.dropped.evaluations),
        droppedEvents: int32(batch.dropped.events),
      })
      .returning({ id: eventBatches.id });
    const batchId = (row as { id: number }).id;
    if (batch.evaluations.length > 0) {
      await tx.insert(evaluationCounts).values(
        batch.evaluations.map((e) => ({
          batchId,
          flag: e.flag,
          variant: e.variant,
          reason: e.reason,
          count: e.count,
        })),
      );
    }
    if (batch.events.length > 0) {
      await tx.insert(trackEvents).values(
        batch.events.map((e) => ({
          batchId,
          event: e.event,
          contextKey: e.key ?? null,
          value: e.value ?? null,
          occurredAt: new Date(e.timestamp),
        })),
      );
    }
    return batchId;
  });
}

export interface EvaluationTotal {
  flag: string;
  variant: string | null;
  reason: string;
  count: number;
}

/** Evaluation counts of one environment summed per flag, variant and reason (optionally one flag only). */
export async function evaluationTotals(db: Db, environmentId: string, flag?: string): Promise<EvaluationTotal[]> {
  const rows = await db
    .select({
      flag: evaluationCounts.flag,
      variant: evaluationCounts.variant,
      reason: evaluationCounts.reason,
      count: sql<string>`sum(${evaluationCounts.count})`,
    })
    .from(evaluationCounts)
    .innerJoin(eventBatches, eq(eventBatches.id, evaluationCounts.batchId))
    .where(
      flag === undefined
        ? eq(eventBatches.environmentId, environmentId)
        : and(eq(eventBatches.environmentId, environmentId), eq(evaluationCounts.flag, flag)),
    )
    .groupBy(evaluationCounts.flag, evaluationCounts.variant, evaluationCounts.reason)
    .orderBy(evaluationCounts.flag, evaluationCounts.variant, evaluationCounts.reason);
  return rows.map((r) => ({ ...r, count: Number(r.count) }));
}

export interface StoredTrackEvent {
  event: string;
  contextKey: string | null;
  value: number | null;
  occurredAt: Date;
}

export async function trackEventsOf(db: Db, environmentId: string): Promise<StoredTrackEvent[]> {
  return db
    .select({
      event: trackEvents.event,
      contextKey: trackEvents.contextKey,
      value: trackEvents.value,
      occurredAt: trackEvents.occurredAt,
    })
    .from(trackEvents)
    .innerJoin(eventBatches, eq(eventBatches.id, trackEvents.batchId))
    .where(eq(eventBatches.environmentId, environmentId))
    .orderBy(trackEvents.id);
}

export interface BatchSummary {
  droppedEvaluations: number;
  droppedEvents: number;
}

export async function batchesOf(db: Db, environmentId: string): Promise<BatchSummary[]> {
  return db
    .select({ droppedEvaluations: eventBatches.droppedEvaluations, droppedEvents: eventBatches.droppedEvents })
    .from(eventBatches)
    .where(eq(eventBatches.environmentId, environmentId))
    .orderBy(eventBatches.id);
}
