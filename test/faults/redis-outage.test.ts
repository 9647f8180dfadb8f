import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../packages/server/src/test-support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import {
  call,
  eventually,
  expectNo5xx,
  METRICS_TOKEN,
  metrics,
  ok,
  PATIENT_POSTGRES,
  sample,
  seedShop,
  sleep,
} from './support/cluster.js';
import { type ServerProcess, startServerProcess } from './support/server-process.js';
import { SseClient } from './support/sse-client.js';

const DATABASE_URL = process.env.DATABASE_URL ?? '';
const REDIS_URL = process.env.REDIS_URL ?? '';
const FLAGS = 4;
/** Reconciliation with Postgres, the fallback while Redis is gone: its interval bounds the delay. */
const RECONCILE_MS = 1000;
/** Writes made during each phase of the outage. */
const WRITES_PER_PHASE = 5;

let db: TestDatabase;
let redis: TcpProxy;
let servers: ServerProcess[] = [];
let token: string;
/** One stream per instance, all opened before the outage and kept through it. */
let streams: SseClient[] = [];
/** Every version written, in order, and when its write was sent. */
const written: { version: number; sentAt: number }[] = [];
const enabled = new Map<string, boolean>();
/** The worst time from sending a write on A to its patch reaching B's and C's streams, per phase. */
const worstDelayMs: Record<string, number> = {};

/** Toggles one flag on instance `on` and waits until every stream in `reach` has its patch. */
async function write(on: ServerProcess, reach: SseClient[], phase: string): Promise<number> {
  const flag = `f${written.length % FLAGS}`;
  const next = !(enabled.get(flag) ?? false);
  const sentAt = performance.now();
  const view = await ok(on, 'PATCH', `/api/v1/projects/shop/flags/${flag}/environments/prod`, { enabled: next });
  enabled.set(flag, next);
  const version = view.version as number;
  written.push({ version, sentAt });
  for (const s of reach) {
    await s.until((c) => c.events.some((e) => e.id === version), `version ${version} reached a stream (${phase})`);
    const arrived = s.events.find((e) => e.id === version)?.at as number;
    worstDelayMs[phase] = Math.max(worstDelayMs[phase] ?? 0, arrived - sentAt);
  }
  return version;
}

/** Every instance still serves SDKs and management, with Redis in whatever state it is. */
async function everythingAnswers(): Promise<void> {
  for (const s of servers) {
    expect((await call(s, 'GET', '/sdk/v1/ruleset', undefined, token)).status).toBe(200);
    expect((await call(s, 'GET', '/api/v1/projects/shop/flags')).status).toBe(200);
    expect((await call(s, 'GET', '/readyz', undefined, null)).status).toBe(200);
  }
}

async function redisConnected(s: ServerProcess): Promise<boolean> {
  const text = await metrics(s);
  return (
    sample(text, 'switchyard_redis_connected', { connection: 'subscribe' }) === 1 &&
    sample(text, 'switchyard_redis_connected', { connection: 'publish' }) === 1
  );
}

const busDeliveries = async (s: ServerProcess) =>
  sample(await metrics(s), 'switchyard_fanout_lag_seconds_count', { path: 'bus' });

/** Writes on A until B and C have each applied one through Redis, not reconciliation: the bus works again. */
async function busCarries(phase: string): Promise<void> {
  const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
  const before = await Promise.all([busDeliveries(b), busDeliveries(c)]);
  await eventually(async () => {
    await write(a, streams, phase);
    const after = await Promise.all([busDeliveries(b), busDeliveries(c)]);
    return after[0] > (before[0] as number) && after[1] > (before[1] as number);
  }, `B and C got a change through Redis (${phase})`);
}

/** The patch ids a stream got, in order, and whether it ever got a second `put`. */
function patchIds(s: SseClient): number[] {
  return s.events.filter((e) => e.event === 'patch').map((e) => e.id as number);
}

describe.skipIf(DATABASE_URL === '' || REDIS_URL === '')(
  'Redis stopped, stalled and back, across three instances',
  () => {
    beforeAll(async () => {
      db = await createTestDatabase();
      const target = new URL(REDIS_URL);
      redis = new TcpProxy(Number(target.port || 6379), { targetHost: target.hostname });
      await redis.listen();
      const env = {
        REDIS_URL: `redis://127.0.0.1:${redis.port}`,
        // A channel of its own: other tests on the machine's Redis never hear these instances.
        SWITCHYARD_REDIS_CHANNEL: `switchyard:faults:${randomBytes(6).toString('hex')}`,
        SWITCHYARD_RECONCILE_MS: String(RECONCILE_MS),
        SWITCHYARD_METRICS_TOKEN: METRICS_TOKEN,
        ...PATIENT_POSTGRES,
      };
      // The first start seeds the admin token; the other two find it there.
      const first = await startServerProcess(db.url as string, env);
      servers = [first, ...(await Promise.all([1, 2].map(() => startServerProcess(db.url as string, env))))];
      token = await seedShop(first, FLAGS);
      for (const s of servers) await eventually(() => redisConnected(s), 'every instance is on Redis');
      streams = servers.map((s) => new SseClient(() => s.url, token));
      for (const s of streams) expect(await s.connect()).toBe(200);
      await busCarries('before the outage');
    });

    afterAll(async () => {
      for (const s of streams) s.close();
      await Promise.all(servers.map((s) => s.kill()));
      await redis?.close();
      await db?.drop();
      process.stdout.write(
        `redis-outage: worst delay from a write on A to B's and C's streams, per phase (ms): ${JSON.stringify(worstDelayMs)}\n`,
      );
    });

    it('delivers every write on A to the streams of B and C through reconciliation while Redis refuses connections', async () => {
      redis.refuse();
      for (const s of servers) await eventually(async () => !(await redisConnected(s)), 'every instance saw Redis go');
      await everythingAnswers();
      const [a, , c] = servers as [ServerProcess, ServerProcess, ServerProcess];
      for (let i = 0; i < WRITES_PER_PHASE; i++) await write(a, streams, 'Redis refusing');
      // Management writes on the other instances work too, and reach A.
      await write(c, streams, 'Redis refusing');
      const created = await call(c, 'POST', '/api/v1/projects/shop/flags', {
        key: 'during',
        name: 'D',
        type: 'boolean',
      });
      expect(created.status).toBe(201);
      expect(worstDelayMs['Redis refusing']).toBeLessThan(RECONCILE_MS * 5);
    });

    it('reconnects every instance to Redis without a restart when it is back', async () => {
      redis.forward();
      for (const s of servers) await eventually(() => redisConnected(s), 'every instance is back on Redis');
      await busCarries('Redis back');
    });

    it('delivers through reconciliation while Redis accepts and never answers, and recovers when it restarts', async () => {
      redis.stall();
      await everythingAnswers();
      const [a] = servers as [ServerProcess];
      for (let i = 0; i < WRITES_PER_PHASE; i++) await write(a, streams, 'Redis stalled');
      expect(worstDelayMs['Redis stalled']).toBeLessThan(RECONCILE_MS * 5);
      // Unanswered pings expose the silent connections: the metric says so, and they are replaced.
      for (const s of servers) {
        await eventually(async () => !(await redisConnected(s)), 'every instance saw Redis hang');
      }
      // Redis answers again on the connections it kept (what it was sent meanwhile is lost).
      redis.forward();
      await busCarries('Redis answering again');
      redis.stall();
      await write(a, streams, 'Redis stalled');
      // Redis restarts after hanging: every connection is cut, then it answers again.
      redis.forward();
      redis.closeAll();
      await sleep(200);
      for (const s of servers) await eventually(() => redisConnected(s), 'every instance is back on Redis');
      await busCarries('Redis restarted');
    });

    it('replaces connections that went silent while Redis itself answers again (a black-holed path)', async () => {
      // The connections open now forward nothing more, and never close; new ones reach Redis. No
      // error ever comes on the old ones: only an instance that checks them finds them dead.
      redis.freeze();
      await everythingAnswers();
      const [a] = servers as [ServerProcess];
      await write(a, streams, 'Redis black-holed');
      await busCarries('Redis black-holed');
      for (const s of servers) await eventually(() => redisConnected(s), 'every instance is back on Redis');
    });

    it('kept every stream exact: each version once, in order; a resume with Last-Event-ID gets exactly what it missed', async () => {
      const versions = written.map((w) => w.version);
      // Created `during` the outage: a version the write list does not hold, since it was not a toggle.
      for (const s of streams) {
        const ids = patchIds(s);
        expect(ids).toEqual([...ids].sort((x, y) => x - y));
        expect(new Set(ids).size).toBe(ids.length);
        expect(ids.filter((id) => versions.includes(id))).toEqual(versions);
        expect(s.events.filter((e) => e.event === 'put')).toHaveLength(1);
      }

      const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];
      const [onA, onB, onC] = streams as [SseClient, SseClient, SseClient];
      // B's client resumes on B, C's on A (another instance's ring): both must get only what they missed.
      onB.close();
      onC.close();
      const from = { b: onB.lastEventId as number, c: onC.lastEventId as number };
      const missed: number[] = [];
      for (let i = 0; i < 3; i++) missed.push(await write(a, [onA], 'resume'));
      const resumedOnB = new SseClient(() => b.url, token);
      resumedOnB.lastEventId = from.b;
      const resumedOnA = new SseClient(() => a.url, token);
      resumedOnA.lastEventId = from.c;
      const last = missed.at(-1) as number;
      for (const r of [resumedOnB, resumedOnA]) {
        expect(await r.connect()).toBe(200);
        await r.until((x) => x.lastEventId === last, 'the resumed stream caught up');
        expect(r.events.map((e) => e.event)).not.toContain('put');
        expect(patchIds(r)).toEqual(missed);
        r.close();
      }

      // Every instance serves the same ruleset, and it is the database's.
      for (const s of [b, c]) {
        await eventually(async () => {
          const r = (await (await call(s, 'GET', '/sdk/v1/ruleset', undefined, token)).json()) as { version: number };
          return r.version === last;
        }, 'every instance has the last write');
      }
      const rulesets = await Promise.all(
        [a, b, c].map(async (s) => (await call(s, 'GET', '/sdk/v1/ruleset', undefined, token)).json()),
      );
      expect(rulesets[1]).toEqual(rulesets[0]);
      expect(rulesets[2]).toEqual(rulesets[0]);
      const flags = (rulesets[0] as { flags: { key: string; enabled: boolean }[] }).flags;
      for (const [flag, on] of enabled) expect(flags.find((f) => f.key === flag)?.enabled).toBe(on);
      for (const s of servers) {
        await expectNo5xx(s);
        expect(s.child.exitCode).toBeNull();
      }
    });
  },
);
