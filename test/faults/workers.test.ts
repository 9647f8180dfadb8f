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

/** How many of the server port's established connections each process holds, from /proc. */
async function connectionsByProcess(pids: readonly number[]): Promise<Map<number, number>> {
  const port = Number(new URL(server.url).port);
  const inodes = new Set<string>();
  for (const line of (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    // local address as HEX_IP:HEX_PORT, state 01 = established, inode in field 9
    if (Number.parseInt(fields[1]?.split(':')[1] ?? '', 16) === port && fields[3] === '01') {
      inodes.add(fields[9] as string);
    }
  }
  const counts = new Map<number, number>();
  for (const pid of pids) {
    let count = 0;
    for (const fd of await readdir(`/proc/${pid}/fd`)) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (inodes.has(/^socket:\[(\d+)\]$/.exec(target)?.[1] ?? '')) count++;
    }
    counts.set(pid, count);
  }
  return counts;
}

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
    expect(server.output().match(/applying database migrations/g)?.length).toBe(3);
  });

  it('spreads the streams over both workers, and every stream gets every change in order', async () => {
    for (let i = 0; i < STREAMS; i++) {
      const s = new SseClient(() => server.url, token);
      streams.push(s);
      expect(await s.connect()).toBe(200);
    }
    await Promise.all(streams.map((s) => s.until((c) => c.of('put').length === 1, 'the put arrives')));
    const held = await connectionsByProcess(await workers());
    expect([...held.values()].every((n) => n > 0)).toBe(true);
    expect([...held.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(STREAMS);

    // Flags start off: each of these changes something.
    const versions = [await flip(false), await flip(true), await flip(false)];
    await Promise.all(streams.map((s) => s.until((c) => patchIds(c).length === 3, 'three patches arrive', 20_000)));
    for (const s of streams) expect(patchIds(s)).toEqual(versions);
  }, 60_000);

  it('replaces a worker that dies; its streams resume on the other with exactly the patches they missed', async () => {
    const [victim, survivor] = (await workers()) as [number, number];
    process.kill(victim, 'SIGKILL');
    await eventually(() => streams.some((s) => !s.connected), 'the victim’s streams end');
    const cut = streams.filter((s) => !s.connected);
    const live = streams.filter((s) => s.connected);
    expect(cut.length).toBeGreaterThan(0);
    expect(live.length).toBeGreaterThan(0);

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

  it('stops its workers and exits 0 on SIGTERM', async () => {
    const pids = await workers();
    await server.kill('SIGTERM');
    expect(server.child.exitCode).toBe(0);
    for (const pid of pids) expect(alive(pid)).toBe(false);
  }, 30_000);
});
