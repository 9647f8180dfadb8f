import { sql } from 'drizzle-orm';
import type { Db } from '../../db/database.js';
import { queryRows } from './query-rows.js';

/** The tables partitioned by day on `occurred_at` (migrations/0002). */
export const PARTITIONED_TABLES = ['exposures', 'track_events'] as const;

export const DAY_MS = 86_400_000;

/** Days since the epoch, in UTC: partition `d` holds [d·DAY_MS, (d + 1)·DAY_MS). */
export const dayOf = (epochMs: number) => Math.floor(epochMs / DAY_MS);

/** `exposures_p20261204`: the date in the name, so that a listing tells the days apart. */
export function partitionName(table: (typeof PARTITIONED_TABLES)[number], day: number): string {
  return `${table}_p${new Date(day * DAY_MS).toISOString().slice(0, 10).replaceAll('-', '')}`;
}

function dayOfName(name: string): number | undefined {
  const m = /_p(\d{4})(\d{2})(\d{2})$/.exec(name);
  return m === null ? undefined : dayOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

// Serialises partition changes across instances: two of them creating the same day's partition
// would otherwise race between the existence check and the attach.
const PARTITION_LOCK = 0x5317_da75;

/** Units expired per transaction: each holds its units' locks, which ingestion may be waiting for. */
const EXPIRE_CHUNK = 10_000;

export interface PartitionSettings {
  /** Days an event is kept; whole partitions older than that are dropped. */
  retentionDays: number;
  /** Partitions are created this many days ahead of today, so that ingestion rarely creates one. */
  aheadDays: number;
}

/**
 * The daily partitions of the event tables. Ingestion asks for the days of each batch and
 * gets them created on demand; days outside [retention cutoff, today + aheadDays] are not
 * created (a client with a wild clock must not make thousands of tables) and their rows land
 * in the default partition, which retention trims row by row. The days known to exist are
 * cached, so a batch of known days costs no query.
 */
export class EventPartitions {
  private readonly known = new Set<number>();
  private creating: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Db,
    private readonly settings: PartitionSettings,
    private readonly now: () => number,
  ) {}

  /** Makes sure the partitions for these epoch-ms timestamps exist, where they may. */
  async ensureFor(timestamps: Iterable<number>): Promise<void> {
    const today = dayOf(this.now());
    const first = today - this.settings.retentionDays;
    const last = today + this.settings.aheadDays;
    const missing = new Set<number>();
    for (const t of timestamps) {
      const day = dayOf(t);
      if (day >= first && day <= last && !this.known.has(day)) missing.add(day);
    }
    if (missing.size > 0) await this.create([...missing].sort((a, b) => a - b));
  }

  /** Today's partition and those of the next `aheadDays` days. */
  async ensureAhead(): Promise<void> {
    const today = dayOf(this.now());
    const days: number[] = [];
    for (let d = today; d <= today + this.settings.aheadDays; d++) if (!this.known.has(d)) days.push(d);
    if (days.length > 0) await this.create(days);
  }

  /** Partition days of each table, as the database has them. */
  async list(): Promise<Record<(typeof PARTITIONED_TABLES)[number], number[]>> {
    const rows = await queryRows<{ parent: string; child: string }>(
      this.db,
      sql`select p.relname as parent, c.relname as child
          from pg_inherits i join pg_class c on c.oid = i.inhrelid join pg_class p on p.oid = i.inhparent
          where p.relname in ('exposures', 'track_events')`,
    );
    const out = { exposures: [] as number[], track_events: [] as number[] };
    for (const r of rows) {
      const day = dayOfName(r.child);
      if (day !== undefined) out[r.parent as keyof typeof out].push(day);
    }
    out.exposures.sort((a, b) => a - b);
    out.track_events.sort((a, b) => a - b);
    return out;
  }

  /**
   * Drops every partition whose rows are all older than the retention period, trims the
   * default partitions and the batch records alike; returns the dropped partitions' names.
   */
  async dropExpired(): Promise<string[]> {
    const cutoff = this.now() - this.settings.retentionDays * DAY_MS;
    const dropped: string[] = [];
    const partitions = await this.list();
    for (const table of PARTITIONED_TABLES) {
      for (const day of partitions[table]) {
        if ((day + 1) * DAY_MS > cutoff) continue;
        const name = partitionName(table, day);
        await this.db.execute(sql`drop table if exists ${sql.identifier(name)}`);
        this.known.delete(day);
        dropped.push(name);
      }
      await this.db.execute(
        sql`delete from ${sql.identifier(`${table}_default`)} where occurred_at < ${new Date(cutoff)}`,
      );
    }
    await this.expireUnits(new Date(cutoff));
    // Evaluation counts go with their batch (on delete cascade); the batch ids with it, which
    // bounds how long a retried batch is recognised to how long its events are kept.
    await this.db.execute(sql`delete from event_batches where received_at < ${new Date(cutoff)}`);
    return dropped;
  }

  /**
   * A unit first exposed before the cutoff has lost its exposures: it goes, with its metric
   * totals, and counts as a new unit if it is exposed again (its totals then recounted from
   * the track events still kept). Units go a chunk at a time, each under the same unit locks
   * ingestion takes (store.ts), so that no batch adds to a unit's totals while it goes.
   */
  private async expireUnits(cutoff: Date): Promise<void> {
    for (;;) {
      const removed = await this.db.transaction(async (tx) => {
        const units = await queryRows<{ environment_id: string; context_key: string }>(
          tx,
          sql`select l.environment_id, l.context_key from event_unit_locks l
              where exists (select 1 from exposure_units u
                            where u.environment_id = l.environment_id and u.context_key = l.context_key
                              and u.first_at < ${cutoff})
              order by l.environment_id, l.context_key
              limit ${EXPIRE_CHUNK}
              for update of l`,
        );
        if (units.length === 0) return 0;
        const envs = sql.param(units.map((u) => u.environment_id));
        const keys = sql.param(units.map((u) => u.context_key));
        await tx.execute(sql`
          with gone as (
            delete from exposure_units u
            using unnest(${envs}::uuid[], ${keys}::text[]) as k(environment_id, context_key)
            where u.environment_id = k.environment_id and u.context_key = k.context_key collate "C"
              and u.first_at < ${cutoff}
            returning u.environment_id, u.flag, u.context_key
          )
          delete from unit_event_totals t using gone g
          where t.environment_id = g.environment_id and t.flag = g.flag and t.context_key = g.context_key`);
        return units.length;
      });
      if (removed < EXPIRE_CHUNK) break;
    }
    // Lock rows of keys no unit names any more: they hold no data (ingestion creates them again
    // when it needs them), and deleting one takes its lock like any locker.
    await this.db.execute(sql`
      delete from event_unit_locks l
      where not exists (select 1 from exposure_units u
                        where u.environment_id = l.environment_id and u.context_key = l.context_key)`);
  }

  private create(days: number[]): Promise<void> {
    // One creation at a time in this instance: concurrent batches for a new day wait for the
    // first one's creation instead of each taking the lock in turn.
    const run = this.creating.then(() => this.createNow(days.filter((d) => !this.known.has(d))));
    this.creating = run.catch(() => undefined);
    return run;
  }

  private async createNow(days: number[]): Promise<void> {
    for (const day of days) {
      await this.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${PARTITION_LOCK})`);
        for (const table of PARTITIONED_TABLES) {
          const name = partitionName(table, day);
          const [exists] = await queryRows<{ found: string | null }>(
            tx,
            sql`select to_regclass(${name})::text as found`,
          );
          if (exists?.found !== null && exists?.found !== undefined) continue;
          const from = new Date(day * DAY_MS);
          const to = new Date((day + 1) * DAY_MS);
          const parent = sql.identifier(table);
          const child = sql.identifier(name);
          const fallback = sql.identifier(`${table}_default`);
          // Rows of that day may already sit in the default partition (sent while the day was
          // beyond the creation window); attaching a partition over them would fail, so they move.
          await tx.execute(sql`create table ${child} (like ${parent} including defaults)`);
          await tx.execute(
            sql`with moved as (delete from ${fallback} where occurred_at >= ${from} and occurred_at < ${to} returning *)
                insert into ${child} select * from moved`,
          );
          await tx.execute(
            sql`alter table ${parent} attach partition ${child} for values from (${sql.raw(`'${from.toISOString()}'`)}) to (${sql.raw(`'${to.toISOString()}'`)})`,
          );
        }
      });
      this.known.add(day);
    }
  }
}
