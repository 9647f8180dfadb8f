import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openPglite } from '../../db/database.js';
import { buildServer } from '../../server.js';
import { createTestDatabase } from '../../test-support/database.js';
import { SYSTEM } from '../../test-support/server.js';
import { ChangeFeed } from '../changes/change-feed.js';
import { createKey } from '../keys/service.js';
import { queryRows } from './query-rows.js';
import {
  exposuresOf,
  type MetricTotals,
  metricTotals,
  metricTotalsSince,
  type StoredExposure,
  trackEventsOf,
} from './store.js';

/** The embedded database always; a real Postgres server too when the suite has one. */
const KINDS = (process.env.DATABASE_URL ?? '') === '' ? ['pglite'] : ['postgres', 'pglite'];

const FLAGS = ['f1', 'f2'] as const;
const EVENTS = ['buy', 'view'] as const;
/** Few units, so that batches keep sharing them. */
const KEYS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'] as const;
const T0 = Date.now() - 3_600_000;

interface Exposure {
  flag: string;
  variant: string;
  key: string;
  timestamp: number;
}
interface Tracked {
  event: string;
  key?: string;
  value?: number;
  timestamp: number;
}
interface Batch {
  exposures: Exposure[];
  events: Tracked[];
  /** Batches of one round are sent at once, each on its own connection. */
  round: number;
  /** Sent again with the same id, at once with the first sending or in a later round. */
  replay: 'no' | 'same-round' | 'later';
}

// Seconds on a coarse grid: ties between an exposure and a track event (which counts: "at or
// after") and between two exposures happen often. Integer values keep every sum exact, so
// totals added batch by batch must equal the raw sums to the last bit.
const at = fc.integer({ min: 0, max: 40 }).map((s) => T0 + s * 1000);
const exposure: fc.Arbitrary<Exposure> = fc.record({
  flag: fc.constantFrom(...FLAGS),
  variant: fc.constantFrom('a', 'a', 'a', 'b'),
  key: fc.constantFrom(...KEYS),
  timestamp: at,
});
const tracked: fc.Arbitrary<Tracked> = fc.record(
  {
    event: fc.constantFrom(...EVENTS),
    key: fc.constantFrom(...KEYS),
    value: fc.integer({ min: -5, max: 50 }),
    timestamp: at,
  },
  { requiredKeys: ['event', 'timestamp'] },
);
const batches = fc.array(
  fc.record({
    exposures: fc.array(exposure, { maxLength: 6 }),
    events: fc.array(tracked, { maxLength: 8 }),
    round: fc.integer({ min: 0, max: 2 }),
    replay: fc.constantFrom<Batch['replay'][]>('no', 'no', 'same-round', 'later'),
  }),
  { minLength: 1, maxLength: 10 },
);

interface UnitTotal {
  flag: string;
  event: string;
  key: string;
  variant: string;
  mixed: boolean;
  events: number;
  total: number;
}

/**
 * The raw computation, from the rows the tables hold: each unit's first exposure per flag (its
 * variant, and whether it saw another), and its track events of each event at or after it.
 * `variant` is left out for a unit seen in several variants: with two exposures at the same
 * first instant its assignment is either, and it counts in no variant anyway.
 */
function rawTotals(exposures: StoredExposure[], events: Awaited<ReturnType<typeof trackEventsOf>>): UnitTotal[] {
  const units = new Map<string, { flag: string; key: string; first: number; variant: string; seen: Set<string> }>();
  for (const e of exposures) {
    const id = `${e.flag}\u0000${e.contextKey}`;
    const t = e.occurredAt.getTime();
    const u = units.get(id) ?? { flag: e.flag, key: e.contextKey, first: t, variant: e.variant, seen: new Set() };
    u.seen.add(e.variant);
    if (t < u.first) Object.assign(u, { first: t, variant: e.variant });
    units.set(id, u);
  }
  const totals = new Map<string, UnitTotal>();
  for (const u of units.values()) {
    for (const e of events) {
      if (e.contextKey !== u.key || e.occurredAt.getTime() < u.first) continue;
      const id = `${u.flag}\u0000${e.event}\u0000${u.key}`;
      const mixed = u.seen.size > 1;
      const row = totals.get(id) ?? {
        flag: u.flag,
        event: e.event,
        key: u.key,
        variant: mixed ? '' : u.variant,
        mixed,
        events: 0,
        total: 0,
      };
      row.events++;
      row.total += e.value ?? 0;
      totals.set(id, row);
    }
  }
  return [...totals.values()].sort(byUnit);
}

const byUnit = (a: UnitTotal, b: UnitTotal) =>
  a.flag.localeCompare(b.flag) || a.event.localeCompare(b.event) || a.key.localeCompare(b.key);

/**
 * What `metricTotals` must answer, from the raw per-unit totals and the raw exposures; with
 * `since`, what `metricTotalsSince` must (units first exposed at or after it only).
 */
function rawMetricTotals(
  exposures: StoredExposure[],
  units: UnitTotal[],
  flag: string,
  event: string,
  since = Number.NEGATIVE_INFINITY,
): MetricTotals {
  const seen = new Map<string, { first: number; variant: string; variants: Set<string> }>();
  for (const e of exposures) {
    if (e.flag !== flag) continue;
    const t = e.occurredAt.getTime();
    const u = seen.get(e.contextKey) ?? { first: t, variant: e.variant, variants: new Set<string>() };
    u.variants.add(e.variant);
    if (t < u.first) Object.assign(u, { first: t, variant: e.variant });
    seen.set(e.contextKey, u);
  }
  const rows = new Map<
    string,
    { variant: string; units: number; conversions: number; sum: number; sumOfSquares: number }
  >();
  let excludedUnits = 0;
  for (const [key, u] of seen) {
    if (u.first < since) continue;
    if (u.variants.size > 1) {
      excludedUnits++;
      continue;
    }
    const row = rows.get(u.variant) ?? { variant: u.variant, units: 0, conversions: 0, sum: 0, sumOfSquares: 0 };
    row.units++;
    const total = units.find((t) => t.flag === flag && t.event === event && t.key === key);
    if (total !== undefined) {
      row.conversions++;
      row.sum += total.total;
      row.sumOfSquares += total.total * total.total;
    }
    rows.set(u.variant, row);
  }
  return { variants: [...rows.values()].sort((a, b) => a.variant.localeCompare(b.variant)), excludedUnits };
}

for (const kind of KINDS) {
  describe(`per-unit metric totals on ${kind}`, () => {
    let database: Database;
    let drop: () => Promise<void>;
    let app: FastifyInstance;
    let base: string;
    let admin: (url: string, payload: object) => Promise<{ token?: string }>;
    let run = 0;

    beforeAll(async () => {
      if (kind === 'postgres') {
        const test = await createTestDatabase();
        database = test.database;
        drop = () => test.drop();
      } else {
        database = await openPglite(undefined);
        await database.migrate();
        drop = () => database.close();
      }
      app = await buildServer({ database, logger: false });
      await app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
      const { token } = await createKey({ db: database.db, feed: new ChangeFeed() }, SYSTEM, {
        name: 'admin',
        type: 'admin',
      });
      admin = async (url, payload) => {
        const res = await fetch(`${base}${url}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify(payload),
        });
        const text = await res.text();
        expect(res.status, text).toBeLessThan(300);
        return JSON.parse(text);
      };
      await admin('/api/v1/projects', { key: 'tot', name: 'Totals' });
    });

    afterAll(async () => {
      await app?.close();
      await drop?.();
    });

    /** A fresh environment per property run, and a server key for it. */
    const environment = async () => {
      const key = `e${run++}`;
      await admin('/api/v1/projects/tot/environments', { key, name: key });
      const { token } = await admin('/api/v1/keys', {
        name: key,
        type: 'server',
        project: 'tot',
        environment: key,
      });
      const [row] = await queryRows<{ id: string }>(
        database.db,
        sql`select e.id from environments e join projects p on p.id = e.project_id where p.key = 'tot' and e.key = ${key}`,
      );
      return { environmentId: row?.id as string, sdkKey: token as string };
    };

    const post = async (sdkKey: string, body: object) => {
      const res = await fetch(`${base}/sdk/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${sdkKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      expect(res.status, text).toBe(202);
      return JSON.parse(text) as { duplicate?: true };
    };

    const storedTotals = async (environmentId: string) =>
      (
        await queryRows<{
          flag: string;
          event: string;
          key: string;
          variant: string;
          mixed: boolean;
          events: string;
          total: number;
        }>(
          database.db,
          sql`select flag, event, context_key as key, variant, mixed, events, total
              from unit_event_totals where environment_id = ${environmentId}`,
        )
      )
        .map((r) => ({ ...r, variant: r.mixed ? '' : r.variant, events: Number(r.events) }))
        .sort(byUnit);

    it('equal the raw computation after out-of-order, concurrent and replayed batches, for all units and for those exposed since a time', async () => {
      await fc.assert(
        fc.asyncProperty(batches, async (sent) => {
          const { environmentId, sdkKey } = await environment();
          const bodies = sent.map((b, i) => ({
            id: `b${i}`,
            window: { start: T0, end: T0 + 60_000 },
            exposures: b.exposures,
            events: b.events,
          }));
          let duplicates = 0;
          for (let round = 0; round <= 3; round++) {
            const now = bodies.flatMap((body, i) => {
              const b = sent[i] as Batch;
              const copies =
                (b.round === round ? 1 : 0) +
                (b.replay === 'same-round' && b.round === round ? 1 : 0) +
                (b.replay === 'later' && b.round + 1 === round ? 1 : 0);
              return Array.from({ length: copies }, () => body);
            });
            const answers = await Promise.all(now.map((body) => post(sdkKey, body)));
            duplicates += answers.filter((a) => a.duplicate === true).length;
          }
          expect(duplicates).toBe(sent.filter((b) => b.replay !== 'no').length);

          const db = database.db;
          const exposures = await exposuresOf(db, environmentId);
          const events = await trackEventsOf(db, environmentId);
          // A replay stored nothing: the raw rows are each batch's once.
          expect(exposures).toHaveLength(sent.reduce((n, b) => n + b.exposures.length, 0));
          expect(events).toHaveLength(sent.reduce((n, b) => n + b.events.length, 0));

          const raw = rawTotals(exposures, events);
          expect(await storedTotals(environmentId)).toEqual(raw);
          for (const flag of FLAGS) {
            for (const event of EVENTS) {
              expect(await metricTotals(db, { environmentId, flag, event })).toEqual(
                rawMetricTotals(exposures, raw, flag, event),
              );
              const since = T0 + 20_000;
              expect(await metricTotalsSince(db, { environmentId, flag, event, since: new Date(since) })).toEqual(
                rawMetricTotals(exposures, raw, flag, event, since),
              );
            }
          }
        }),
        { numRuns: kind === 'postgres' ? 40 : 25 },
      );
    }, 240_000);

    it('count a track event stored before its unit was exposed, from an exposure sent later but earlier in time, when the batches come at once', async () => {
      const { environmentId, sdkKey } = await environment();
      // Each key gets its purchase and its two exposures in three simultaneous batches. The
      // purchase counts only from the earlier exposure: whichever batch commits last must
      // fold in the other two.
      const keys = Array.from({ length: 40 }, (_, i) => `k${String(i).padStart(2, '0')}`);
      const window = { start: T0, end: T0 };
      await Promise.all([
        post(sdkKey, { window, events: keys.map((key) => ({ event: 'buy', key, value: 3, timestamp: T0 + 5000 })) }),
        post(sdkKey, {
          window,
          exposures: keys.map((key) => ({ flag: 'f1', variant: 'a', key, timestamp: T0 + 9000 })),
        }),
        post(sdkKey, {
          window,
          exposures: keys.map((key) => ({ flag: 'f1', variant: 'a', key, timestamp: T0 + 1000 })),
        }),
      ]);
      expect(await metricTotals(database.db, { environmentId, flag: 'f1', event: 'buy' })).toEqual({
        variants: [{ variant: 'a', units: 40, conversions: 40, sum: 120, sumOfSquares: 360 }],
        excludedUnits: 0,
      });
      expect((await storedTotals(environmentId)).map((t) => [t.key, t.events, t.total])).toEqual(
        keys.map((key) => [key, 1, 3]),
      );
    }, 60_000);
  });
}
