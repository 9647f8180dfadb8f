import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openPostgres } from '../../packages/server/src/db/database.js';
import { ChangeFeed } from '../../packages/server/src/features/changes/change-feed.js';
import { createKey } from '../../packages/server/src/features/keys/service.js';
import { PLAN_LOCK } from '../../packages/server/src/features/plans/controller.js';
import { findPlan } from '../../packages/server/src/features/plans/store.js';
import { buildServer } from '../../packages/server/src/server.js';
import { createTestDatabase, type TestDatabase } from '../../packages/server/src/test-support/database.js';
import { SYSTEM } from '../../packages/server/src/test-support/server.js';
import { eventually } from './support.js';

type FastifyInstance = Awaited<ReturnType<typeof buildServer>>;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const API = '/api/v1/projects/web';
const PLAN = `${API}/flags/checkout/environments/prod/release-plan`;

/** One in-process instance on the database at `url`, with its own pool, bus and controller. */
async function instance(url: string, intervalMs: number): Promise<{ app: FastifyInstance; database: Database }> {
  const database = openPostgres(url, { max: 5 });
  const app = await buildServer({ database, logger: false, plans: { intervalMs } });
  cleanup.push(async () => {
    await app.close();
    await database.close();
  });
  return { app, database };
}

async function adminToken(database: Database): Promise<string> {
  const { token } = await createKey({ db: database.db, feed: new ChangeFeed() }, SYSTEM, {
    name: 'test admin',
    type: 'admin',
  });
  return token;
}

// biome-ignore lint/suspicious/noExplicitAny: the API answers JSON.
type Json = any;

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

async function planOnCheckout(ok: ReturnType<typeof caller>): Promise<void> {
  await ok('POST', '/api/v1/projects', { key: 'web', name: 'Web' });
  await ok('POST', `${API}/environments`, { key: 'prod', name: 'Production' });
  await ok('POST', `${API}/flags`, {
    key: 'checkout',
    name: 'checkout',
    type: 'string',
    variants: [
      { key: 'new', value: 'new' },
      { key: 'old', value: 'old' },
    ],
  });
  await ok('PUT', `${API}/flags/checkout/environments/prod`, {
    enabled: true,
    offVariant: 'old',
    defaultServe: { variant: 'old' },
  });
  await ok('PUT', PLAN, {
    variant: 'new',
    stages: [1, 5, 25, 50, 100].map((percent) => ({ percent, holdSeconds: 1 })),
  });
}

/** The stage each step of the history moved to, by action: every advance must name a different stage. */
function stepsOf(history: { action: string; stage: number }[]) {
  return history.filter((h) => h.action !== 'create').map((h) => `${h.action}:${h.stage}`);
}

const WALKED = ['start:1', 'advance:2', 'advance:3', 'advance:4', 'advance:5', 'complete:5'];

async function testDatabase(): Promise<TestDatabase & { url: string }> {
  const testDb = await createTestDatabase();
  cleanup.push(() => testDb.drop());
  if (testDb.url === undefined) throw new Error('these tests need DATABASE_URL: two instances share one Postgres');
  return testDb as TestDatabase & { url: string };
}

describe('release plans with several server instances on one Postgres', () => {
  it('are driven by one instance at a time, and each stage advances exactly once', async () => {
    const testDb = await testDatabase();
    const a = await instance(testDb.url, 50);
    const b = await instance(testDb.url, 50);
    const ok = caller(a.app, await adminToken(a.database));
    await planOnCheckout(ok);
    await ok('POST', `${PLAN}/start`);
    await eventually(async () => (await ok('GET', PLAN)).state === 'completed', 'the plan completes', 20_000);
    expect(stepsOf((await ok('GET', PLAN)).history)).toEqual(WALKED);
    expect([a.app.planController.leading, b.app.planController.leading].filter(Boolean)).toHaveLength(1);
  });

  it('take a stage once when two controllers judge the same read of a plan at the same moment', async () => {
    const testDb = await testDatabase();
    const a = await instance(testDb.url, 3_600_000);
    const b = await instance(testDb.url, 3_600_000);
    const ok = caller(a.app, await adminToken(a.database));
    await planOnCheckout(ok);
    const started = await ok('POST', `${PLAN}/start`);
    await new Promise((r) => setTimeout(r, 1100));
    const read = await findPlan(testDb.database.db, started.id);
    if (read === undefined) throw new Error('no plan');
    await Promise.all([a.app.planController.drive(read), b.app.planController.drive(read)]);
    expect(stepsOf((await ok('GET', PLAN)).history)).toEqual(['start:1', 'advance:2']);
  });

  describe("when the controller's process is killed mid-plan", () => {
    // A real server process, started through tsx. Its start is set-up, not what is checked: on
    // the shared 2-core machine at load 10–11 it took 10.4 s of the test's 18.5 s (the takeover
    // after the kill took 23 ms), and 10.6–28.2 s at load 10–18, so inside the 20 s test
    // timeout the test timed out under load. As a hook it has a timeout of its own, 120 s.
    let testDb: TestDatabase & { url: string };
    let child: ChildProcess;
    let exited: Promise<unknown>;
    const ends: (() => Promise<unknown>)[] = [];

    beforeAll(async () => {
      const db = await createTestDatabase();
      ends.push(() => db.drop());
      if (db.url === undefined) throw new Error('these tests need DATABASE_URL: two instances share one Postgres');
      testDb = db as TestDatabase & { url: string };
      child = spawn('node', ['--conditions=source', '--import', 'tsx', 'packages/server/src/main.ts'], {
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
      });
      let output = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
      });
      exited = new Promise((resolve) => child.once('exit', resolve));
      ends.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      });
      await eventually(() => /ready in/.test(output), `the server process starts:\n${output}`, 110_000);
      // The process drives the plan first: it takes the lock before the other instance starts.
      await eventually(lockTaken, 'the server process takes the plan lock');
    }, 120_000);

    afterAll(async () => {
      for (const end of ends.splice(0).reverse()) await end();
    });

    /** Whether some session holds the plan lock: probing takes it for an instant when none does. */
    const lockTaken = async () => {
      const probe = await testDb.database.tryAdvisoryLock(PLAN_LOCK);
      await probe?.release();
      return probe === undefined;
    };

    // The walk itself holds five 1 s stages at a 100 ms interval (5.5 s at least), plus a
    // server's start and the plan's set-up: 9.1–20.8 s in ten runs at load 10–18, hence 60 s
    // rather than 20, and waits of 20 s and 30 s for its two halves.
    it('another instance takes the lock over and completes the plan, each stage taken once', {
      timeout: 60_000,
    }, async () => {
      const b = await instance(testDb.url, 100);
      const ok = caller(b.app, await adminToken(b.database));
      await planOnCheckout(ok);
      await ok('POST', `${PLAN}/start`);
      await eventually(
        async () => (await ok('GET', PLAN)).stage?.number === 3,
        'the process drives the plan to stage 3',
        20_000,
      );
      expect(b.app.planController.leading).toBe(false);

      child.kill('SIGKILL');
      await exited;
      await eventually(
        async () => (await ok('GET', PLAN)).state === 'completed',
        'the other instance completes it',
        30_000,
      );
      expect(b.app.planController.leading).toBe(true);
      expect(stepsOf((await ok('GET', PLAN)).history)).toEqual(WALKED);
    });
  });
});
