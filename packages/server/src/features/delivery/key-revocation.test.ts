import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../db/database.js';
import { buildServer } from '../../server.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/database.js';
import { SYSTEM, UNLIMITED_AUTH_FAILURES } from '../../test-support/server.js';
import { TestSseClient } from '../../test-support/sse-client.js';
import { ChangeFeed } from '../changes/change-feed.js';
import { createKey } from '../keys/service.js';

const DATABASE_URL = process.env.DATABASE_URL;

let testDb: TestDatabase;
const apps: FastifyInstance[] = [];
const urls: string[] = [];
const closers: (() => Promise<void>)[] = [];
let adminToken = '';

/** Two instances on one Postgres database, each with its own pool and no bus between them, as two processes without Redis. */
beforeAll(async () => {
  if (!DATABASE_URL) return;
  testDb = await createTestDatabase();
  for (let i = 0; i < 2; i++) {
    const database = openPostgres(testDb.url as string, { max: 4 });
    const app = await buildServer({ database, authFailuresPerMinute: UNLIMITED_AUTH_FAILURES });
    urls.push(await app.listen({ port: 0, host: '127.0.0.1' }));
    apps.push(app);
    closers.push(async () => {
      await app.close();
      await database.close();
    });
  }
  adminToken = (
    await createKey({ db: testDb.database.db, feed: new ChangeFeed() }, SYSTEM, { name: 'a', type: 'admin' })
  ).token;
  await admin(0, 'POST', '/api/v1/projects', { key: 'app', name: 'App' });
  await admin(0, 'POST', '/api/v1/projects/app/environments', { key: 'prod', name: 'Production' });
  await admin(0, 'POST', '/api/v1/projects/app/flags', { key: 'secret-feature', name: 'S', type: 'boolean' });
});

afterAll(async () => {
  for (const close of closers) await close();
  await testDb?.drop();
});

// biome-ignore lint/suspicious/noExplicitAny: set-up code reads whatever the API answered.
async function admin(instance: number, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${urls[instance]}${path}`, {
    method,
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

const sdk = (instance: number, path: string, token: string, init: RequestInit = {}) =>
  fetch(`${urls[instance]}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });

const events = () =>
  JSON.stringify({ window: { start: Date.now() - 1000, end: Date.now() }, evaluations: [], events: [] });

/** Polls `condition` until it holds; the time it took, or an error past `limitMs`. */
async function within(limitMs: number, since: number, condition: () => Promise<boolean>): Promise<number> {
  for (;;) {
    if (await condition()) return Date.now() - since;
    if (Date.now() - since > limitMs) throw new Error(`still not true ${Date.now() - since} ms after the revocation`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe.runIf(DATABASE_URL)('revoking a key on one instance', () => {
  it('shuts it out of every SDK route of every instance within 1 s, and closes its open streams', async () => {
    const key = await admin(0, 'POST', '/api/v1/keys', {
      name: 'srv',
      type: 'server',
      project: 'app',
      environment: 'prod',
    });
    const streams = await Promise.all(
      urls.map((u) => TestSseClient.connect(`${u}/sdk/v1/stream`, { token: key.token })),
    );
    for (const s of streams) await s.waitFor((e) => e.some((x) => x.event === 'put'));
    // Each instance has the key in its cache now.
    for (const i of [0, 1]) expect((await sdk(i, '/sdk/v1/ruleset', key.token)).status).toBe(200);
    const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: events() };
    for (const i of [0, 1]) expect((await sdk(i, '/sdk/v1/events', key.token, post)).status).toBeLessThan(300);

    await admin(0, 'POST', `/api/v1/keys/${key.id}/revoke`);
    const revokedAt = Date.now();

    const elapsed = await within(1000, revokedAt, async () => {
      const answers = await Promise.all(
        [0, 1].flatMap((i) => [
          sdk(i, '/sdk/v1/ruleset', key.token).then((r) => r.status),
          sdk(i, '/sdk/v1/events', key.token, { ...post, body: events() }).then((r) => r.status),
          TestSseClient.connect(`${urls[i]}/sdk/v1/stream`, { token: key.token }).then(
            (c) => {
              c.close();
              return 200;
            },
            (err: Error) => Number(/answered (\d+)/.exec(err.message)?.[1]),
          ),
        ]),
      );
      return answers.every((status) => status === 401) && streams.every((s) => s.ended);
    });
    expect(elapsed).toBeLessThan(1000);
  });

  it('leaves the other keys of the environment working, and their streams open', async () => {
    const kept = await admin(1, 'POST', '/api/v1/keys', {
      name: 'kept',
      type: 'server',
      project: 'app',
      environment: 'prod',
    });
    const gone = await admin(1, 'POST', '/api/v1/keys', {
      name: 'gone',
      type: 'server',
      project: 'app',
      environment: 'prod',
    });
    const keptStream = await TestSseClient.connect(`${urls[0]}/sdk/v1/stream`, { token: kept.token });
    const goneStream = await TestSseClient.connect(`${urls[0]}/sdk/v1/stream`, { token: gone.token });
    await keptStream.waitFor((e) => e.length > 0);
    await goneStream.waitFor((e) => e.length > 0);
    await admin(1, 'POST', `/api/v1/keys/${gone.id}/revoke`);
    await goneStream.waitFor(() => goneStream.ended, 1000);
    expect(keptStream.ended).toBe(false);
    expect((await sdk(0, '/sdk/v1/ruleset', kept.token)).status).toBe(200);
    keptStream.close();
  });
});
