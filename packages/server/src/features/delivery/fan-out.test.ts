import { randomBytes } from 'node:crypto';
import { compile, type Patch, type Ruleset } from '@switchyard/core';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgres } from '../../db/database.js';
import { buildServer } from '../../server.js';
import { createTestDatabase, type TestDatabase } from '../../test-support/database.js';
import { SYSTEM } from '../../test-support/server.js';
import { TestSseClient } from '../../test-support/sse-client.js';
import { ChangeFeed, type CommittedVersion } from '../changes/change-feed.js';
import { createKey } from '../keys/service.js';
import { type ChangeBus, RedisBus } from './bus.js';

const DATABASE_URL = process.env.DATABASE_URL;
const REDIS_URL = process.env.REDIS_URL;

/** A bus whose publications never leave the instance: a pub/sub message lost on the way. */
class MuteBus implements ChangeBus {
  constructor(private readonly inner: ChangeBus) {}
  publish(_message: CommittedVersion): void {}
  subscribe(onMessage: (m: CommittedVersion) => void, onResync: () => void): void {
    this.inner.subscribe(onMessage, onResync);
  }
  publishAudit(_lastId: number): void {}
  subscribeAudit(onAudit: (lastId: number) => void): void {
    this.inner.subscribeAudit(onAudit);
  }
  publishWebhooks(_from: string): void {}
  subscribeWebhooks(onWake: (from: string) => void): void {
    this.inner.subscribeWebhooks(onWake);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

interface Cluster {
  urls: string[];
  apps: FastifyInstance[];
  adminToken: string;
  serverKey: string;
  close(): Promise<void>;
}

const open: Cluster[] = [];

/** Three instances on one Postgres database and one Redis channel, as three processes would be. */
async function startCluster(options: { reconcileIntervalMs: number; muteFirst?: boolean }): Promise<Cluster> {
  const testDb: TestDatabase = await createTestDatabase();
  const channel = `switchyard:test:${randomBytes(6).toString('hex')}`;
  const apps: FastifyInstance[] = [];
  const urls: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  for (let i = 0; i < 3; i++) {
    const database = openPostgres(testDb.url as string, { max: 4 });
    const redisBus = new RedisBus({ url: REDIS_URL as string, channel });
    await redisBus.ready();
    const bus = i === 0 && options.muteFirst === true ? new MuteBus(redisBus) : redisBus;
    const app = await buildServer({ database, bus, delivery: { reconcileIntervalMs: options.reconcileIntervalMs } });
    urls.push(await app.listen({ port: 0, host: '127.0.0.1' }));
    apps.push(app);
    closers.push(async () => {
      await app.close();
      await bus.close();
      await database.close();
    });
  }
  const db = testDb.database.db;
  const adminToken = (await createKey({ db, feed: new ChangeFeed() }, SYSTEM, { name: 'admin', type: 'admin' })).token;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await apps[0]?.inject({
      method: method as 'POST',
      url: path,
      headers: { authorization: `Bearer ${adminToken}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    if (res === undefined || res.statusCode >= 300)
      throw new Error(`${method} ${path}: ${res?.statusCode} ${res?.body}`);
    return res.json();
  };
  await call('POST', '/api/v1/projects', { key: 'app', name: 'App' });
  await call('POST', '/api/v1/projects/app/environments', { key: 'prod', name: 'Production' });
  for (const key of ['alpha', 'beta', 'gamma', 'delta']) {
    await call('POST', '/api/v1/projects/app/flags', { key, name: key, type: 'boolean' });
  }
  const serverKey = (
    await call('POST', '/api/v1/keys', { name: 'srv', type: 'server', project: 'app', environment: 'prod' })
  ).token;
  const cluster: Cluster = {
    urls,
    apps,
    adminToken,
    serverKey,
    async close() {
      for (const c of closers) await c();
      await testDb.drop();
    },
  };
  open.push(cluster);
  return cluster;
}

async function write(c: Cluster, instance: number, method: string, path: string, body?: unknown) {
  const res = await fetch(`${c.urls[instance]}${path}`, {
    method,
    headers: { authorization: `Bearer ${c.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<{ version: number }>;
}

const patchesOf = (c: TestSseClient) =>
  c.events.filter((e) => e.event === 'patch').map((e) => JSON.parse(e.data) as Patch);
const configPath = (flag: string) => `/api/v1/projects/app/flags/${flag}/environments/prod`;

async function rulesetOf(c: Cluster, instance: number): Promise<Ruleset> {
  const res = await fetch(`${c.urls[instance]}/sdk/v1/ruleset`, {
    headers: { authorization: `Bearer ${c.serverKey}` },
  });
  return (await res.json()) as Ruleset;
}

afterAll(async () => {
  for (const c of open) await c.close();
});

describe.runIf(DATABASE_URL && REDIS_URL)('fan-out across three instances (Postgres + Redis)', () => {
  it('delivers a change made on one instance to the SSE clients of the other two through Redis', async () => {
    const c = await startCluster({ reconcileIntervalMs: 600_000 });
    const clients = await Promise.all(
      c.urls.map((u) => TestSseClient.connect(`${u}/sdk/v1/stream`, { token: c.serverKey })),
    );
    try {
      for (const client of clients) await client.waitFor((e) => e.length > 0);
      const { version } = await write(c, 0, 'POST', `${configPath('alpha')}/unkill`);
      for (const client of clients) {
        await client.waitFor(() => patchesOf(client).some((p) => p.key === 'alpha' && p.version === version));
      }
    } finally {
      for (const client of clients) client.close();
    }
  });

  it('ends 1 000 changes from several writers with every instance and client in the same state, ids increasing without gaps', async () => {
    const c = await startCluster({ reconcileIntervalMs: 600_000 });
    const clients = await Promise.all(
      [0, 1, 2, 0, 1, 2].map((i) => TestSseClient.connect(`${c.urls[i]}/sdk/v1/stream`, { token: c.serverKey })),
    );
    try {
      for (const client of clients) await client.waitFor((e) => e.length > 0);
      const flags = ['alpha', 'beta', 'gamma', 'delta'];
      let last = 0;
      const writers = [0, 1, 2, 0].map(async (instance, w) => {
        for (let i = 0; i < 250; i++) {
          const on = ((w * 250 + i) * 97) % 100_001;
          const { version } = await write(c, instance, 'PATCH', configPath(flags[(w + i) % flags.length] as string), {
            enabled: true,
            defaultServe: {
              rollout: {
                weights: [
                  { variant: 'on', weight: on },
                  { variant: 'off', weight: 100_000 - on },
                ],
              },
            },
          });
          last = Math.max(last, version);
        }
      });
      await Promise.all(writers);
      for (const instance of [0, 1, 2]) {
        await expect.poll(async () => (await rulesetOf(c, instance)).version, { timeout: 10_000 }).toBe(last);
      }
      const final = await rulesetOf(c, 0);
      expect(await rulesetOf(c, 1)).toEqual(final);
      expect(await rulesetOf(c, 2)).toEqual(final);
      for (const client of clients) {
        await client.waitFor((events) => events.at(-1)?.lastEventId === String(final.version), 10_000);
        const put = JSON.parse(client.events[0]?.data ?? '') as Ruleset;
        const evaluator = compile(put, { keepDefinitions: true });
        const ids: number[] = [Number(client.events[0]?.lastEventId)];
        for (const e of client.events.slice(1)) {
          if (e.event !== 'patch') continue;
          evaluator.applyPatch(JSON.parse(e.data) as Patch);
          const id = Number(e.lastEventId);
          if (id !== ids.at(-1)) ids.push(id);
        }
        // Every version after the put arrives, once and in order.
        expect(ids).toEqual(Array.from({ length: final.version - put.version + 1 }, (_, i) => put.version + i));
        const mirror = evaluator.toRuleset();
        expect(mirror.version).toBe(final.version);
        const byKey = (r: Ruleset) => Object.fromEntries(r.flags.map((f) => [f.key, f]));
        expect(byKey(mirror)).toEqual(byKey(final));
      }
    } finally {
      for (const client of clients) client.close();
    }
  }, 120_000);

  it('catches up a change whose pub/sub message never arrived, by reconciling with Postgres', async () => {
    const c = await startCluster({ reconcileIntervalMs: 300, muteFirst: true });
    const client = await TestSseClient.connect(`${c.urls[1]}/sdk/v1/stream`, { token: c.serverKey });
    try {
      await client.waitFor((e) => e.length > 0);
      const { version } = await write(c, 0, 'POST', `${configPath('beta')}/unkill`);
      await client.waitFor(() => patchesOf(client).some((p) => p.key === 'beta' && p.version === version));
    } finally {
      client.close();
    }
  });

  it('resynchronises when its Redis subscription is cut and comes back, with no restart', async () => {
    const c = await startCluster({ reconcileIntervalMs: 600_000, muteFirst: true });
    const client = await TestSseClient.connect(`${c.urls[2]}/sdk/v1/stream`, { token: c.serverKey });
    const redis = new Redis(REDIS_URL as string);
    try {
      await client.waitFor((e) => e.length > 0);
      // The change's message is lost (instance 0 publishes nothing); then every subscriber
      // connection is cut, as a Redis restart would. Reconnecting must trigger a resync.
      const { version } = await write(c, 0, 'POST', `${configPath('gamma')}/unkill`);
      await redis.client('KILL', 'TYPE', 'pubsub');
      await client.waitFor(() => patchesOf(client).some((p) => p.key === 'gamma' && p.version === version), 10_000);
    } finally {
      client.close();
      redis.disconnect();
    }
  }, 20_000);
});
