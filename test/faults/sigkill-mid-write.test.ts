import { randomBytes } from 'node:crypto';
import { createClient, type SwitchyardClient } from '@switchyard/sdk-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../packages/server/src/test-support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import {
  call,
  eventually,
  expectNo5xx,
  METRICS_TOKEN,
  ok,
  PATIENT_POSTGRES,
  seedShop,
  sleep,
} from './support/cluster.js';
import { ADMIN_TOKEN, type ServerProcess, startServerProcess } from './support/server-process.js';
import { SseClient } from './support/sse-client.js';

const DATABASE_URL = process.env.DATABASE_URL ?? '';
const REDIS_URL = process.env.REDIS_URL ?? '';
const API = '/api/v1/projects/shop';
const FLAGS = 10;
const WRITERS = 16;
const STREAMS_PER_INSTANCE = 10;
/** How long the writers hammer A before it is killed. */
const LOAD_MS = 1500;

const silent = { debug() {}, info() {}, warn() {}, error() {} };

interface Outcome {
  what: string;
  /** 0: no answer (the process died with the request in flight). */
  status: number;
  /** The flags and version an acknowledged write says it stored. */
  flags: string[];
  version: number | undefined;
}

/** One random write of the kinds that change a ruleset: toggles, kills, unkills, a tag kill, a serve change. */
async function randomWrite(a: ServerProcess): Promise<Outcome> {
  const flag = `f${Math.floor(Math.random() * FLAGS)}`;
  const config = `${API}/flags/${flag}/environments/prod`;
  const pick = Math.floor(Math.random() * 5);
  const [what, method, path, body] = (
    [
      ['toggle', 'PATCH', config, { enabled: Math.random() < 0.5 }],
      ['kill', 'POST', `${config}/kill`, { reason: 'fault test' }],
      ['unkill', 'POST', `${config}/unkill`, { reason: 'fault test' }],
      ['tag kill', 'POST', `${API}/environments/prod/kill`, { tag: 'ops', reason: 'fault test' }],
      ['serve', 'PATCH', config, { defaultServe: { variant: Math.random() < 0.5 ? 'on' : 'off' } }],
    ] as const
  )[pick] as readonly [string, string, string, unknown];
  let res: Response;
  try {
    res = await fetch(`${a.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
  } catch {
    return { what, status: 0, flags: [], version: undefined };
  }
  const answer = (await res.json().catch(() => ({}))) as { version?: number; killed?: string[]; changed?: boolean };
  const changed = res.status === 200 && answer.changed !== false;
  return {
    what,
    status: res.status,
    flags: !changed ? [] : what === 'tag kill' ? (answer.killed ?? []) : [flag],
    version: answer.version,
  };
}

describe.skipIf(DATABASE_URL === '')('an instance killed with SIGKILL in the middle of writes', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let a: ServerProcess;
  let b: ServerProcess;
  let restarted: ServerProcess | undefined;
  let env: Record<string, string>;
  let token: string;
  let environmentId: string;
  let before: { version: number; auditId: number };
  const balancer = { target: 'a' as 'a' | 'b' };
  let sdkProxy: TcpProxy;
  let sdk: SwitchyardClient;
  const streams: SseClient[] = [];
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = new pg.Client({ connectionString: db.url as string });
    await sql.connect();
    env = { SWITCHYARD_METRICS_TOKEN: METRICS_TOKEN, ...PATIENT_POSTGRES };
    if (REDIS_URL !== '') {
      env.REDIS_URL = REDIS_URL;
      env.SWITCHYARD_REDIS_CHANNEL = `switchyard:faults:${randomBytes(6).toString('hex')}`;
    }
    a = await startServerProcess(db.url as string, env);
    b = await startServerProcess(db.url as string, env);
    token = await seedShop(a, FLAGS);
    for (let i = 0; i < FLAGS; i++) {
      await ok(a, 'PATCH', `${API}/flags/f${i}`, { tags: i % 2 === 0 ? ['ops'] : [] });
      await ok(a, 'PATCH', `${API}/flags/f${i}/environments/prod`, {
        enabled: true,
        defaultServe: { variant: 'on' },
        offVariant: 'off',
      });
    }
    const [row] = (
      await sql.query(
        `select e.id, e.version, (select coalesce(max(id), 0) from audit_entries) as audit_id
           from environments e join projects p on p.id = e.project_id where p.key = 'shop' and e.key = 'prod'`,
      )
    ).rows;
    environmentId = row.id;
    before = { version: Number(row.version), auditId: Number(row.audit_id) };

    // Half the streams on each instance; those on A fail over to B when it dies, as behind a load balancer.
    for (let i = 0; i < STREAMS_PER_INSTANCE * 2; i++) {
      const onA = i % 2 === 0;
      const stream = new SseClient(() => (onA && balancer.target === 'a' ? a.url : b.url), token, true);
      expect(await stream.connect()).toBe(200);
      streams.push(stream);
    }
    sdkProxy = new TcpProxy(Number(new URL(a.url).port));
    await sdkProxy.listen();
    sdk = createClient({
      sdkKey: token,
      baseUrl: sdkProxy.url,
      logger: silent,
      sendEvents: false,
      initialRetryDelayMs: 20,
      maxRetryDelayMs: 200,
    });
    await sdk.waitForReady({ timeout: 10_000 });
  });

  afterAll(async () => {
    sdk?.close();
    for (const s of streams) s.close();
    await Promise.all([a, b, restarted].map((s) => s?.kill()));
    await sdkProxy?.close();
    await sql?.end();
    await db?.drop();
  });

  it('leaves every write whole or absent, and every acknowledged one stored', async () => {
    let killed = false;
    const writer = async () => {
      while (!killed) outcomes.push(await randomWrite(a));
    };
    const writers = Array.from({ length: WRITERS }, writer);
    await sleep(LOAD_MS);
    killed = true;
    await a.kill('SIGKILL');
    balancer.target = 'b';
    sdkProxy.retarget(Number(new URL(b.url).port));
    await Promise.all(writers);

    const acknowledged = outcomes.filter((o) => o.status === 200);
    const inFlight = outcomes.filter((o) => o.status === 0);
    expect(outcomes.filter((o) => o.status >= 500)).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(20);
    const [{ version }] = (await sql.query('select version from environments where id = $1', [environmentId])).rows;
    const current = Number(version);
    const changes = (
      await sql.query('select version, kind, key from changes where environment_id = $1 and version > $2', [
        environmentId,
        before.version,
      ])
    ).rows.map((r) => ({ version: Number(r.version), kind: r.kind as string, key: r.key as string }));
    const audit = (
      await sql.query(
        `select target_key, (after->>'version')::bigint as version from audit_entries
          where id > $1 and environment_id = $2 and target_kind = 'flag'`,
        [before.auditId, environmentId],
      )
    ).rows.map((r) => `${r.target_key}@${r.version}`);

    // Every version bump has its outbox rows, with no gap: none was kept without the rest of its write.
    const versions = [...new Set(changes.map((c) => c.version))].sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: current - before.version }, (_, i) => before.version + i + 1));
    // Every outbox row has its audit entry, and every audit entry its outbox row.
    expect(audit.sort()).toEqual(changes.map((c) => `${c.key}@${c.version}`).sort());
    // Every flag's stored configuration is the one its last outbox row announced.
    const configs = (
      await sql.query(
        `select f.key, c.enabled, c.version from flag_configs c join flags f on f.id = c.flag_id where c.environment_id = $1`,
        [environmentId],
      )
    ).rows;
    for (const c of configs) {
      const last = Math.max(...changes.filter((x) => x.key === c.key).map((x) => x.version), 0);
      if (last > 0) expect(Number(c.version)).toBe(last);
    }
    // What A acknowledged before it died is there.
    const stored = new Set(changes.map((c) => `${c.key}@${c.version}`));
    for (const o of acknowledged) for (const f of o.flags) expect(stored).toContain(`${f}@${o.version}`);
    const answered = new Set(acknowledged.filter((o) => o.flags.length > 0).map((o) => o.version));
    process.stdout.write(
      `sigkill-mid-write: ${outcomes.length} writes, ${acknowledged.length} acknowledged, ${inFlight.length} cut by the kill, of which ${versions.filter((v) => !answered.has(v)).length} committed whole and ${inFlight.length - versions.filter((v) => !answered.has(v)).length} left nothing\n`,
    );
  }, 30_000);

  /** The database's flags of shop/prod: enabled and version, by key. */
  async function databaseFlags(): Promise<{
    version: number;
    flags: Map<string, { enabled: boolean; version: number; serves: boolean }>;
  }> {
    const [{ version }] = (await sql.query('select version from environments where id = $1', [environmentId])).rows;
    const rows = (
      await sql.query(
        `select f.key, c.enabled, c.version, c.default_serve from flag_configs c join flags f on f.id = c.flag_id
          where c.environment_id = $1 and not f.archived`,
        [environmentId],
      )
    ).rows;
    return {
      version: Number(version),
      flags: new Map(
        rows.map((r) => [
          r.key as string,
          {
            enabled: r.enabled as boolean,
            version: Number(r.version),
            // What the SDK must evaluate it to: the off variant when killed, else the default serve.
            serves: (r.enabled as boolean) && (r.default_serve as { variant?: string }).variant === 'on',
          },
        ]),
      ),
    };
  }

  const summary = (flags: Map<string, Record<string, unknown>> | Map<string, { enabled: boolean; version: number }>) =>
    Object.fromEntries([...flags].map(([k, f]) => [k, { enabled: f.enabled, version: f.version }]));

  it('has the surviving instance serve the database, and every stream and SDK converge to it', async () => {
    // B still writes: the killed transactions released their locks.
    await ok(b, 'PATCH', `${API}/flags/f1/environments/prod`, { enabled: false });
    const expected = await databaseFlags();
    await eventually(async () => {
      const res = await call(b, 'GET', '/sdk/v1/ruleset', undefined, token);
      return ((await res.json()) as { version: number }).version === expected.version;
    }, 'B serves the database version');
    const ruleset = (await (await call(b, 'GET', '/sdk/v1/ruleset', undefined, token)).json()) as {
      flags: { key: string; enabled: boolean; version: number }[];
    };
    expect(summary(new Map(ruleset.flags.map((f) => [f.key, f])))).toEqual(summary(expected.flags));

    for (const s of streams) {
      await s.until((c) => c.ruleset().version === expected.version, 'the stream reached the database version');
      expect(summary(s.ruleset().flags)).toEqual(summary(expected.flags));
      const ids = s.events.filter((e) => e.id !== undefined).map((e) => e.id as number);
      expect(ids).toEqual([...ids].sort((x, y) => x - y));
    }
    await eventually(() => sdk.version === expected.version, 'the SDK reached the database version');
    for (const [key, f] of expected.flags) expect(sdk.getBoolean(key, { key: 'u' }, !f.serves)).toBe(f.serves);
    expect(streams.flatMap((s) => s.statuses).filter((status) => status !== 200)).toEqual([]);
    await expectNo5xx(b);

    // A, started again, loads the same state.
    restarted = await startServerProcess(db.url as string, env);
    const again = (await (await call(restarted, 'GET', '/sdk/v1/ruleset', undefined, token)).json()) as {
      version: number;
      flags: { key: string; enabled: boolean; version: number }[];
    };
    expect(again.version).toBe(expected.version);
    expect(summary(new Map(again.flags.map((f) => [f.key, f])))).toEqual(summary(expected.flags));
  }, 30_000);
});
