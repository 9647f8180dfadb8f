import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openPglite } from '../../db/database.js';
import { buildServer } from '../../server.js';
import { createTestDatabase } from '../../test-support/database.js';
import { SYSTEM } from '../../test-support/server.js';
import { ChangeFeed } from '../changes/change-feed.js';
import { createKey } from '../keys/service.js';
import { queryRows } from './query-rows.js';

const day = (d: number, hour = 12) => Date.UTC(2026, 0, d, hour);

/** The embedded database always; a real Postgres server too when the suite has one. */
const KINDS = (process.env.DATABASE_URL ?? '') === '' ? ['pglite'] : ['postgres', 'pglite'];

for (const kind of KINDS) {
  describe(`event retention on ${kind}`, () => {
    let database: Database;
    let drop: () => Promise<void>;
    let app: FastifyInstance;
    let now = day(10);
    let sdkKey: string;

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
      app = await buildServer({ database, events: { retentionDays: 3, now: () => now } });
      const { token } = await createKey({ db: database.db, feed: new ChangeFeed() }, SYSTEM, {
        name: 'admin',
        type: 'admin',
      });
      const admin = async (url: string, payload: object) => {
        const res = await app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${token}` }, payload });
        expect(res.statusCode, res.body).toBeLessThan(300);
        return res.json();
      };
      await admin('/api/v1/projects', { key: 'ret', name: 'Retention' });
      await admin('/api/v1/projects/ret/environments', { key: 'prod', name: 'Production' });
      sdkKey = (await admin('/api/v1/keys', { name: 'srv', type: 'server', project: 'ret', environment: 'prod' }))
        .token;
    });

    afterAll(async () => {
      await app?.close();
      await drop?.();
    });

    const send = async (timestamps: number[]) => {
      const res = await app.inject({
        method: 'POST',
        url: '/sdk/v1/events',
        headers: { authorization: `Bearer ${sdkKey}` },
        payload: {
          window: { start: now, end: now },
          exposures: timestamps.map((t, i) => ({ flag: 'f', variant: 'on', key: `u${i}`, timestamp: t })),
          events: timestamps.map((t, i) => ({ event: 'e', key: `u${i}`, timestamp: t })),
        },
      });
      expect(res.statusCode, res.body).toBe(202);
    };

    /** Each stored exposure's day of the month and the table that holds it. */
    const placed = (table: 'exposures' | 'track_events') =>
      queryRows<{ day: number; part: string }>(
        database.db,
        sql`select extract(day from occurred_at at time zone 'UTC')::int as day, tableoid::regclass::text as part
            from ${sql.identifier(table)} order by occurred_at`,
      );

    /** Each unit's stored totals of event `e` (one flag, one event): its key and how many events. */
    const totals = () =>
      queryRows<{ key: string; events: number }>(
        database.db,
        sql`select context_key as key, events::int as events from unit_event_totals order by context_key`,
      );

    it('creates partitions for the coming days at start and for the days of a batch on demand', async () => {
      await send([day(6), day(8), day(9), day(10), day(30)]);
      expect(await placed('exposures')).toEqual([
        // Older than the retention period: no partition is made for it; the default one holds it.
        { day: 6, part: 'exposures_default' },
        { day: 8, part: 'exposures_p20260108' },
        { day: 9, part: 'exposures_p20260109' },
        { day: 10, part: 'exposures_p20260110' },
        // Beyond the days created ahead: the default partition too, until its day's is made.
        { day: 30, part: 'exposures_default' },
      ]);
      expect((await placed('track_events')).map((r) => r.part)).toEqual([
        'track_events_default',
        'track_events_p20260108',
        'track_events_p20260109',
        'track_events_p20260110',
        'track_events_default',
      ]);
    });

    it('drops whole partitions once all their rows are older than the retention period, and trims the default ones', async () => {
      now = day(13);
      const dropped = await app.eventRetention.runOnce();
      expect(dropped.sort()).toEqual([
        'exposures_p20260108',
        'exposures_p20260109',
        'track_events_p20260108',
        'track_events_p20260109',
      ]);
      expect(await placed('exposures')).toEqual([
        { day: 10, part: 'exposures_p20260110' },
        { day: 30, part: 'exposures_default' },
      ]);
      expect((await placed('track_events')).map((r) => r.day)).toEqual([10, 30]);
      // Units first exposed before the cutoff go with their exposures.
      const units = await queryRows<{ key: string }>(
        database.db,
        sql`select context_key as key from exposure_units order by first_at`,
      );
      expect(units.map((u) => u.key)).toEqual(['u3', 'u4']);
      // Their metric totals go with them; the others' stay.
      expect(await totals()).toEqual([
        { key: 'u3', events: 1 },
        { key: 'u4', events: 1 },
      ]);
      // The batch records older than the period go too (they were received on the 10th, at noon).
      const batches = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from event_batches`);
      expect(batches[0]?.n).toBe(1);
    });

    it("moves rows out of the default partition when their day's partition is created", async () => {
      now = day(29);
      await app.eventRetention.runOnce();
      expect(await placed('exposures')).toEqual([{ day: 30, part: 'exposures_p20260130' }]);
      expect(await placed('track_events')).toEqual([{ day: 30, part: 'track_events_p20260130' }]);
      // u0 went on the 13th; exposed again, it is a new unit, counted from its new exposure.
      await send([day(30, 1)]);
      expect((await placed('exposures')).map((r) => r.part)).toEqual(['exposures_p20260130', 'exposures_p20260130']);
      expect(await totals()).toEqual([
        { key: 'u0', events: 1 },
        { key: 'u4', events: 1 },
      ]);
    });
  });
}
