import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../packages/server/src/test-support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { type ServerProcess, startServerProcess, through } from './support/server-process.js';
import { type OpenStream, openStream } from './support/sse.js';

const realPostgres = (process.env.DATABASE_URL ?? '') !== '';
const API = '/api/v1/projects/shop';
/** How long the SDK key cache trusts a lookup: a key first seen before this is looked up again. */
const KEY_CACHE_TTL_MS = 10_000;
/** The promise every refusal below must keep, whatever Postgres does. */
const ANSWER_WITHIN_MS = 2000;

let db: TestDatabase;
let proxy: TcpProxy;
let server: ServerProcess;
let keySeenBefore: string;
let keySeenAt: number;
let keyNeverSeen: string;
let keyOfUnloadedEnvironment: string;

async function timed(request: () => Promise<Response>): Promise<{ res: Response; ms: number; body: unknown }> {
  const started = performance.now();
  const res = await request();
  const body = res.status === 204 ? undefined : await res.json().catch(() => undefined);
  return { res, ms: performance.now() - started, body };
}

async function expectUnavailable(request: () => Promise<Response>): Promise<void> {
  const { res, ms, body } = await timed(request);
  expect({ status: res.status, body, retryAfter: res.headers.get('retry-after') }).toEqual({
    status: 503,
    body: { error: { code: 'UNAVAILABLE', message: expect.any(String), details: {} } },
    retryAfter: '2',
  });
  expect(ms).toBeLessThan(ANSWER_WITHIN_MS);
}

const flagKeys = (ruleset: unknown) => (ruleset as { flags: { key: string }[] }).flags.map((f) => f.key);

const sdk =
  (token: string, path = '/sdk/v1/ruleset') =>
  () =>
    fetch(`${server.url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(15_000),
    });

async function ok(method: string, path: string, body?: unknown) {
  const res = await server.call(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.status === 204 ? {} : ((await res.json()) as Record<string, unknown>);
}

const newKey = async () =>
  (await ok('POST', '/api/v1/keys', { name: 'sdk', type: 'server', project: 'shop', environment: 'prod' }))
    .token as string;

describe.skipIf(!realPostgres)('Postgres unreachable, stalled, then back', () => {
  let stream: OpenStream;

  beforeAll(async () => {
    db = await createTestDatabase();
    proxy = new TcpProxy(Number(new URL(db.url as string).port || 5432));
    await proxy.listen();
    // No periodic reconcile: it would load every environment, the one below that this instance
    // must never have loaded included, whenever it ran before the outage.
    server = await startServerProcess(through(db.url as string, proxy.port), { SWITCHYARD_RECONCILE_MS: '3600000' });
    await ok('POST', '/api/v1/projects', { key: 'shop', name: 'Shop' });
    await ok('POST', `${API}/environments`, { key: 'prod', name: 'Production' });
    await ok('POST', `${API}/flags`, { key: 'banner', name: 'Banner', type: 'boolean' });
    await ok('PATCH', `${API}/flags/banner/environments/prod`, { enabled: true, defaultServe: { variant: 'on' } });
    keySeenBefore = await newKey();
    keyNeverSeen = await newKey();
    await ok('POST', `${API}/environments`, { key: 'staging', name: 'Staging' });
    keyOfUnloadedEnvironment = (
      await ok('POST', '/api/v1/keys', { name: 'sdk', type: 'server', project: 'shop', environment: 'staging' })
    ).token as string;
    // An events batch checks the key (and caches it) without loading its environment's ruleset.
    const batch = await fetch(`${server.url}/sdk/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keyOfUnloadedEnvironment}`, 'content-type': 'application/json' },
      body: JSON.stringify({ window: { start: Date.now() - 1000, end: Date.now() }, events: [] }),
    });
    expect(batch.status).toBeLessThan(300);
    expect((await sdk(keySeenBefore)()).status).toBe(200);
    keySeenAt = Date.now();
    stream = await openStream(server.url, keySeenBefore);
  });

  afterAll(async () => {
    stream?.close();
    await server?.kill();
    await proxy?.close();
    await db?.drop();
  });

  it('keeps SDKs served and refuses management calls with 503 while Postgres refuses connections', async () => {
    proxy.refuse();
    await expectUnavailable(() => server.call('GET', '/api/v1/projects'));
    await expectUnavailable(() => server.call('GET', `${API}/flags/banner`));
    await expectUnavailable(() => server.call('PATCH', `${API}/flags/banner/environments/prod`, { enabled: false }));
    // A key this instance never saw cannot be checked: 503, not 401 and not 500.
    await expectUnavailable(sdk(keyNeverSeen));
    // A key seen valid whose environment this instance never loaded: 503, not "no longer exists".
    await expectUnavailable(sdk(keyOfUnloadedEnvironment));
    // Events cannot be stored: refused so the SDK sends them again, never a 500.
    await expectUnavailable(() =>
      fetch(`${server.url}/sdk/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keySeenBefore}`, 'content-type': 'application/json' },
        body: JSON.stringify({ window: { start: Date.now() - 1000, end: Date.now() }, events: [] }),
      }),
    );
    const ready = await timed(() => fetch(`${server.url}/readyz`));
    expect(ready.res.status).toBe(503);
    expect(ready.ms).toBeLessThan(ANSWER_WITHIN_MS);

    const ruleset = await sdk(keySeenBefore)();
    expect(ruleset.status).toBe(200);
    expect(flagKeys(await ruleset.json())).toEqual(['banner']);
  });

  it('answers within 2 s while Postgres accepts connections and never answers', async () => {
    proxy.stall();
    await expectUnavailable(() => server.call('GET', '/api/v1/projects'));
    await expectUnavailable(() => server.call('POST', `${API}/flags`, { key: 'stalled', name: 'S', type: 'boolean' }));
    const ready = await timed(() => fetch(`${server.url}/readyz`));
    expect(ready.res.status).toBe(503);
    expect(ready.ms).toBeLessThan(ANSWER_WITHIN_MS);
  });

  it('serves a key last checked before the outage from memory once its cache entry has expired', async () => {
    const wait = keySeenAt + KEY_CACHE_TTL_MS + 500 - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const ruleset = await timed(sdk(keySeenBefore));
    expect(ruleset.res.status).toBe(200);
    expect(flagKeys(ruleset.body)).toEqual(['banner']);
    const late = await openStream(server.url, keySeenBefore);
    expect(late.text()).toContain('event: put');
    late.close();
  }, 30_000);

  it('recovers without a restart when Postgres answers again, and nothing was half-written', async () => {
    proxy.forward();
    proxy.closeAll();
    const deadline = Date.now() + 15_000;
    while ((await fetch(`${server.url}/readyz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error(`not ready again:\n${server.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // The writes refused during the outage left nothing behind.
    const flags = (await ok('GET', `${API}/flags`)) as { items: { key: string }[] };
    expect(flags.items.map((f) => f.key)).toEqual(['banner']);
    const config = await ok('GET', `${API}/flags/banner/environments/prod`);
    expect(config.enabled).toBe(true);

    await ok('POST', `${API}/flags/banner/environments/prod/kill`, { reason: 'after the outage' });
    await stream.until((text) => text.includes('event: patch') && text.includes('"enabled":false'));
    expect(server.child.exitCode).toBeNull();
  }, 30_000);
});
