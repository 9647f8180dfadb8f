import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { findEnvironment } from '../environments/store.js';
import { findProject } from '../projects/store.js';
import { MAX_BATCH_ITEMS } from './schemas.js';
import { batchesOf, exposuresOf, trackEventsOf } from './store.js';

let s: TestServer;
let serverKey: string;
let environmentId: string;
const T0 = Date.now();

const batch = (overrides: Record<string, unknown> = {}) => ({
  window: { start: T0, end: T0 + 10_000 },
  exposures: [
    { flag: 'checkout', variant: 'new', key: 'ann', timestamp: T0 + 1000 },
    { flag: 'checkout', variant: 'old', key: 'bob', timestamp: T0 + 2000 },
  ],
  events: [{ event: 'purchase', key: 'ann', value: 30, timestamp: T0 + 3000 }],
  ...overrides,
});

const postTo = (server: TestServer, key: string, body: unknown) =>
  server.app.inject({
    method: 'POST',
    url: '/sdk/v1/events',
    headers: { authorization: `Bearer ${key}` },
    payload: body as object,
  });
const post = (body: unknown) => postTo(s, serverKey, body);

/** A project "shop" with an environment "prod"; its id and a server key for it. */
async function setUp(server: TestServer): Promise<{ environmentId: string; serverKey: string }> {
  await server.ok('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
  await server.ok('POST', '/api/v1/projects/shop/environments', { key: 'prod', name: 'Production' });
  const db = server.testDb.database.db;
  const project = await findProject(db, 'shop');
  const key = { name: 'srv', type: 'server', project: 'shop', environment: 'prod' };
  return {
    environmentId: (await findEnvironment(db, project?.id ?? '', 'prod'))?.id ?? '',
    serverKey: (await server.ok('POST', '/api/v1/keys', key)).token,
  };
}

beforeAll(async () => {
  s = await startTestServer();
  ({ environmentId, serverKey } = await setUp(s));
});

afterAll(async () => {
  await s?.close();
});

describe('exposures in POST /sdk/v1/events', () => {
  it('stores every exposure with its flag, variant, context key and time, and track events with their context key', async () => {
    const res = await post(batch());
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: { evaluations: 0, events: 1, exposures: 2 } });
    expect(await exposuresOf(s.testDb.database.db, environmentId)).toEqual([
      { flag: 'checkout', variant: 'new', contextKey: 'ann', occurredAt: new Date(T0 + 1000) },
      { flag: 'checkout', variant: 'old', contextKey: 'bob', occurredAt: new Date(T0 + 2000) },
    ]);
    expect(await trackEventsOf(s.testDb.database.db, environmentId)).toEqual([
      { event: 'purchase', contextKey: 'ann', value: 30, occurredAt: new Date(T0 + 3000) },
    ]);
  });

  it('stores a batch sent again with the same id once, and answers the retry as a duplicate', async () => {
    const db = s.testDb.database.db;
    const exposuresBefore = (await exposuresOf(db, environmentId)).length;
    const batchesBefore = (await batchesOf(db, environmentId)).length;
    const body = batch({
      id: 'sdk-batch-7',
      exposures: [{ flag: 'checkout', variant: 'new', key: 'cat', timestamp: T0 }],
    });
    const first = await post(body);
    const retries = await Promise.all([post(body), post(body)].map(async (r) => (await r).json()));
    expect(first.json()).toEqual({ accepted: { evaluations: 0, events: 1, exposures: 1 } });
    expect(retries).toEqual([
      { accepted: { evaluations: 0, events: 1, exposures: 1 }, duplicate: true },
      { accepted: { evaluations: 0, events: 1, exposures: 1 }, duplicate: true },
    ]);
    expect(await exposuresOf(db, environmentId)).toHaveLength(exposuresBefore + 1);
    expect(await batchesOf(db, environmentId)).toHaveLength(batchesBefore + 1);
    // Another id is another batch.
    expect((await post({ ...body, id: 'sdk-batch-8' })).json().duplicate).toBeUndefined();
    expect(await exposuresOf(db, environmentId)).toHaveLength(exposuresBefore + 2);
  });

  it('refuses malformed or oversized batches whole, naming the field, and stores nothing', async () => {
    const db = s.testDb.database.db;
    const before = { exposures: await exposuresOf(db, environmentId), batches: await batchesOf(db, environmentId) };
    const exposure = { flag: 'checkout', variant: 'new', key: 'dan', timestamp: T0 };
    const refused: [unknown, string][] = [
      [batch({ exposures: [{ ...exposure, key: '' }] }), 'exposures[0].key'],
      [batch({ exposures: [exposure, { ...exposure, variant: undefined }] }), 'exposures[1].variant'],
      [batch({ exposures: [{ ...exposure, timestamp: -1 }] }), 'exposures[0].timestamp'],
      [batch({ exposures: [{ ...exposure, extra: 1 }] }), 'exposures[0]'],
      [batch({ id: '' }), 'id'],
      [batch({ exposures: Array.from({ length: MAX_BATCH_ITEMS + 1 }, () => exposure) }), 'exposures'],
    ];
    for (const [body, field] of refused) {
      const res = await post(body);
      expect(res.statusCode, field).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field } });
    }
    expect({ exposures: await exposuresOf(db, environmentId), batches: await batchesOf(db, environmentId) }).toEqual(
      before,
    );
  });

  it('keeps each unit counted once, in its first variant or as excluded, when batches with shared units arrive at once', async () => {
    await s.ok('POST', '/api/v1/projects/shop/flags', {
      key: 'race',
      name: 'Race',
      type: 'string',
      variants: [
        { key: 'a', value: 'a' },
        { key: 'b', value: 'b' },
      ],
    });
    await s.ok('POST', '/api/v1/projects/shop/metrics', {
      key: 'buys',
      event: 'buy',
      kind: 'conversion',
      direction: 'increase',
    });
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
      return seed / 2 ** 32;
    };
    // Distinct times per exposure, so that "first" is never a tie.
    let tick = 0;
    const sent = Array.from({ length: 16 }, () =>
      Array.from({ length: 150 }, () => ({
        flag: 'race',
        variant: next() < 0.8 ? 'a' : 'b',
        key: `r${Math.floor(next() * 1000)}`,
        timestamp: T0 + 1 + Math.floor(next() * 1_000_000) * 100 + (tick++ % 100),
      })),
    );
    const answers = await Promise.all(sent.map((exposures) => post({ window: { start: T0, end: T0 }, exposures })));
    expect(answers.map((a) => a.statusCode)).toEqual(sent.map(() => 202));
    const units = new Map<string, { variants: Set<string>; first: number; variant: string }>();
    for (const e of sent.flat()) {
      const u = units.get(e.key) ?? { variants: new Set<string>(), first: Infinity, variant: '' };
      u.variants.add(e.variant);
      if (e.timestamp < u.first) Object.assign(u, { first: e.timestamp, variant: e.variant });
      units.set(e.key, u);
    }
    const single = [...units.values()].filter((u) => u.variants.size === 1);
    const { variants, excludedUnits } = await s.ok(
      'GET',
      '/api/v1/projects/shop/flags/race/environments/prod/results?metric=buys',
    );
    expect(excludedUnits).toBe(units.size - single.length);
    expect(excludedUnits).toBeGreaterThan(0);
    const only = (variant: string) => single.filter((u) => u.variant === variant).length;
    expect(only('b')).toBeGreaterThan(0);
    expect(variants.map((v: { variant: string; units: number }) => [v.variant, v.units])).toEqual([
      ['a', only('a')],
      ['b', only('b')],
    ]);
  });

  it.skipIf(process.env.DATABASE_URL === undefined)(
    'answers 429 with Retry-After while ingestion is behind, and takes batches again once it has caught up',
    async () => {
      // One batch stored at a time and none waiting: one stuck request fills the gate.
      const busy = await startTestServer({ events: { maxInFlight: 1, maxWaiting: 0 } });
      const { serverKey: key } = await setUp(busy);
      const post = (body: unknown) => postTo(busy, key, body);
      // Another connection holds the batch table, so the first batch's insert waits.
      const blocker = new pg.Client({ connectionString: busy.testDb.url });
      await blocker.connect();
      try {
        await blocker.query('begin');
        await blocker.query('lock table event_batches in exclusive mode');
        const stuck = post(batch({ id: 'stuck' }));
        for (let i = 0; i < 200; i++) {
          const { rows } = await blocker.query<{ n: number }>(
            `select count(*)::int as n from pg_locks
             where not granted and database = (select oid from pg_database where datname = current_database())`,
          );
          if ((rows[0]?.n ?? 0) > 0) break;
          await new Promise((r) => setTimeout(r, 25));
        }
        const refused = await post(batch({ id: 'refused' }));
        expect(refused.statusCode).toBe(429);
        expect(refused.headers['retry-after']).toBe('1');
        expect(refused.json().error.code).toBe('TOO_MANY_REQUESTS');
        await blocker.query('commit');
        expect((await stuck).statusCode).toBe(202);
        expect((await post(batch({ id: 'refused' }))).statusCode).toBe(202);
      } finally {
        await blocker.end();
        await busy.close();
      }
    },
  );
});
