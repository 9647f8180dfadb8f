import { and, eq, sql } from 'drizzle-orm';
import type { Db, Tx } from '../../db/database.js';
import { evaluationCounts, eventBatches, exposures, trackEvents } from '../../db/schema.js';
import { queryRows } from './query-rows.js';
import type { EventBatchBody } from './schemas.js';

/** Values of a clamped integer column: a client's drop counter must not overflow `integer`. */
const int32 = (n: number) => Math.min(n, 2_147_483_647);

/** An array bound as one parameter (drizzle would otherwise spread it into a list). */
const array = (values: unknown[]) => sql.param(values);

/**
 * Stores one SDK batch, its counts, track events and exposures in one transaction, each kind
 * with a single insert over `unnest`ed arrays (a multi-row VALUES would run out of the 65,535
 * parameters Postgres allows long before a batch's bound), and keeps each unit's assignment
 * and metric totals up to date in the same transaction. A batch whose `id` this environment
 * has already stored stores nothing: `stored` is false, and nothing is added twice. Every read
 * and write of the event tables lives in this module, the seam where they would move to a
 * column store.
 */
export async function insertBatch(
  db: Db,
  source: { environmentId: string; keyId: string },
  batch: EventBatchBody,
): Promise<{ stored: boolean }> {
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
        clientBatchId: batch.id ?? null,
      })
      .onConflictDoNothing({ target: [eventBatches.environmentId, eventBatches.clientBatchId] })
      .returning({ id: eventBatches.id });
    if (row === undefined) return { stored: false };
    const batchId = row.id;
    const env = source.environmentId;
    const { evaluations, events, exposures } = batch;
    if (evaluations.length > 0) {
      await tx.execute(sql`
        insert into evaluation_counts (batch_id, flag, variant, reason, count)
        select ${batchId}, u.flag, u.variant, u.reason, u.count
        from unnest(${array(evaluations.map((e) => e.flag))}::text[], ${array(evaluations.map((e) => e.variant))}::text[],
                    ${array(evaluations.map((e) => e.reason))}::text[], ${array(evaluations.map((e) => e.count))}::int8[])
             as u(flag, variant, reason, count)`);
    }
    const tracked = events.filter((e): e is typeof e & { key: string } => e.key !== undefined && e.key !== null);
    if (events.length > 0) {
      await tx.execute(sql`
        insert into track_events (environment_id, batch_id, event, context_key, value, occurred_at)
        select ${env}::uuid, ${batchId}, u.event, u.key, u.value, to_timestamp(u.at / 1000.0)
        from unnest(${array(events.map((e) => e.event))}::text[], ${array(events.map((e) => e.key ?? null))}::text[],
                    ${array(events.map((e) => e.value ?? null))}::float8[], ${array(events.map((e) => e.timestamp))}::float8[])
             as u(event, key, value, at)`);
    }
    if (exposures.length > 0) {
      await tx.execute(sql`
        insert into exposures (environment_id, flag, variant, context_key, occurred_at)
        select ${env}::uuid, u.flag, u.variant, u.key, to_timestamp(u.at / 1000.0)
        from unnest(${array(exposures.map((e) => e.flag))}::text[], ${array(exposures.map((e) => e.variant))}::text[],
                    ${array(exposures.map((e) => e.key))}::text[], ${array(exposures.map((e) => e.timestamp))}::float8[])
             as u(flag, variant, key, at)`);
    }
    const units = new Set<string>();
    for (const e of tracked) units.add(e.key);
    for (const e of exposures) units.add(e.key);
    if (units.size > 0) await lockUnits(tx, env, [...units]);
    if (tracked.length > 0) await addTrackedToTotals(tx, env, tracked);
    if (exposures.length > 0) await foldExposures(tx, env, exposures);
    return { stored: true };
  });
}

type Exposure = EventBatchBody['exposures'][number];
type TrackedEvent = EventBatchBody['events'][number] & { key: string };

/**
 * Locks the batch's units (context keys) for the rest of its transaction, creating their lock
 * rows as needed. Everything that reads or writes a unit's `exposure_units` or
 * `unit_event_totals` rows holds its lock first, so a batch that waited for a unit sees, in
 * its next statements, every row of the batches that held it before: a track event and an
 * exposure of one unit in two concurrent batches are always combined by the later one. Keys
 * are locked in one order ("C", bytewise) by every locker, so two batches sharing units cannot
 * deadlock; batches with no unit in common never wait for each other. A false `where` still
 * locks an existing row and writes nothing.
 */
async function lockUnits(tx: Tx, env: string, keys: string[]): Promise<void> {
  await tx.execute(sql`
    insert into event_unit_locks as l (environment_id, context_key)
    select ${env}::uuid, k.key from unnest(${array(keys)}::text[]) as k(key)
    order by k.key collate "C"
    on conflict (environment_id, context_key) do update set context_key = excluded.context_key where false`);
}

/**
 * Adds the batch's track events to the totals of the units already exposed, for each flag,
 * those at or after the unit's first exposure only. Units whose exposure this batch changes
 * are recounted whole right after ({@link foldExposures}), these events included. The lateral
 * subquery with `offset 0` keeps the lookup one index probe per event: knowing the batch's
 * size, the planner would otherwise hash the environment's every exposed unit, per batch.
 */
async function addTrackedToTotals(tx: Tx, env: string, tracked: TrackedEvent[]): Promise<void> {
  await tx.execute(sql`
    insert into unit_event_totals as a (environment_id, flag, event, context_key, variant, mixed, events, total)
    select u.environment_id, u.flag, t.event, u.context_key, u.variant, u.mixed, count(*), coalesce(sum(t.value), 0)
    from unnest(${array(tracked.map((e) => e.event))}::text[], ${array(tracked.map((e) => e.key))}::text[],
                ${array(tracked.map((e) => e.value ?? null))}::float8[], ${array(tracked.map((e) => e.timestamp))}::float8[])
         as t(event, key, value, at)
    cross join lateral (
      select u.environment_id, u.flag, u.context_key, u.variant, u.mixed, u.first_at
      from exposure_units u
      where u.environment_id = ${env}::uuid and u.context_key = t.key collate "C"
      offset 0
    ) u
    where to_timestamp(t.at / 1000.0) >= u.first_at
    group by u.environment_id, u.flag, t.event, u.context_key, u.variant, u.mixed
    order by u.flag, t.event, u.context_key
    on conflict (environment_id, flag, event, context_key) do update
    set events = a.events + excluded.events, total = a.total + excluded.total`);
}

/**
 * Folds the batch's exposures into each unit's running assignment (variant and time of its
 * earliest exposure, and whether it saw another variant), then recounts the totals of every
 * unit whose assignment changed from its stored track events. A first exposure only ever moves
 * earlier, so the recount covers every event the unit's totals held: each of its rows is
 * rewritten, with the new assignment, and none has to be deleted.
 */
async function foldExposures(tx: Tx, env: string, exposures: Exposure[]): Promise<void> {
  await tx.execute(sql`
    with changed as (
      insert into exposure_units as eu (environment_id, flag, context_key, variant, first_at, mixed)
      select ${env}::uuid, u.flag, u.key, (array_agg(u.variant order by u.at))[1], to_timestamp(min(u.at) / 1000.0),
             min(u.variant) <> max(u.variant)
      from unnest(${array(exposures.map((e) => e.flag))}::text[], ${array(exposures.map((e) => e.variant))}::text[],
                  ${array(exposures.map((e) => e.key))}::text[], ${array(exposures.map((e) => e.timestamp))}::float8[])
           as u(flag, variant, key, at)
      group by u.flag, u.key
      order by u.flag, u.key
      on conflict (environment_id, flag, context_key) do update set
        variant = case when excluded.first_at < eu.first_at then excluded.variant else eu.variant end,
        first_at = least(eu.first_at, excluded.first_at),
        mixed = eu.mixed or excluded.mixed or eu.variant <> excluded.variant
      where excluded.mixed or eu.variant <> excluded.variant or excluded.first_at < eu.first_at
      returning eu.environment_id, eu.flag, eu.context_key, eu.variant, eu.first_at, eu.mixed
    )
    insert into unit_event_totals as a (environment_id, flag, event, context_key, variant, mixed, events, total)
    select c.environment_id, c.flag, t.event, c.context_key, c.variant, c.mixed, count(*), coalesce(sum(t.value), 0)
    from changed c
    cross join lateral (
      select t.event, t.value
      from track_events t
      where t.environment_id = c.environment_id and t.context_key = c.context_key and t.occurred_at >= c.first_at
      offset 0
    ) t
    group by c.environment_id, c.flag, t.event, c.context_key, c.variant, c.mixed
    order by c.flag, t.event, c.context_key
    on conflict (environment_id, flag, event, context_key) do update
    set variant = excluded.variant, mixed = excluded.mixed, events = excluded.events, total = excluded.total`);
}

/** Per variant of a flag, over its units exposed to that variant only (see {@link metricTotals}). */
export interface VariantTotalsRow {
  variant: string;
  units: number;
  /** Units that sent the event at least once at or after their first exposure. */
  conversions: number;
  /** Σ and Σ² over units of the sum of the event's values at or after the unit's first exposure. */
  sum: number;
  sumOfSquares: number;
}

export interface MetricTotals {
  variants: VariantTotalsRow[];
  /** Units exposed to more than one variant of the flag: left out of every variant. */
  excludedUnits: number;
}

/** A row of the metric-totals queries, as Postgres answers it (counts come back as text). */
interface MetricTotalsSqlRow {
  variant: string;
  units: string;
  excluded: string;
  conversions: string;
  sum: number;
  sum_of_squares: number;
}

function metricTotalsOf(rows: MetricTotalsSqlRow[]): MetricTotals {
  let excludedUnits = 0;
  const variants: VariantTotalsRow[] = [];
  for (const r of rows) {
    excludedUnits += Number(r.excluded);
    if (Number(r.units) === 0) continue;
    variants.push({
      variant: r.variant,
      units: Number(r.units),
      conversions: Number(r.conversions),
      sum: Number(r.sum),
      sumOfSquares: Number(r.sum_of_squares),
    });
  }
  return { variants, excludedUnits };
}

/**
 * The sums a metric's results are computed from, aggregated in the database: one row per
 * variant comes back, never one per unit. A unit is a context key exposed to the flag; its
 * assignment is the variant it was first exposed to, and a unit exposed to several variants
 * is counted in `excludedUnits` instead. Its track events count from its first exposure on.
 * Units are counted in `exposure_unit_counts`, and each unit's events after its first exposure
 * summed in `unit_event_totals`, both kept at ingestion: the query reads one row per unit that
 * sent the event, with no join, so it costs in proportion to those units.
 */
export async function metricTotals(
  db: Db,
  q: { environmentId: string; flag: string; event: string },
): Promise<MetricTotals> {
  const rows = await queryRows<MetricTotalsSqlRow>(
    db,
    sql`
      with counts as (
        select variant, units, excluded
        from exposure_unit_counts
        where environment_id = ${q.environmentId} and flag = ${q.flag}
      ),
      sums as (
        select variant, count(*) as conversions, sum(total) as sum, sum(total * total) as sum_of_squares
        from unit_event_totals
        where environment_id = ${q.environmentId} and flag = ${q.flag} and event = ${q.event} and not mixed
        group by variant
      )
      select c.variant, c.units, c.excluded, coalesce(s.conversions, 0) as conversions,
             coalesce(s.sum, 0)::float8 as sum, coalesce(s.sum_of_squares, 0)::float8 as sum_of_squares
      from counts c left join sums s on s.variant = c.variant
      order by c.variant`,
  );
  return metricTotalsOf(rows);
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
    .where(eq(trackEvents.environmentId, environmentId))
    .orderBy(trackEvents.batchId, trackEvents.occurredAt);
}

export interface StoredExposure {
  flag: string;
  variant: string;
  contextKey: string;
  occurredAt: Date;
}

export async function exposuresOf(db: Db, environmentId: string): Promise<StoredExposure[]> {
  return db
    .select({
      flag: exposures.flag,
      variant: exposures.variant,
      contextKey: exposures.contextKey,
      occurredAt: exposures.occurredAt,
    })
    .from(exposures)
    .where(eq(exposures.environmentId, environmentId))
    .orderBy(exposures.occurredAt, exposures.flag, exposures.contextKey);
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

/**
 * {@link metricTotals} over the units first exposed at or after `since` only: what a release
 * plan's guards judge, so that nothing from before the plan started counts. Read from
 * `exposure_units` unit by unit (the precounted totals have no time), with each unit's totals
 * for the event, so its cost grows with the units exposed since `since`. Each unit's totals are
 * one probe of their primary key (the lateral subquery with `offset 0`): a plain join let the
 * planner, on tables not yet analyzed (a new deployment, a test database), rescan every total of
 * the flag's event for each unit, and a plan's guard over a few thousand units ran into the
 * statement timeout on every tick, so the plan never moved again.
 */
export async function metricTotalsSince(
  db: Db,
  q: { environmentId: string; flag: string; event: string; since: Date },
): Promise<MetricTotals> {
  const rows = await queryRows<MetricTotalsSqlRow>(
    db,
    sql`
      select u.variant,
             count(*) filter (where not u.mixed) as units,
             count(*) filter (where u.mixed) as excluded,
             count(a.total) filter (where not u.mixed) as conversions,
             coalesce(sum(a.total) filter (where not u.mixed), 0)::float8 as sum,
             coalesce(sum(a.total * a.total) filter (where not u.mixed), 0)::float8 as sum_of_squares
      from exposure_units u
      left join lateral (
        select t.total from unit_event_totals t
        where t.environment_id = u.environment_id and t.flag = u.flag and t.event = ${q.event}
          and t.context_key = u.context_key
        offset 0
      ) a on true
      where u.environment_id = ${q.environmentId} and u.flag = ${q.flag} and u.first_at >= ${q.since.toISOString()}
      group by u.variant
      order by u.variant`,
  );
  return metricTotalsOf(rows);
}

/** Units first exposed to the flag at or after `since`, per assigned variant, those seen in two variants apart. */
export async function exposedUnitsSince(
  db: Db,
  q: { environmentId: string; flag: string; since: Date },
): Promise<{ units: Map<string, number>; excludedUnits: number }> {
  const rows = await queryRows<{ variant: string; units: string; excluded: string }>(
    db,
    sql`
      select variant, count(*) filter (where not mixed) as units, count(*) filter (where mixed) as excluded
      from exposure_units
      where environment_id = ${q.environmentId} and flag = ${q.flag} and first_at >= ${q.since.toISOString()}
      group by variant`,
  );
  const units = new Map<string, number>();
  let excludedUnits = 0;
  for (const r of rows) {
    units.set(r.variant, Number(r.units));
    excludedUnits += Number(r.excluded);
  }
  return { units, excludedUnits };
}
