import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createBenchDatabase } from '../propagation/database.js';
import { type Section, table } from '../report.js';

/**
 * How long `pnpm start` takes until the server answers `/readyz` with 200, as a user meets it:
 * the first start on an empty embedded database (which creates the cluster, migrates and seeds
 * it), a restart on that database, and the same on a real Postgres database when one is given.
 * The clock runs from the spawn of `pnpm start` (pnpm included) to the first 200 from /readyz,
 * polled every 20 ms. Rounds alternate first start and restart; a warm-up start first fills
 * tsx's transform cache, which every start after a user's very first one finds full.
 */
export interface StartupOptions {
  readonly rounds: number;
  /** A Postgres server to create scratch databases on; `undefined` measures the embedded database only. */
  readonly databaseUrl: string | undefined;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Start {
  readonly ms: number;
  /** What the server said creating the embedded database took, when it did. */
  readonly createdMs: number | undefined;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function answersReady(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // pnpm runs the server as its child: the group ends both.
  process.kill(-child.pid, 'SIGTERM');
  return exited;
}

/** One `pnpm start` until ready, then a clean stop (so a restart finds a cleanly closed database). */
async function timeStart(env: Record<string, string>): Promise<Start> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn('pnpm', ['start'], {
    cwd: ROOT,
    // An empty DATABASE_URL means the embedded database: the bench's own DATABASE_URL must not leak in.
    env: {
      ...process.env,
      DATABASE_URL: '',
      ...env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      REDIS_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c.toString();
  });
  try {
    while (!(await answersReady(port))) {
      if (child.exitCode !== null) throw new Error(`pnpm start exited with ${child.exitCode}:\n${output}`);
      if (performance.now() - started > 180_000) throw new Error(`not ready after 180 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const ms = performance.now() - started;
    const created = /embedded database created in ([\d.]+) s/.exec(output)?.[1];
    return { ms, createdMs: created === undefined ? undefined : Number(created) * 1000 };
  } finally {
    await stop(child);
  }
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function row(name: string, starts: readonly Start[]): string[] {
  const ms = starts.map((s) => s.ms);
  const created = starts.flatMap((s) => (s.createdMs === undefined ? [] : [s.createdMs]));
  return [
    name,
    seconds(median(ms)),
    seconds(Math.min(...ms)),
    seconds(Math.max(...ms)),
    created.length === 0 ? '–' : seconds(median(created)),
  ];
}

export async function runStartupBenchmark(options: StartupOptions, log: (line: string) => void): Promise<Section> {
  const embeddedFirst: Start[] = [];
  const embeddedRestart: Start[] = [];
  const postgresFirst: Start[] = [];
  const postgresRestart: Start[] = [];
  const warmUp = await mkdtemp(join(tmpdir(), 'switchyard-bench-startup-'));
  try {
    log('startup: warm-up start');
    await timeStart({ SWITCHYARD_DATA_DIR: warmUp });
  } finally {
    await rm(warmUp, { recursive: true, force: true });
  }
  for (let round = 1; round <= options.rounds; round++) {
    const dataDir = await mkdtemp(join(tmpdir(), 'switchyard-bench-startup-'));
    try {
      embeddedFirst.push(await timeStart({ SWITCHYARD_DATA_DIR: dataDir }));
      embeddedRestart.push(await timeStart({ SWITCHYARD_DATA_DIR: dataDir }));
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
    if (options.databaseUrl !== undefined) {
      const database = await createBenchDatabase(options.databaseUrl);
      try {
        postgresFirst.push(await timeStart({ DATABASE_URL: database.url }));
        postgresRestart.push(await timeStart({ DATABASE_URL: database.url }));
      } finally {
        await database.drop();
      }
    }
    log(
      `startup: round ${round}/${options.rounds}: embedded first ${seconds(embeddedFirst.at(-1)?.ms ?? 0)}, restart ${seconds(embeddedRestart.at(-1)?.ms ?? 0)}`,
    );
  }
  const rows = [
    row('embedded (PGlite), first start', embeddedFirst),
    row('embedded (PGlite), restart', embeddedRestart),
  ];
  if (options.databaseUrl !== undefined) {
    rows.push(row('Postgres, first start (empty database)', postgresFirst), row('Postgres, restart', postgresRestart));
  }
  const body = [
    `\`pnpm start\` until \`/readyz\` answers 200, from the spawn of pnpm (its own start included), median of ${options.rounds} rounds after a warm-up start; each round a first start on an empty database (creating the embedded cluster, migrating, seeding the demo project) and a restart on it. "creating the cluster" is what the server reports for PGlite's initdb, part of the first start.`,
    '',
    table(['start', 'median', 'min', 'max', 'creating the cluster (median)'], rows, [
      'left',
      'right',
      'right',
      'right',
      'right',
    ]),
  ].join('\n');
  return { title: 'Server start', body };
}
