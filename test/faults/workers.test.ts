import { randomBytes } from 'node:crypto';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../packages/server/src/test-support/database.js';
import { eventually, ok, PATIENT_POSTGRES, seedShop } from './support/cluster.js';
import { type ServerProcess, startServerProcess } from './support/server-process.js';
import { SseClient } from './support/sse-client.js';

const DATABASE_URL = process.env.DATABASE_URL ?? '';
const REDIS_URL = process.env.REDIS_URL ?? '';
const CONFIG = '/api/v1/projects/shop/flags/f0/environments/prod';
const STREAMS = 16;

let db: TestDatabase;
let server: ServerProcess;
let token: string;
const streams: SseClient[] = [];

/** The primary's workers: the processes it forked, from /proc. */
async function workers(): Promise<number[]> {
  const pid = server.child.pid as number;
  const children = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  return children.split(' ').filter(Boolean).map(Number);
}

/** The client ports of the server port's established connections that each process holds, from /proc. */
async function clientPortsByProcess(pids: readonly number[]): Promise<Map<number, Set<number>>> {
  const port = Number(new URL(server.url).port);
  const hexPort = (address: string | undefined) => Number.parseInt(address?.split(':')[1] ?? '', 16);
  const clientPortOf = new Map<string, number>();
  for (const line of (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // local and remote address as HEX_IP:HEX_PORT, state 01 = established, inode in field 9
    if (hexPort(fields[1]) === port && fields[3] === '01') clientPortOf.set(fields[9] as string, hexPort(fields[2]));
  }
  const held = new Map<number, Set<number>>();
  for (const pid of pids) {
    const ports = new Set<number>();
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const clientPort = clientPortOf.get(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '');
      if (clientPort !== undefined) ports.add(clientPort);
    }
    held.set(pid, ports);
  }
  return held;
}

/** The streams whose connection the process holds. */
const streamsOf = (ports: ReadonlySet<number> | undefined) =>
  streams.filter((s) => s.localPort !== undefined && ports?.has(s.localPort));

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const patchIds = (s: SseClient) => s.events.filter((e) => e.event === 'patch').map((e) => e.id as number);

/** Kills or unkills f0; the environment version the write stored. */
async function flip(kill: boolean): Promise<number> {
  const answer = await ok(server, 'POST', `${CONFIG}/${kill ? 'kill' : 'unkill'}`, { reason: 'workers test' });
  return answer.version as number;
}

describe.skipIf(DATABASE_URL === '' || REDIS_URL === '')('a server of two workers (SWITCHYARD_WORKERS=2)', () => {
  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess(db.url as string, {
      REDIS_URL,
      // A channel of its own: other tests on the machine's Redis never hear these workers.
      SWITCHYARD_REDIS_CHANNEL: `switchyard:workers:${randomBytes(6).toString('hex')}`,
      SWITCHYARD_WORKERS: '2',
      ...PATIENT_POSTGRES,
    });
    token = await seedShop(server, 1);
  }, 180_000);

  afterAll(async () => {
    for (const s of streams) s.close();
    await server?.kill('SIGKILL');
    await db?.drop();
  });

  it('starts once: one primary, two workers, one banner', async () => {
    expect(await workers()).toHaveLength(2);
    expect(server.output().match(/created the demo project/g)).toHaveLength(1);
    // The primary migrates; its workers do not.
    expect(server.output().match(/applying database migrations/g)).toHaveLength(1);
  });

  it('spreads the streams over both workers, and every stream gets every change in order', async () => {
    for (let i = 0; i < STREAMS; i++) {
      const s = new SseClient(() => server.url, token);
      streams.push(s);
      expect(await s.connect()).toBe(200);
    }
    await Promise.all(streams.map((s) => s.until((c) => c.of('put').length === 1, 'the put arrives')));
    const held = await clientPortsByProcess(await workers());
    const perWorker = [...held.values()].map((ports) => streamsOf(ports).length);
    // The primary hands connections out in turn: about half each.
    expect(perWorker.every((n) => n >= STREAMS / 4)).toBe(true);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(STREAMS);

    // Flags start off: each of these changes something.
    const versions = [await flip(false), await flip(true), await flip(false)];
    await Promise.all(streams.map((s) => s.until((c) => patchIds(c).length === 3, 'three patches arrive', 20_000)));
    for (const s of streams) expect(patchIds(s)).toEqual(versions);
  }, 60_000);

  it('replaces a worker that dies; its streams resume with exactly the patches they missed', async () => {
    const [victim, survivor] = (await workers()) as [number, number];
    const held = await clientPortsByProcess([victim, survivor]);
    const cut = streamsOf(held.get(victim));
    const live = streamsOf(held.get(survivor));
    expect(cut.length).toBeGreaterThan(0);
    expect(live.length).toBeGreaterThan(0);
    process.kill(victim, 'SIGKILL');
    await eventually(() => cut.every((s) => !s.connected), 'the victim’s streams end');
    expect(live.every((s) => s.connected)).toBe(true);

    const missed = [await flip(true), await flip(false)];
    await Promise.all(live.map((s) => s.until((c) => patchIds(c).length === 5, 'the live streams get both', 20_000)));
    for (const s of cut) {
      // The client sends Last-Event-ID: the version of the last patch it had.
      expect(await s.connect()).toBe(200);
      await s.until((c) => patchIds(c).length === 5, 'the resumed stream gets what it missed', 20_000);
      expect(patchIds(s).slice(3)).toEqual(missed);
      expect(s.of('put')).toHaveLength(1);
    }
    await eventually(
      async () => {
        const now = await workers();
        return now.length === 2 && now.includes(survivor) && !now.includes(victim);
      },
      'a new worker replaces the one that died',
      30_000,
    );
    expect(server.output()).toMatch(new RegExp(`worker ${victim} exited \\(SIGKILL\\); starting another`));
  }, 90_000);

  it('stops its workers and exits 0 on SIGTERM, each worker having stopped by itself', async () => {
    const pids = await workers();
    const started = Date.now();
    await server.kill('SIGTERM');
    expect(server.output()).not.toMatch(/did not stop cleanly/);
    expect(server.child.exitCode).toBe(0);
    // Sooner than the 10 s after which the primary kills a worker that has not stopped.
    expect(Date.now() - started).toBeLessThan(10_000);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 30_000);
});
