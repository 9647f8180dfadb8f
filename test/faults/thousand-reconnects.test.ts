import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../packages/server/src/test-support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import {
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
const CLIENTS = 1000;
const FLAGS = 5;
/** Times every connection is cut at once. */
const CUTS = 2;

describe.skipIf(DATABASE_URL === '')(`${CLIENTS} SSE clients cut off and reconnecting at once`, () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let proxy: TcpProxy;
  let token: string;
  const clients: SseClient[] = [];
  /** Every version written, in order. */
  const written: number[] = [];
  let writing = true;
  let writer: Promise<void>;

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess(db.url as string, {
      SWITCHYARD_METRICS_TOKEN: METRICS_TOKEN,
      ...PATIENT_POSTGRES,
    });
    token = await seedShop(server, FLAGS);
    proxy = new TcpProxy(Number(new URL(server.url).port));
    await proxy.listen();
    for (let i = 0; i < CLIENTS; i += 100) {
      const batch = Array.from({ length: 100 }, () => new SseClient(() => proxy.url, token, true));
      const statuses = await Promise.all(batch.map((c) => c.connect()));
      expect(statuses.every((s) => s === 200)).toBe(true);
      clients.push(...batch);
    }
  }, 60_000);

  afterAll(async () => {
    writing = false;
    await writer;
    for (const c of clients) c.close();
    await proxy?.close();
    await server?.kill();
    await db?.drop();
  });

  /** Toggles the flags one after the other, straight on the server, until told to stop. */
  async function write(): Promise<void> {
    const enabled = new Map<string, boolean>();
    while (writing) {
      const flag = `f${written.length % FLAGS}`;
      const next = !(enabled.get(flag) ?? false);
      const view = await ok(server, 'PATCH', `/api/v1/projects/shop/flags/${flag}/environments/prod`, {
        enabled: next,
      });
      enabled.set(flag, next);
      written.push(view.version as number);
      await sleep(20);
    }
  }

  it('gives every client every patch exactly once and in order, with no 5xx, while writes go on', async () => {
    writer = write();
    await sleep(500);
    const reconnectedInMs: number[] = [];
    for (let cut = 0; cut < CUTS; cut++) {
      const connectionsBefore = clients.reduce((n, c) => n + c.statuses.length, 0);
      const cutAt = performance.now();
      proxy.closeAll();
      await eventually(
        () =>
          clients.every((c) => c.connected) &&
          clients.reduce((n, c) => n + c.statuses.length, 0) >= connectionsBefore + CLIENTS,
        `all ${CLIENTS} clients reconnected after cut ${cut + 1}`,
        30_000,
      );
      reconnectedInMs.push(performance.now() - cutAt);
      await sleep(500);
    }
    writing = false;
    await writer;
    const last = written.at(-1) as number;
    const caughtUpFrom = performance.now();
    await eventually(() => clients.every((c) => c.lastEventId === last), 'every client has the last version', 30_000);
    process.stdout.write(
      `thousand-reconnects: ${written.length} writes; all ${CLIENTS} reconnected in ${reconnectedInMs.map((ms) => ms.toFixed(0)).join(', ')} ms after each cut; caught up ${(performance.now() - caughtUpFrom).toFixed(0)} ms after the last write\n`,
    );

    for (const c of clients) {
      const puts = c.events.filter((e) => e.event === 'put');
      // One `put` when it first connected; every reconnection resumed from Last-Event-ID.
      expect(puts).toHaveLength(1);
      const from = puts[0]?.id as number;
      const ids = c.events.filter((e) => e.event === 'patch').map((e) => e.id);
      expect(ids).toEqual(written.filter((v) => v > from));
      expect(c.statuses.filter((s) => s !== 200)).toEqual([]);
    }
    expect(clients.reduce((n, c) => n + c.failures, 0)).toBe(0);
    await expectNo5xx(server);
    expect(server.child.exitCode).toBeNull();
    expect(sample(await metrics(server), 'switchyard_sse_streams_open')).toBe(CLIENTS);
  }, 60_000);

  it('brings all of them back on a restarted instance, each converging to the database, with no 5xx', async () => {
    const connectionsBefore = clients.reduce((n, c) => n + c.statuses.length, 0);
    // A restart with Postgres's usual waits: every client's key is unknown to the new process,
    // so the thousand reconnections all look their key up at once.
    await server.kill();
    server = await startServerProcess(db.url as string, { SWITCHYARD_METRICS_TOKEN: METRICS_TOKEN });
    proxy.retarget(Number(new URL(server.url).port));
    writing = true;
    writer = write();
    await eventually(
      () =>
        clients.every((c) => c.connected) &&
        clients.reduce((n, c) => n + c.statuses.length, 0) >= connectionsBefore + CLIENTS,
      `all ${CLIENTS} clients reconnected to the new instance`,
      30_000,
    );
    await sleep(500);
    writing = false;
    await writer;
    const last = written.at(-1) as number;
    await eventually(() => clients.every((c) => c.lastEventId === last), 'every client has the last version', 30_000);

    const served = (await (
      await fetch(`${server.url}/sdk/v1/ruleset`, { headers: { authorization: `Bearer ${token}` } })
    ).json()) as {
      version: number;
      flags: { key: string; enabled: boolean; version: number }[];
    };
    expect(served.version).toBe(last);
    const expected = Object.fromEntries(served.flags.map((f) => [f.key, { enabled: f.enabled, version: f.version }]));
    for (const c of clients) {
      const held = c.ruleset();
      expect(held.version).toBe(last);
      expect(
        Object.fromEntries([...held.flags].map(([k, f]) => [k, { enabled: f.enabled, version: f.version }])),
      ).toEqual(expected);
      const ids = c.events.filter((e) => e.id !== undefined).map((e) => e.id as number);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
      expect(c.statuses.filter((s) => s !== 200)).toEqual([]);
    }
    await expectNo5xx(server);
    expect(server.child.exitCode).toBeNull();
  }, 60_000);
});
