import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../test-support/server.js';
import { findEnvironment } from '../environments/store.js';
import { findProject } from '../projects/store.js';
import { batchesOf, evaluationTotals, trackEventsOf } from './store.js';

let s: TestServer;
let serverKey: string;
let clientKey: string;
let environmentId: string;

const ok = (method: string, path: string, body?: unknown) => s.ok(method, path, body);

/** Within the retention period: older events may be deleted by the retention pass at any time. */
const T0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;

const batch = (overrides: Record<string, unknown> = {}) => ({
  window: { start: T0, end: T0 + 10_000 },
  evaluations: [
    { flag: 'banner', variant: 'on', reason: 'TARGETING_MATCH', count: 3 },
    { flag: 'banner', variant: null, reason: 'ERROR', count: 1 },
  ],
  events: [{ event: 'checkout', key: 'ann', value: 12.5, timestamp: T0 + 5000 }],
  dropped: { evaluations: 0, events: 2 },
  ...overrides,
});

const post = (body: unknown, token: string | null, url = '/sdk/v1/events') =>
  s.app.inject({
    method: 'POST',
    url,
    headers: token === null ? {} : { authorization: `Bearer ${token}` },
    payload: body as object,
  });

beforeAll(async () => {
  s = await startTestServer();
  await ok('POST', '/api/v1/projects', { key: 'web', name: 'Web' });
  await ok('POST', '/api/v1/projects/web/environments', { key: 'prod', name: 'Production' });
  const db = s.testDb.database.db;
  const project = await findProject(db, 'web');
  environmentId = (await findEnvironment(db, project?.id ?? '', 'prod'))?.id ?? '';
  serverKey = (await ok('POST', '/api/v1/keys', { name: 'srv', type: 'server', project: 'web', environment: 'prod' }))
    .token;
  clientKey = (await ok('POST', '/api/v1/keys', { name: 'cli', type: 'client', project: 'web', environment: 'prod' }))
    .token;
});

afterAll(async () => {
  await s?.close();
});

describe('POST /sdk/v1/events', () => {
  it('stores the evaluation counts, track events and drop counts of a batch, summed per flag, variant and reason', async () => {
    expect((await post(batch(), serverKey)).statusCode).toBe(202);
    const again = await post(batch({ events: [] }), clientKey, `/sdk/v1/events?key=${clientKey}`);
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ accepted: { evaluations: 2, events: 0, exposures: 0 } });
    expect(again.headers['access-control-allow-origin']).toBe('*');
    expect(await evaluationTotals(s.testDb.database.db, environmentId)).toEqual([
      { flag: 'banner', variant: 'on', reason: 'TARGETING_MATCH', count: 6 },
      { flag: 'banner', variant: null, reason: 'ERROR', count: 2 },
    ]);
    expect(await trackEventsOf(s.testDb.database.db, environmentId)).toEqual([
      { event: 'checkout', contextKey: 'ann', value: 12.5, occurredAt: new Date(T0 + 5000) },
    ]);
    expect(await batchesOf(s.testDb.database.db, environmentId)).toEqual([
      { droppedEvaluations: 0, droppedEvents: 2 },
      { droppedEvaluations: 0, droppedEvents: 2 },
    ]);
  });

  it('takes a batch sent as text/plain, as a browser sends it to avoid a preflight, and refuses text that is not JSON', async () => {
    const asText = (payload: string) =>
      s.app.inject({
        method: 'POST',
        url: `/sdk/v1/events?key=${clientKey}`,
        headers: { 'content-type': 'text/plain;charset=UTF-8' },
        payload,
      });
    const before = (await batchesOf(s.testDb.database.db, environmentId)).length;
    const res = await asText(JSON.stringify(batch({ events: [] })));
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ accepted: { evaluations: 2, events: 0, exposures: 0 } });
    const bad = await asText('{"window":');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: expect.stringMatching(/not valid JSON/),
    });
    expect(await batchesOf(s.testDb.database.db, environmentId)).toHaveLength(before + 1);
  });

  it('refuses a missing key, an unknown key, an admin key and a server key in the URL', async () => {
    expect((await post(batch(), null)).statusCode).toBe(401);
    expect((await post(batch(), 'sy_server_unknown')).statusCode).toBe(401);
    expect((await post(batch(), s.adminToken)).statusCode).toBe(403);
    expect((await post(batch(), null, `/sdk/v1/events?key=${serverKey}`)).statusCode).toBe(403);
  });

  it('refuses malformed batches and batches past the size bound, storing nothing', async () => {
    const before = await batchesOf(s.testDb.database.db, environmentId);
    const refused = [
      batch({ window: { start: 10, end: 5 } }),
      batch({ evaluations: [{ flag: 'banner', variant: 'on', reason: 'STATIC', count: 0 }] }),
      batch({ events: [{ event: '', timestamp: 1 }] }),
      batch({ extra: true }),
      batch({
        evaluations: Array.from({ length: 10_001 }, (_, i) => ({
          flag: `f${i}`,
          variant: 'on',
          reason: 'STATIC',
          count: 1,
        })),
      }),
    ];
    for (const body of refused) {
      const res = await post(body, serverKey);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('VALIDATION_FAILED');
    }
    expect(await batchesOf(s.testDb.database.db, environmentId)).toEqual(before);
  });

  it('refuses an event value past ±1e15, which the per-unit sums and squares could not hold, naming it', async () => {
    const before = await batchesOf(s.testDb.database.db, environmentId);
    for (const value of [1e200, -1.0000001e15, Number.MAX_VALUE]) {
      const res = await post(batch({ events: [{ event: 'paid', key: 'u', value, timestamp: 1 }] }), serverKey);
      expect(res.statusCode).toBe(400);
      expect(res.json().error.details.field).toBe('events[0].value');
    }
    expect(await batchesOf(s.testDb.database.db, environmentId)).toEqual(before);
    const edge = await post(batch({ events: [{ event: 'paid', key: 'u', value: -1e15, timestamp: 1 }] }), serverKey);
    expect(edge.statusCode).toBe(202);
  });
});
