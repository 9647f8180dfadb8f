/**
 * `pnpm bench [evaluation|propagation|bundle-size|sdk-node|inlining|startup|events|release|console]…`: runs the named benchmarks (all of them when none is
 * named), prints their sections and replaces those sections of bench/RESULTS.md, keeping the
 * others.
 *
 * - `--quick`: fewer, shorter rounds and flips (for trying changes, not for reporting).
 * - `--rounds N`: evaluation rounds (and sdk-node's, and startup's pairs of starts).
 * - `--clients 1000,10000`, `--instances 1,3`, `--flips 200`, `--client-threads 2`,
 *   `--client socket|http`, `--workers 2`: propagation scenarios (`--workers`: processes per
 *   instance, `SWITCHYARD_WORKERS`); `--server-cpu-prof DIR` has every server write a V8 CPU
 *   profile into DIR.
 * - `--ingest-seconds 10`, `--concurrency 4`, `--units 10000,100000,1000000`: events scenarios.
 * - `--plan-interval-ms 250`: the release plans' controller interval; `--rounds N` there is the
 *   number of rounds of both plans (default 2).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

// The peers read NODE_ENV at run time (GrowthBook skips its debug logging in production); a
// server runs with it set, so the benchmark does too. It is set before any peer is loaded.
process.env.NODE_ENV ??= 'production';

const BENCHMARKS = [
  'evaluation',
  'propagation',
  'bundle-size',
  'sdk-node',
  'inlining',
  'startup',
  'events',
  'release',
  'console',
] as const;
type BenchmarkId = (typeof BENCHMARKS)[number];

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    clients: { type: 'string' },
    instances: { type: 'string' },
    workers: { type: 'string' },
    flips: { type: 'string' },
    'client-threads': { type: 'string' },
    client: { type: 'string' },
    'server-cpu-prof': { type: 'string' },
    'ingest-seconds': { type: 'string' },
    concurrency: { type: 'string' },
    units: { type: 'string' },
    'plan-interval-ms': { type: 'string' },
  },
});

for (const p of positionals) {
  if (!(BENCHMARKS as readonly string[]).includes(p)) {
    throw new Error(`unknown benchmark "${p}"; choose from ${BENCHMARKS.join(', ')}`);
  }
}
const selected: readonly BenchmarkId[] =
  positionals.length === 0 ? BENCHMARKS : BENCHMARKS.filter((b) => positionals.includes(b));

const { describeMachine, mergeResults } = await import('./report.js');
type SectionRun = import('./report.js').SectionRun;

const quick = values.quick === true;
const log = (line: string) => console.error(line);
const command = ['pnpm bench', ...process.argv.slice(2)].join(' ');
const started = Date.now();
const runs: SectionRun[] = [];

for (const id of selected) {
  const date = new Date();
  const section =
    id === 'evaluation'
      ? await evaluation()
      : id === 'propagation'
        ? await propagation()
        : id === 'sdk-node'
          ? await sdkNode()
          : id === 'inlining'
            ? await inlining()
            : id === 'startup'
              ? await startup()
              : id === 'events'
                ? await events()
                : id === 'release'
                  ? await release()
                  : id === 'console'
                    ? await consoleSize()
                    : await bundleSize();
  runs.push({ id, command, date, machine: describeMachine(), section });
}

const resultsUrl = new URL('../RESULTS.md', import.meta.url);
const existing = await readFile(resultsUrl, 'utf8').catch(() => undefined);
await writeFile(resultsUrl, mergeResults(existing, runs, BENCHMARKS), 'utf8');
for (const run of runs) console.log(`## ${run.section.title}\n\n${run.section.body}`);
log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s; updated bench/RESULTS.md (${selected.join(', ')})`);

async function evaluation() {
  const { runEvaluationBenchmark } = await import('./evaluation/run.js');
  const options = {
    rounds: values.rounds === undefined ? (quick ? 5 : 31) : Number(values.rounds),
    warmupRounds: quick ? 1 : 3,
    sliceMs: quick ? 20 : 50,
    calibrateMs: quick ? 50 : 200,
    seed: 1,
  };
  if (!Number.isInteger(options.rounds) || options.rounds < 1) throw new Error('--rounds must be a positive integer');
  if (globalThis.gc === undefined) log('note: run node with --expose-gc to collect garbage between slices');
  return runEvaluationBenchmark(options, log);
}

async function propagation() {
  const { runPropagationBenchmark } = await import('./propagation/run.js');
  const profileDir = values['server-cpu-prof'];
  return runPropagationBenchmark(
    {
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      clients: integers('clients', values.clients ?? '1000,10000'),
      instances: integers('instances', values.instances ?? '1,3'),
      workers: integers('workers', values.workers ?? '1')[0] as number,
      flips: integers('flips', values.flips ?? (quick ? '20' : '200'))[0] as number,
      warmupFlips: quick ? 3 : 10,
      pauseMs: 50,
      clientThreads: integers('client-threads', values['client-threads'] ?? '2')[0] as number,
      client: clientKind(values.client ?? 'socket'),
      serverCpuProfileDir: profileDir === undefined ? undefined : resolve(profileDir),
    },
    log,
  );
}

async function inlining() {
  const { runInliningBenchmark } = await import('./inlining/run.js');
  return runInliningBenchmark(log);
}

async function consoleSize() {
  const { runConsoleBenchmark } = await import('./console/run.js');
  return runConsoleBenchmark(log);
}

async function bundleSize() {
  const { runBundleSizeBenchmark } = await import('./bundle-size/run.js');
  return runBundleSizeBenchmark(log);
}

function clientKind(text: string): 'socket' | 'http' {
  if (text !== 'socket' && text !== 'http') throw new Error(`--client takes socket or http, not "${text}"`);
  return text;
}

function integers(option: string, text: string): number[] {
  const list = text.split(',').map((s) => Number(s.trim()));
  if (list.length === 0 || list.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error(`--${option} takes positive integers separated by commas, not "${text}"`);
  }
  return list;
}

async function sdkNode() {
  const { runSdkNodeBenchmark } = await import('./sdk-node/run.js');
  // Fewer rounds and a shorter calibration than the evaluation benchmark's, in each of several
  // processes: the harness collects garbage before every calibration pass, and a pass over flag
  // (a) lasts under 0.1 ms, so 200 ms of calibration took over ten seconds per process.
  return runSdkNodeBenchmark(
    {
      rounds: values.rounds === undefined ? (quick ? 5 : 21) : Number(values.rounds),
      warmupRounds: quick ? 1 : 3,
      sliceMs: quick ? 20 : 50,
      calibrateMs: quick ? 20 : 50,
      seed: 2,
    },
    log,
  );
}

async function startup() {
  const { runStartupBenchmark } = await import('./startup/run.js');
  const rounds = values.rounds === undefined ? (quick ? 2 : 5) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');
  return runStartupBenchmark(
    { rounds, databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    log,
  );
}

async function events() {
  const { runEventsBenchmark } = await import('./events/run.js');
  return runEventsBenchmark(
    {
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      ingestSeconds: integers('ingest-seconds', values['ingest-seconds'] ?? (quick ? '3' : '10'))[0] as number,
      warmupSeconds: quick ? 1 : 2,
      concurrency: integers('concurrency', values.concurrency ?? '4')[0] as number,
      units: integers('units', values.units ?? (quick ? '10000,100000' : '10000,100000,1000000')),
      resultRuns: quick ? 5 : 15,
    },
    log,
  );
}

async function release() {
  const { runReleaseBenchmark } = await import('./release/run.js');
  return runReleaseBenchmark(
    {
      databaseUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
      intervalMs: integers('plan-interval-ms', values['plan-interval-ms'] ?? '250')[0] as number,
      rounds: integers('rounds', values.rounds ?? (quick ? '1' : '2'))[0] as number,
      clients: 4,
      testUsers: 1000,
      usersPerSecond: 500,
      flushMs: 200,
    },
    log,
  );
}
