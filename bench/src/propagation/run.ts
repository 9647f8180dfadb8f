import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Section } from '../report.js';
import { AdminApi } from './admin-api.js';
import { ClientPool, type Delivered } from './client-pool.js';
import { createBenchDatabase } from './database.js';
import { type FloorProcess, startFloor } from './floor.js';
import { interrupt, onInterrupt } from './interrupt.js';
import { renderPropagation } from './render.js';
import { type ServerProcess, startServer } from './server-process.js';
import type { ClientKind } from './streams.js';

export interface PropagationOptions {
  /** Postgres server on which the run creates (and drops) its own database. */
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly clients: readonly number[];
  readonly instances: readonly number[];
  /** Worker processes per instance (`SWITCHYARD_WORKERS`); 1 runs each instance as one process. */
  readonly workers: number;
  /** Timed flips per scenario, after `warmupFlips` untimed ones. */
  readonly flips: number;
  readonly warmupFlips: number;
  /** Pause after every flip has reached every client, before the next flip. */
  readonly pauseMs: number;
  readonly clientThreads: number;
  /** How the clients read their streams (see streams.ts). */
  readonly client: ClientKind;
  /** When set, every server writes a V8 CPU profile there as it exits. */
  readonly serverCpuProfileDir?: string | undefined;
}

export interface ScenarioResult {
  readonly instances: number;
  readonly workers: number;
  readonly clients: number;
  /** Per timed flip, ms from the API's 200 to the last client having the patch. */
  readonly lastMs: readonly number[];
  /** Per timed flip, ms from the API's 200 to the first client having it (negative: before the 200). */
  readonly firstMs: readonly number[];
  /** Per timed flip, ms from sending the API request to its 200. */
  readonly apiMs: readonly number[];
  readonly openMs: number;
  /** Server memory summed over the instances, KiB, each after a full garbage collection. */
  readonly rssBeforeKiB: number;
  readonly rssIdleKiB: number;
  readonly rssAfterFlipsKiB: number;
  /** The same as `rssIdleKiB`, read without collecting garbage, 2 s after the last stream opened. */
  readonly rssIdleUncollectedKiB: number;
  /** CPU time per timed flip, ms: of the servers (summed), and of the bench process (its client threads, mostly). */
  readonly serverCpuMsPerFlip: number;
  readonly benchCpuMsPerFlip: number;
  /** The machine's 1-minute load average when the flips started and when they ended. */
  readonly loadBefore: number;
  readonly loadAfter: number;
  /** Bytes of the data of the patch the clients received. */
  readonly patchBytes: number | undefined;
}

/** The plain-socket floor (floor-process.ts) with the same clients, right after the one-instance scenario. */
export interface FloorResult {
  readonly clients: number;
  /** Per timed flip, ms from sending the order to the floor to the last client having the patch. */
  readonly lastMs: readonly number[];
  readonly cpuMsPerFlip: number;
  readonly rssBeforeKiB: number;
  readonly rssIdleKiB: number;
  readonly loadBefore: number;
  readonly loadAfter: number;
}

export interface ScenarioFailure {
  readonly instances: number;
  readonly clients: number;
  readonly error: string;
}

export type ScenarioOutcome = ScenarioResult | ScenarioFailure;

const ADMIN_TOKEN = `sy_admin_bench_${randomBytes(12).toString('hex')}`;
const CONFIG_PATH = '/api/v1/projects/demo/flags/new-checkout/environments/production';
const FLIP_TIMEOUT_MS = 10_000;
const OPEN_TIMEOUT_MS = 30_000;
const OPEN_ALL_TIMEOUT_MS = 120_000;
const BATCH_SIZE = 500;
/** The floor's patch size when the server scenario before it failed and did not tell. */
const DEFAULT_PATCH_BYTES = 300;
/** Streams opened and closed before the memory baseline, so that it includes the code they load. */
const WARMUP_STREAMS = 20;
/** Quiet time after streams open or close, before the servers' memory is read. */
const SETTLE_MS = 2000;
/** However a run goes wrong, it ends (and cleans up) by then. */
const DEADLINE_MS = 15 * 60_000;

/**
 * The propagation benchmark: N SSE clients on one or three server processes, 200 kill/unkill
 * flips through the API, the time from each 200 to the last client having the patch, and the
 * servers' memory per idle stream.
 */
export async function runPropagationBenchmark(
  options: PropagationOptions,
  log: (line: string) => void,
): Promise<Section> {
  const needed = Math.max(...options.clients) + 1000;
  const limit = openFileLimit();
  if (limit !== undefined && limit < needed) {
    throw new Error(
      `the open-file limit is ${limit}, below the ${needed} that ${Math.max(...options.clients)} streams need: ` +
        'run through `pnpm bench`, which raises it, or `ulimit -n` first',
    );
  }
  const database = await createBenchDatabase(options.databaseUrl);
  log(`propagation: database ${database.name}`);
  const forget = onInterrupt(() => database.drop());
  const deadline = setTimeout(() => void interrupt(`still running after ${DEADLINE_MS / 60_000} min`, 1), DEADLINE_MS);
  const outcomes: ScenarioOutcome[] = [];
  const floors: FloorResult[] = [];
  try {
    const shared = {
      ...options,
      databaseUrl: database.url,
      channel: `switchyard:bench:${randomBytes(6).toString('hex')}`,
      serverKey: undefined as string | undefined,
    };
    for (const instances of options.instances) {
      for (const clients of options.clients) {
        const label = `${clients} clients on ${instances} instance${instances === 1 ? '' : 's'}`;
        log(`propagation: ${label}…`);
        try {
          const result = await runScenario(shared, instances, clients, (line) => log(`propagation: ${label}: ${line}`));
          outcomes.push(result);
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          log(`propagation: ${label} FAILED: ${error}`);
          outcomes.push({ instances, clients, error });
        }
        if (instances !== options.instances[0]) continue;
        // The floor runs right after the first scenario of each size, so both see the same machine.
        const bytes = (outcomes.at(-1) as Partial<ScenarioResult>).patchBytes ?? DEFAULT_PATCH_BYTES;
        const floorLabel = `${clients} clients on the plain-socket floor`;
        log(`propagation: ${floorLabel}…`);
        try {
          floors.push(await runFloor(shared, clients, bytes, (line) => log(`propagation: ${floorLabel}: ${line}`)));
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          log(`propagation: ${floorLabel} FAILED: ${error}`);
          outcomes.push({ instances: 0, clients, error: `the floor: ${error}` });
        }
      }
    }
  } finally {
    clearTimeout(deadline);
    forget();
    await database.drop().catch((err: unknown) => log(`propagation: could not drop ${database.name}: ${err}`));
  }
  // The section still records the failure; the exit status tells a script that called the bench.
  if (outcomes.some((o) => 'error' in o)) process.exitCode = 1;
  return { title: 'Propagation', body: renderPropagation(outcomes, floors, options) };
}

interface RunState extends PropagationOptions {
  readonly channel: string;
  serverKey: string | undefined;
}

async function runScenario(
  state: RunState,
  instances: number,
  clients: number,
  log: (line: string) => void,
): Promise<ScenarioResult> {
  const servers: ServerProcess[] = [];
  let pool: ClientPool | undefined;
  let api: AdminApi | undefined;
  try {
    const env = {
      DATABASE_URL: state.databaseUrl,
      REDIS_URL: state.redisUrl,
      SWITCHYARD_REDIS_CHANNEL: state.channel,
      SWITCHYARD_ADMIN_TOKEN: ADMIN_TOKEN,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
      // The production defaults (0.5 s to connect, about 1 s per statement) refuse work on a
      // machine this bench saturates, often while it is shared: a server that cannot migrate,
      // or a flip answered 503, measures nothing about propagation.
      SWITCHYARD_DB_CONNECT_TIMEOUT_MS: '10000',
      SWITCHYARD_DB_ACQUIRE_TIMEOUT_MS: '10000',
      SWITCHYARD_DB_STATEMENT_TIMEOUT_MS: '20000',
      SWITCHYARD_DB_QUERY_TIMEOUT_MS: '25000',
    };
    const start = () =>
      startServer({ env, readyTimeoutMs: 30_000, cpuProfileDir: state.serverCpuProfileDir, workers: state.workers });
    // The first instance migrates and seeds an empty database; the others start on what it made.
    servers.push(await start());
    servers.push(...(await Promise.all(Array.from({ length: instances - 1 }, start))));
    const ports = servers.map((s) => s.port);
    api = new AdminApi(ports[0] as number, ADMIN_TOKEN, FLIP_TIMEOUT_MS);
    state.serverKey ??= await createServerKey(api);
    const token = state.serverKey;

    const warm = await ClientPool.open({ ...poolOptions(state, ports, token), streams: WARMUP_STREAMS * instances });
    await warm.close();
    await sleep(SETTLE_MS);
    const rssBeforeKiB = await collectedRss(servers);

    const opening = performance.now();
    pool = await ClientPool.open({ ...poolOptions(state, ports, token), streams: clients });
    const openMs = performance.now() - opening;
    log(`${clients} streams open in ${(openMs / 1000).toFixed(1)} s`);
    await sleep(SETTLE_MS);
    const rssIdleUncollectedKiB = await totalRss(servers);
    const rssIdleKiB = await collectedRss(servers);

    const config = await api.expect(200, 'GET', CONFIG_PATH);
    let enabled = (config.body as { enabled: boolean }).enabled;
    const lastMs: number[] = [];
    const firstMs: number[] = [];
    const apiMs: number[] = [];
    const total = state.warmupFlips + state.flips;
    let serverCpuFrom = 0;
    let benchCpuFrom = 0;
    let last: Delivered | undefined;
    const loadBefore = os.loadavg()[0] as number;
    for (let i = 0; i < total; i++) {
      if (i === state.warmupFlips) {
        serverCpuFrom = await totalCpuMs(servers);
        benchCpuFrom = benchCpuMs();
      }
      const answer = await api.expect(200, 'POST', `${CONFIG_PATH}/${enabled ? 'kill' : 'unkill'}`, {
        reason: `propagation bench, flip ${i + 1}`,
      });
      const body = answer.body as { version: number; enabled: boolean; changed: boolean };
      if (!body.changed || body.enabled === enabled) throw new Error(`flip ${i + 1} did not change the flag`);
      enabled = body.enabled;
      const delivered = await pool.delivered(body.version, FLIP_TIMEOUT_MS);
      last = delivered;
      if (delivered.enabled !== enabled) {
        throw new Error(`flip ${i + 1}: the clients got enabled=${delivered.enabled}, the API said ${enabled}`);
      }
      if (i >= state.warmupFlips) {
        lastMs.push(delivered.lastAt - answer.answeredAt);
        firstMs.push(delivered.firstAt - answer.answeredAt);
        apiMs.push(answer.answeredAt - answer.sentAt);
        const done = i + 1 - state.warmupFlips;
        if (done % 50 === 0) log(`${done}/${state.flips} flips`);
      }
      await sleep(state.pauseMs);
    }
    const serverCpuMsPerFlip = ((await totalCpuMs(servers)) - serverCpuFrom) / state.flips;
    const benchCpuMsPerFlip = (benchCpuMs() - benchCpuFrom) / state.flips;
    const loadAfter = os.loadavg()[0] as number;
    const rssAfterFlipsKiB = await collectedRss(servers);
    const patchBytes = last?.bytes;
    return {
      instances,
      workers: state.workers,
      clients,
      lastMs,
      firstMs,
      apiMs,
      openMs,
      rssBeforeKiB,
      rssIdleKiB,
      rssAfterFlipsKiB,
      rssIdleUncollectedKiB,
      serverCpuMsPerFlip,
      benchCpuMsPerFlip,
      loadBefore,
      loadAfter,
      patchBytes,
    };
  } finally {
    api?.close();
    await pool?.close();
    await Promise.allSettled(servers.map((s) => s.stop()));
  }
}

/**
 * The same clients on the plain-socket floor: the same flips, each a patch of `bytes` bytes
 * written by a process that does nothing else, timed from the order to the last client.
 */
async function runFloor(
  state: RunState,
  clients: number,
  bytes: number,
  log: (line: string) => void,
): Promise<FloorResult> {
  let floor: FloorProcess | undefined;
  let pool: ClientPool | undefined;
  try {
    floor = await startFloor(OPEN_TIMEOUT_MS);
    const ports = [floor.port];
    const warm = await ClientPool.open({ ...poolOptions(state, ports, 'floor'), streams: WARMUP_STREAMS });
    await warm.close();
    await sleep(SETTLE_MS);
    const rssBeforeKiB = await floor.collectedRssKiB();
    pool = await ClientPool.open({ ...poolOptions(state, ports, 'floor'), streams: clients });
    await sleep(SETTLE_MS);
    const rssIdleKiB = await floor.collectedRssKiB();
    const lastMs: number[] = [];
    const total = state.warmupFlips + state.flips;
    let cpuFrom = 0;
    const loadBefore = os.loadavg()[0] as number;
    for (let i = 0; i < total; i++) {
      if (i === state.warmupFlips) cpuFrom = await floor.cpuMs();
      const enabled = i % 2 === 0;
      const sentAt = floor.flip(i + 1, enabled, bytes);
      const delivered = await pool.delivered(i + 1, FLIP_TIMEOUT_MS);
      if (delivered.enabled !== enabled) throw new Error(`flip ${i + 1}: the clients got enabled=${delivered.enabled}`);
      if (i >= state.warmupFlips) lastMs.push(delivered.lastAt - sentAt);
      await sleep(state.pauseMs);
    }
    const cpuMsPerFlip = ((await floor.cpuMs()) - cpuFrom) / state.flips;
    const loadAfter = os.loadavg()[0] as number;
    log(`${((1000 * cpuMsPerFlip) / clients).toFixed(1)} µs of CPU per socket per flip`);
    return { clients, lastMs, cpuMsPerFlip, rssBeforeKiB, rssIdleKiB, loadBefore, loadAfter };
  } finally {
    await pool?.close();
    await floor?.stop();
  }
}

function poolOptions(state: RunState, ports: number[], token: string) {
  return {
    ports,
    threads: state.clientThreads,
    client: state.client,
    token,
    batchSize: BATCH_SIZE,
    openTimeoutMs: OPEN_TIMEOUT_MS,
    openAllTimeoutMs: OPEN_ALL_TIMEOUT_MS,
  };
}

async function createServerKey(api: AdminApi): Promise<string> {
  const answer = await api.expect(201, 'POST', '/api/v1/keys', {
    name: 'propagation bench',
    type: 'server',
    project: 'demo',
    environment: 'production',
  });
  return (answer.body as { token: string }).token;
}

/** RSS summed over the servers, each read after a full garbage collection. */
async function collectedRss(servers: readonly ServerProcess[]): Promise<number> {
  await Promise.all(servers.map((s) => s.collectGarbage()));
  return totalRss(servers);
}

async function totalCpuMs(servers: readonly ServerProcess[]): Promise<number> {
  const each = await Promise.all(servers.map((s) => s.cpuMs()));
  return each.reduce((a, b) => a + b, 0);
}

/** CPU time of this process so far, all threads (the client threads included). */
function benchCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

async function totalRss(servers: readonly ServerProcess[]): Promise<number> {
  const each = await Promise.all(servers.map((s) => s.rssKiB()));
  return each.reduce((a, b) => a + b, 0);
}

/** The soft limit on open files of this process, from /proc (Linux only; `undefined` elsewhere). */
function openFileLimit(): number | undefined {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
