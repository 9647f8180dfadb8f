import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createClient } from '@switchyard/sdk-node';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { type Database, openPostgres } from '../../packages/server/src/db/database.js';
import { ChangeFeed } from '../../packages/server/src/features/changes/change-feed.js';
import { createKey } from '../../packages/server/src/features/keys/service.js';
import { PLAN_LOCK } from '../../packages/server/src/features/plans/controller.js';
import { ScheduleRunner } from '../../packages/server/src/features/schedules/runner.js';
import { buildServer } from '../../packages/server/src/server.js';
import { createTestDatabase, type TestDatabase } from '../../packages/server/src/test-support/database.js';
import { SYSTEM } from '../../packages/server/src/test-support/server.js';
import { API, createFlag, eventually, sleep, startLiveServer } from './support.js';

type FastifyInstance = Awaited<ReturnType<typeof buildServer>>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const scheduledOf = (flag: string) => `${API}/flags/${flag}/environments/prod/scheduled-changes`;

// biome-ignore lint/suspicious/noExplicitAny: the API answers JSON.
type Json = any;

/** One in-process instance on the database at `url`, with its own pool and controller. */
async function instance(
  url: string,
  intervalMs: number,
): Promise<{ app: FastifyInstance; database: Database; close: () => Promise<void> }> {
  const database = openPostgres(url, { max: 5 });
  const app = await buildServer({ database, logger: false, plans: { intervalMs } });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await database.close();
  };
  cleanup.push(close);
  return { app, database, close };
}

function caller(app: FastifyInstance, token: string) {
  return async (method: string, url: string, body?: unknown): Promise<Json> => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
}

async function adminToken(database: Database): Promise<string> {
  const { token } = await createKey({ db: database.db, feed: new ChangeFeed() }, SYSTEM, {
    name: 'test admin',
    type: 'admin',
  });
  return token;
}

async function testDatabase(): Promise<TestDatabase & { url: string }> {
  const testDb = await createTestDatabase();
  cleanup.push(() => testDb.drop());
  if (testDb.url === undefined) throw new Error('these tests need DATABASE_URL: several instances share one Postgres');
  return testDb as TestDatabase & { url: string };
}

/** Project `web`, environment `prod`, and boolean flags on in it. */
async function fixtures(ok: ReturnType<typeof caller>, flags: string[]): Promise<void> {
  await ok('POST', '/api/v1/projects', { key: 'web', name: 'Web' });
  await ok('POST', `${API}/environments`, { key: 'prod', name: 'Production' });
  for (const key of flags) {
    await ok('POST', `${API}/flags`, { key, name: key, type: 'boolean' });
    await ok('PUT', `${API}/flags/${key}/environments/prod`, { enabled: true, defaultServe: { variant: 'on' } });
  }
}

/** Rows of a query on the database at `url`, on a connection of its own. */
async function query<T>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * How many times each scheduled change was applied, by the audit log: its `schedule.apply`
 * entries, and the configuration writes whose reason names it.
 */
async function applications(url: string): Promise<Map<number, { apply: number; writes: number }>> {
  const rows = await query<{ action: string; target_key: string; reason: string | null }>(
    url,
    "select action, target_key, reason from audit_entries where actor like 'scheduler for %'",
  );
  const out = new Map<number, { apply: number; writes: number }>();
  const count = (id: number) => {
    const seen = out.get(id) ?? { apply: 0, writes: 0 };
    out.set(id, seen);
    return seen;
  };
  for (const r of rows) {
    if (r.action === 'schedule.apply') count(Number(r.target_key)).apply++;
    const m = /^scheduled change #(\d+) /.exec(r.reason ?? '');
    if (r.action.startsWith('flag.') && m !== null) count(Number(m[1])).writes++;
  }
  return out;
}

describe('scheduled changes seen by a Node SDK', () => {
  it('reach the SDK over SSE at their time, not before', async () => {
    const l = await startLiveServer({ plans: { intervalMs: 100 } });
    cleanup.push(() => l.s.close());
    await createFlag(
      l,
      'banner',
      { enabled: true, offVariant: 'plain', defaultServe: { variant: 'festive' } },
      'string',
      [
        { key: 'festive', value: 'festive' },
        { key: 'plain', value: 'plain' },
      ],
    );
    const client = createClient({ sdkKey: (await l.key()).token, baseUrl: l.url, logger: silent });
    cleanup.push(() => client.close());
    await client.waitForReady({ timeout: 5_000 });
    expect(client.getString('banner', { key: 'u1' }, 'x')).toBe('festive');
    let sawPlainAt: number | undefined;
    client.on('change', () => {
      if (sawPlainAt === undefined && client.getString('banner', { key: 'u1' }, 'x') === 'plain')
        sawPlainAt = Date.now();
    });

    const at = inMs(1500);
    const created = await l.ok('POST', scheduledOf('banner'), { at, change: { enabled: false }, reason: 'sale over' });
    await eventually(() => sawPlainAt !== undefined, 'the SDK serves the off variant', 10_000);
    expect(sawPlainAt).toBeGreaterThanOrEqual(new Date(at).getTime());
    const applied = await l.ok('GET', `${scheduledOf('banner')}/${created.id}`);
    expect(applied).toMatchObject({ state: 'applied', settledBy: 'scheduler' });
    expect(client.getString('banner', { key: 'u1' }, 'x')).toBe('plain');
  });
});

describe('scheduled changes with several server instances on one Postgres', () => {
  it('are each applied exactly once while two instances tick', async () => {
    const testDb = await testDatabase();
    const a = await instance(testDb.url, 50);
    const b = await instance(testDb.url, 50);
    const okA = caller(a.app, await adminToken(a.database));
    const okB = caller(b.app, await adminToken(b.database));
    const flags = ['f1', 'f2', 'f3'];
    await fixtures(okA, flags);
    // Twelve changes due within the same second, scheduled through both instances; several
    // on one flag, each applied over the configuration the one before left.
    const at = inMs(1500);
    const ids: number[] = [];
    for (let i = 0; i < 12; i++) {
      const ok = i % 2 === 0 ? okA : okB;
      const flag = flags[i % flags.length] as string;
      const change =
        i % 2 === 0 ? { enabled: false } : { enabled: true, defaultServe: { variant: i % 4 === 1 ? 'off' : 'on' } };
      ids.push((await ok('POST', scheduledOf(flag), { at, change, ifVersionMoved: 'apply' })).id);
    }
    await eventually(
      async () => {
        for (const flag of flags) {
          const { items } = await okA('GET', `${scheduledOf(flag)}?state=pending`);
          if (items.length > 0) return false;
        }
        return true;
      },
      'every change leaves pending',
      20_000,
    );
    const counts = await applications(testDb.url);
    for (const id of ids) expect(counts.get(id), `change #${id}`).toEqual({ apply: 1, writes: 1 });
    for (const flag of flags) {
      const { items } = await okB('GET', scheduledOf(flag));
      expect(items.map((c: { state: string }) => c.state)).toEqual(items.map(() => 'applied'));
    }
    expect([a.app.planController.leading, b.app.planController.leading].filter(Boolean)).toHaveLength(1);
  });

  it('are applied once when two instances fire the same change at the same moment, whoever holds the lock', async () => {
    const testDb = await testDatabase();
    const a = await instance(testDb.url, 3_600_000);
    const ok = caller(a.app, await adminToken(a.database));
    await fixtures(ok, ['f1']);
    const at = inMs(300);
    const ids: number[] = [];
    for (const change of [{ enabled: false }, { defaultServe: { variant: 'off' } }, { salt: 'again' }]) {
      ids.push((await ok('POST', scheduledOf('f1'), { at, change })).id);
    }
    await sleep(new Date(at).getTime() - Date.now() + 20);
    // Two runners, as two instances each believing itself the controller, on pools of their own.
    const other = openPostgres(testDb.url, { max: 5 });
    cleanup.push(() => other.close());
    const runners = [a.database, other].map(
      (database) => new ScheduleRunner({ writer: { db: database.db, feed: new ChangeFeed() }, now: Date.now }),
    );
    for (const id of ids) await Promise.all(runners.map((r) => r.fire(id)));
    const counts = await applications(testDb.url);
    for (const id of ids) expect(counts.get(id), `change #${id}`).toEqual({ apply: 1, writes: 1 });
  });

  it('are applied once by a server started again after their time, when the one running was stopped', async () => {
    const testDb = await testDatabase();
    const first = await instance(testDb.url, 50);
    const token = await adminToken(first.database);
    await fixtures(caller(first.app, token), ['f1']);
    const at = inMs(1000);
    const { id } = await caller(first.app, token)('POST', scheduledOf('f1'), { at, change: { enabled: false } });
    await first.close();
    await sleep(new Date(at).getTime() - Date.now() + 300);
    const [row] = await query<{ state: string }>(testDb.url, 'select state from scheduled_changes where id = $1', [id]);
    expect(row?.state).toBe('pending');

    const second = await instance(testDb.url, 50);
    const ok = caller(second.app, token);
    await eventually(async () => (await ok('GET', `${scheduledOf('f1')}/${id}`)).state === 'applied', 'it applies');
    expect((await ok('GET', `${API}/flags/f1/environments/prod`)).enabled).toBe(false);
    // Ticks go on; it stays applied once.
    await sleep(300);
    expect((await applications(testDb.url)).get(id)).toEqual({ apply: 1, writes: 1 });
  });

  it('are applied once by a server process started after their time, when the one before was killed', async () => {
    const testDb = await testDatabase();
    // This instance only answers the API: its controller's first tick is an hour away.
    const api = await instance(testDb.url, 3_600_000);
    const ok = caller(api.app, await adminToken(api.database));
    await fixtures(ok, ['f1']);
    const lockTaken = async () => {
      const probe = await testDb.database.tryAdvisoryLock(PLAN_LOCK);
      await probe?.release();
      return probe === undefined;
    };
    const spawnServer = () => {
      const child: ChildProcess = spawn(
        'node',
        ['--conditions=source', '--import', 'tsx', 'packages/server/src/main.ts'],
        {
          cwd: ROOT,
          env: {
            ...process.env,
            DATABASE_URL: testDb.url,
            REDIS_URL: '',
            PORT: '0',
            HOST: '127.0.0.1',
            LOG_LEVEL: 'silent',
            SWITCHYARD_PLAN_INTERVAL_MS: '100',
          },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let output = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      cleanup.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      return { child, exited, output: () => output };
    };

    const one = spawnServer();
    await eventually(lockTaken, `the server process takes the controller's lock:\n${one.output()}`, 60_000);
    const at = inMs(1500);
    const { id } = await ok('POST', scheduledOf('f1'), { at, change: { enabled: false } });
    one.child.kill('SIGKILL');
    await one.exited;
    await sleep(new Date(at).getTime() - Date.now() + 300);
    expect((await ok('GET', `${scheduledOf('f1')}/${id}`)).state).toBe('pending');

    const two = spawnServer();
    await eventually(
      async () => (await ok('GET', `${scheduledOf('f1')}/${id}`)).state === 'applied',
      `the process started again applies it:\n${two.output()}`,
      60_000,
    );
    expect((await applications(testDb.url)).get(id)).toEqual({ apply: 1, writes: 1 });
    expect((await ok('GET', `${API}/flags/f1/environments/prod`)).enabled).toBe(false);
  }, 120_000);
});
