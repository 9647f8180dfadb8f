import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../db/database.js';
import { buildServer } from '../../server.js';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { TestSseClient } from '../../test-support/sse-client.js';
import { RedisBus } from '../delivery/bus.js';
import { serveMetrics } from './http.js';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;
const TOKEN = `metrics-${randomBytes(8).toString('hex')}`;

/** The value of one sample of the exposition text; undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}

/** Polls `read` until `predicate` holds: the server applies changes and notices closed sockets on its own time. */
async function eventually<T>(read: () => Promise<T>, predicate: (value: T) => boolean): Promise<T> {
  for (let i = 0; ; i++) {
    const value = await read();
    if (predicate(value) || i >= 200) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.runIf(DATABASE_URL && REDIS_URL)('Prometheus metrics of a real server (Postgres + Redis)', () => {
  let s: TestServer;
  let bus: RedisBus;
  let base: string;
  let serverKey: string;
  let other: { app: FastifyInstance; close(): Promise<void> };

  const scrape = async (token: string | null = TOKEN) => {
    const res = await fetch(`${base}/metrics`, {
      headers: token === null ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  const metrics = async () => (await scrape()).text;

  beforeAll(async () => {
    bus = new RedisBus({ url: REDIS_URL as string, channel: `switchyard:test:${randomBytes(6).toString('hex')}` });
    await bus.ready();
    s = await startTestServer({ bus, metrics: { token: TOKEN } });
    base = await s.app.listen({ port: 0, host: '127.0.0.1' });
    await s.ok('POST', '/api/v1/projects', { key: 'web', name: 'Web' });
    await s.ok('POST', '/api/v1/projects/web/environments', { key: 'prod', name: 'Production' });
    await s.ok('POST', '/api/v1/projects/web/flags', { key: 'banner', name: 'Banner', type: 'boolean' });
    serverKey = (
      await s.ok('POST', '/api/v1/keys', { name: 'srv', type: 'server', project: 'web', environment: 'prod' })
    ).token;
    // A second instance on the same database that hears of nothing but its reconciliation: no
    // bus is shared with the first, so every change the first makes is a catch-up here.
    const database = openPostgres(s.testDb.url as string, { max: 2 });
    const app = await buildServer({ database, delivery: { reconcileIntervalMs: 100 } });
    other = {
      app,
      async close() {
        await app.close();
        await database.close();
      },
    };
  });

  afterAll(async () => {
    await other?.close();
    await s?.close();
    await bus?.close();
  });

  it('refuses a scrape without the metrics token, or with an API key instead', async () => {
    for (const token of [null, 'wrong', s.adminToken]) {
      const res = await scrape(token);
      expect(res.status).toBe(401);
      expect(JSON.parse(res.text).error.code).toBe('UNAUTHORIZED');
    }
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.type).toMatch(/^text\/plain/);
  });

  it('lists every series from the first scrape', async () => {
    await s.call('GET', '/api/v1/projects');
    const text = await metrics();
    const names = [
      'switchyard_http_request_duration_seconds_count',
      'switchyard_sse_streams_open',
      'switchyard_fanout_lag_seconds_count',
      'switchyard_reconcile_catchups_total',
      'switchyard_events_ingested_total',
      'switchyard_event_batches_dropped_total',
      'switchyard_db_pool_in_use',
      'switchyard_db_pool_idle',
      'switchyard_db_pool_waiting',
      'switchyard_redis_connected',
    ];
    expect(names.filter((n) => sample(text, n) === undefined)).toEqual([]);
    expect(sample(text, 'switchyard_redis_connected', { connection: 'publish' })).toBe(1);
    expect(sample(text, 'switchyard_redis_connected', { connection: 'subscribe' })).toBe(1);
    expect(sample(text, 'switchyard_sse_streams_open', { environment: 'web/prod' })).toBe(0);
  });

  it('times requests by route pattern and status, never by the URL they named', async () => {
    await s.call('GET', '/api/v1/projects/web/flags/banner');
    await s.call('GET', '/api/v1/projects/web/flags/nothing-here');
    await s.call('GET', '/no/such/route');
    const text = await metrics();
    const route = '/api/v1/projects/:project/flags/:flag';
    const count = 'switchyard_http_request_duration_seconds_count';
    expect(sample(text, count, { method: 'GET', route, status_code: '200' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, count, { method: 'GET', route, status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, count, { route: 'unmatched', status_code: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('nothing-here');
    expect(text).not.toContain('/no/such/route');
  });

  it('counts the open streams of an environment, down again when one closes', async () => {
    const client = await TestSseClient.connect(`${base}/sdk/v1/stream`, { token: serverKey });
    try {
      await client.waitFor((e) => e.some((x) => x.event === 'put'));
      const open = async () => sample(await metrics(), 'switchyard_sse_streams_open', { environment: 'web/prod' });
      expect(await open()).toBe(1);
      client.close();
      expect(await eventually(open, (n) => n === 0)).toBe(0);
      // The stream's lifetime is not a request duration.
      expect(await metrics()).not.toContain('route="/sdk/v1/stream"');
    } finally {
      client.close();
    }
  });

  it('observes the fan-out lag of a flip on the instance that made it, and the catch-up of another through reconciliation', async () => {
    const lagCount = (text: string, path: string) => sample(text, 'switchyard_fanout_lag_seconds_count', { path }) ?? 0;
    const otherText = async () => (await other.app.telemetry.render()).body;
    const before = lagCount(await metrics(), 'commit');
    const otherBefore = sample(await otherText(), 'switchyard_reconcile_catchups_total') ?? 0;
    await s.ok('PATCH', '/api/v1/projects/web/flags/banner/environments/prod', { enabled: true });
    expect(
      await eventually(
        async () => lagCount(await metrics(), 'commit'),
        (n) => n > before,
      ),
    ).toBe(before + 1);
    const caught = await eventually(
      async () => sample(await otherText(), 'switchyard_reconcile_catchups_total') ?? 0,
      (n) => n > otherBefore,
    );
    expect(caught).toBe(otherBefore + 1);
    expect(lagCount(await otherText(), 'reconcile')).toBeGreaterThanOrEqual(1);
    // Each server keeps its own registry: the first caught nothing up.
    expect(sample(await metrics(), 'switchyard_reconcile_catchups_total')).toBe(0);
  });

  it('counts the items of an events batch stored, and its retry as a duplicate', async () => {
    const now = Date.now();
    const body = {
      id: `batch-${randomBytes(4).toString('hex')}`,
      window: { start: now - 10_000, end: now },
      evaluations: [{ flag: 'banner', variant: 'on', reason: 'FALLTHROUGH', count: 3 }],
      events: [
        { event: 'checkout', key: 'ann', timestamp: now - 5000 },
        { event: 'checkout', key: 'bob', timestamp: now - 4000 },
      ],
    };
    const counter = (text: string, kind: string) => sample(text, 'switchyard_events_ingested_total', { kind }) ?? 0;
    const dup = (text: string) => sample(text, 'switchyard_event_batches_dropped_total', { reason: 'duplicate' }) ?? 0;
    const before = await metrics();
    const send = () =>
      s.call('POST', '/sdk/v1/events', body, { token: serverKey, headers: { 'content-type': 'application/json' } });
    expect((await send()).statusCode).toBe(202);
    const after = await metrics();
    expect(counter(after, 'events') - counter(before, 'events')).toBe(2);
    expect(counter(after, 'evaluations') - counter(before, 'evaluations')).toBe(1);
    expect((await send()).json()).toMatchObject({ duplicate: true });
    const retried = await metrics();
    expect(counter(retried, 'events')).toBe(counter(after, 'events'));
    expect(dup(retried) - dup(after)).toBe(1);
  });

  it('shows a Postgres connection in use while a transaction holds it', async () => {
    const db = s.testDb.database.db;
    const inUse = await db.transaction(async (tx) => {
      await tx.execute(sql`select 1`);
      return sample(await metrics(), 'switchyard_db_pool_in_use');
    });
    expect(inUse).toBeGreaterThanOrEqual(1);
    expect(sample(await metrics(), 'switchyard_db_pool_waiting')).toBe(0);
  });

  it('serves no /metrics on the API port without a token', async () => {
    const res = await other.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(404);
  });

  it('serves /metrics on a port of its own, with or without a token', async () => {
    for (const token of [TOKEN, undefined]) {
      const server = await serveMetrics(s.app.telemetry, { port: 0, host: '127.0.0.1', token });
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        const bare = await fetch(`${url}/metrics`);
        expect(bare.status).toBe(token === undefined ? 200 : 401);
        const auth = { authorization: `Bearer ${TOKEN}` };
        const res = await fetch(`${url}/metrics`, { headers: auth });
        expect(res.status).toBe(200);
        expect(sample(await res.text(), 'switchyard_sse_streams_open', { environment: 'web/prod' })).toBe(0);
        expect((await fetch(`${url}/api/v1/projects`, { headers: auth })).status).toBe(404);
      } finally {
        await new Promise((resolve) => server.close(resolve));
      }
    }
  });
});
