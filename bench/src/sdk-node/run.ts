import {
  compile,
  type EvaluationContext,
  type Evaluator,
  type Flag,
  FlagClient,
  type HttpResponse,
  type Platform,
  type Ruleset,
  type StreamHandlers,
} from '@switchyard/core';
import { generateContexts } from '../evaluation/contexts.js';
import { CONTEXT_COUNT, CONTEXT_SEED } from '../evaluation/run.js';
import { FLAG_IDS, FLAG_TITLES, type FlagId, ROLLOUT_FLAG, RULES_FLAG, STATIC_FLAG } from '../evaluation/scenario.js';
import { switchyardRuleset } from '../evaluation/switchyard.js';
import { type BenchCase, type CaseResult, type HarnessOptions, measure } from '../harness.js';
import { formatNs, type Section, table } from '../report.js';

const KEYS: Record<FlagId, string> = { a: STATIC_FLAG.key, b: ROLLOUT_FLAG.key, c: RULES_FLAG.key };
/** The three flags in turn, so that consecutive calls never share a result (no last-result shortcut). */
const MIXED = [KEYS.a, KEYS.b, KEYS.c];
type Row = FlagId | 'mixed';
const ROWS: readonly Row[] = [...FLAG_IDS, 'mixed'];
const ROW_TITLES: Record<Row, string> = { ...FLAG_TITLES, mixed: '(a), (b), (c) in turn' };
const MAX_OVERHEAD = 0.2;
const MEMORY_FLAGS = 1_000;
const MEMORY_BUDGET_BYTES = 1024 * 1024;

/**
 * A platform whose stream delivers `ruleset` as its `put` as soon as it opens, and whose HTTP
 * accepts event batches: the client behind it is exactly the one the Node SDK's
 * `createClient` returns (`FlagClient`, analytics on), ready, without a network in the timing.
 */
function inProcessPlatform(ruleset: string): Platform {
  const timers = new Set<NodeJS.Timeout>();
  return {
    clock: {
      now: () => Date.now(),
      setTimeout(fn, ms) {
        const t = setTimeout(fn, ms);
        t.unref();
        timers.add(t);
        return () => clearTimeout(t);
      },
    },
    http: {
      request: async (): Promise<HttpResponse> => ({ status: 202, header: () => undefined, body: '' }),
    },
    stream: {
      open(_request, handlers: StreamHandlers) {
        queueMicrotask(() => {
          handlers.onOpen();
          handlers.onData();
          handlers.onEvent({ event: 'put', data: ruleset, lastEventId: '1' });
        });
        return { close() {} };
      },
    },
    logger: { debug() {}, info() {}, warn() {}, error() {} },
  };
}

async function readyClient(ruleset: Ruleset | string): Promise<FlagClient> {
  const text = typeof ruleset === 'string' ? ruleset : JSON.stringify(ruleset);
  const client = new FlagClient(
    // Analytics stay on (every getter counts), flushed far less often than a slice lasts.
    { sdkKey: 'bench', baseUrl: 'http://bench.invalid', flushIntervalMs: 3_600_000 },
    inProcessPlatform(text),
  );
  await client.waitForReady({ timeout: 5_000 });
  return client;
}

/** A typical server-side flag: two variants, a rule on a country list, a 25 % rollout otherwise. */
function typicalFlag(i: number): Flag {
  return {
    key: `flag-${String(i).padStart(4, '0')}`,
    type: 'boolean',
    variants: [
      { key: 'on', value: true },
      { key: 'off', value: false },
    ],
    metadata: { owner: `team-${i % 20}` },
    enabled: true,
    rules: [
      {
        id: 'pilot',
        clauses: [{ attribute: 'country', op: 'in', values: ['NL', 'BE', 'LU', 'DE', 'FR'] }],
        serve: { variant: 'on' },
      },
    ],
    defaultServe: {
      rollout: {
        weights: [
          { variant: 'on', weight: 25_000 },
          { variant: 'off', weight: 75_000 },
        ],
      },
    },
    version: i + 1,
  };
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('the memory measurement needs node --expose-gc');
  for (let i = 0; i < 3; i++) collect();
}

interface MemoryFigures {
  /** Heap held for the flags: every flag evaluated, then the analytics window sent. */
  bytes: number;
  /** The same before the analytics were sent: one window with two counters per flag. */
  withCounters: number;
  jsonBytes: number;
}

/** Fresh clients measured in turn; the median is reported, with the range of `bytes`. */
const MEMORY_SAMPLES = 7;

async function medianClientMemory(): Promise<MemoryFigures & { low: number; high: number }> {
  const samples: MemoryFigures[] = [];
  for (let i = 0; i < MEMORY_SAMPLES; i++) samples.push(await clientMemory());
  const median = (pick: (m: MemoryFigures) => number) =>
    samples.map(pick).sort((a, b) => a - b)[Math.floor(MEMORY_SAMPLES / 2)] as number;
  const bytes = samples.map((m) => m.bytes);
  return {
    bytes: median((m) => m.bytes),
    withCounters: median((m) => m.withCounters),
    jsonBytes: samples[0]?.jsonBytes ?? 0,
    low: Math.min(...bytes),
    high: Math.max(...bytes),
  };
}

/**
 * Heap held by a ready client serving `MEMORY_FLAGS` flags: the heap minus the heap before the
 * client was made, both after full collections. The ruleset's JSON text exists before and after,
 * so only what the client keeps counts. Every flag is evaluated, on its rule and on its rollout,
 * before the heap is read, so whatever an engine builds on first use counts too; the evaluation
 * counters that makes are read once with the flags and once after they were sent.
 */
async function clientMemory(): Promise<MemoryFigures> {
  const ruleset: Ruleset = {
    schemaVersion: 1,
    environment: 'bench',
    version: MEMORY_FLAGS,
    segments: [],
    flags: Array.from({ length: MEMORY_FLAGS }, (_, i) => typicalFlag(i)),
  };
  const text = JSON.stringify(ruleset);
  gc();
  const before = process.memoryUsage().heapUsed;
  const client = await readyClient(text);
  for (let i = 0; i < MEMORY_FLAGS; i++) {
    const key = typicalFlag(i).key;
    if (client.getBoolean(key, { key: 'u', country: 'NL' }, false) !== true) {
      throw new Error(`the memory client does not serve ${key}`);
    }
    client.getBoolean(key, { key: `user-${i}`, country: 'SE' }, false);
  }
  gc();
  const withCounters = process.memoryUsage().heapUsed - before;
  await client.flush();
  gc();
  const bytes = process.memoryUsage().heapUsed - before;
  await client.close();
  return { bytes, withCounters, jsonBytes: Buffer.byteLength(text) };
}

export async function runSdkNodeBenchmark(
  options: Omit<HarnessOptions, 'onRound'>,
  log: (line: string) => void,
): Promise<Section> {
  const contexts: EvaluationContext[] = generateContexts(CONTEXT_COUNT, CONTEXT_SEED).map((c) => ({ ...c }));
  // The bare core gets what the client gets: the ruleset as JSON text (parsed keys are not the
  // interned strings a literal ruleset holds), and an evaluator reached through a mutable field,
  // as a client holds the one its last put compiled. A constant reference would let the JIT fold
  // the evaluator's fields into the measured code, which no client can have.
  const text = JSON.stringify(switchyardRuleset);
  const bare: { evaluator: Evaluator } = { evaluator: compile(JSON.parse(text) as Ruleset) };
  const client = await readyClient(text);
  try {
    // The key of a single-flag row is looked up once, not per call: a lookup by row name shared
    // by every case would become megamorphic and add its own cost to every measured call.
    const keyOf = (row: Row): ((i: number) => string) => {
      if (row === 'mixed') return (i) => MIXED[i % 3] as string;
      const key = KEYS[row];
      return () => key;
    };
    const cases: BenchCase[] = ROWS.flatMap((row) => {
      const keyAt = keyOf(row);
      return [
        {
          id: `core ${row}`,
          async: false,
          size: contexts.length,
          fn: (i: number) =>
            bare.evaluator.evaluate(keyAt(i), contexts[i] as EvaluationContext, false, 'boolean').value,
        },
        {
          id: `sdk ${row}`,
          async: false,
          size: contexts.length,
          fn: (i: number) => client.getBoolean(keyAt(i), contexts[i] as EvaluationContext, false),
        },
      ];
    });
    log(`sdk-node: getter against bare core evaluation, 3 flags x ${contexts.length} contexts`);
    const results = await measure(cases, {
      ...options,
      onRound: (done, total) => {
        if (done % 10 === 0 || done === total) log(`sdk-node: round ${done}/${total}`);
      },
    });
    const byId = new Map(results.map((r) => [r.id, r]));
    const warnings: string[] = [];
    for (const row of ROWS) {
      const core = byId.get(`core ${row}`);
      const sdk = byId.get(`sdk ${row}`);
      if (core?.onPerPass !== sdk?.onPerPass) warnings.push(`${ROW_TITLES[row]}: the getter and the core disagree`);
    }
    log('sdk-node: memory of a ready client with 1 000 flags');
    const memory = await medianClientMemory();
    return { title: 'Node SDK getter', body: render(byId, memory, warnings, options) };
  } finally {
    await client.close();
  }
}

function render(
  results: ReadonlyMap<string, CaseResult>,
  memory: MemoryFigures & { low: number; high: number },
  warnings: readonly string[],
  options: Omit<HarnessOptions, 'onRound'>,
): string {
  const ns = (id: string) => results.get(id)?.nsPerOp ?? Number.NaN;
  const spread = (id: string) => {
    const r = results.get(id);
    return r === undefined ? '' : ` ±${((100 * (r.q3 - r.q1)) / 2 / r.nsPerOp).toFixed(0)} %`;
  };
  const timing = table(
    ['flag', 'core `evaluate`', 'SDK `getBoolean`', 'overhead', 'budget', 'met'],
    ROWS.map((row) => {
      const core = ns(`core ${row}`);
      const sdk = ns(`sdk ${row}`);
      const overhead = sdk / core - 1;
      return [
        ROW_TITLES[row],
        `${formatNs(core)} ns${spread(`core ${row}`)}`,
        `${formatNs(sdk)} ns${spread(`sdk ${row}`)}`,
        `${(overhead * 100).toFixed(1)} %`,
        `≤ ${MAX_OVERHEAD * 100} %`,
        overhead <= MAX_OVERHEAD ? 'yes' : '**no**',
      ];
    }),
    ['left', 'right', 'right', 'right', 'right', 'left'],
  );
  const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`;
  const memoryTable = table(
    [
      'flags',
      'ruleset JSON',
      'heap held by the ready client',
      'per flag',
      'budget',
      'met',
      'with 2,000 counters unsent',
    ],
    [
      [
        MEMORY_FLAGS.toLocaleString('en-US'),
        kib(memory.jsonBytes),
        `${kib(memory.bytes)} (${kib(memory.low)} – ${kib(memory.high)})`,
        `${(memory.bytes / MEMORY_FLAGS).toFixed(0)} B`,
        '≤ 1 MiB',
        memory.bytes <= MEMORY_BUDGET_BYTES ? 'yes' : '**no**',
        kib(memory.withCounters),
      ],
    ],
    ['right', 'right', 'right', 'right', 'right', 'left', 'right'],
  );
  return [
    'The three flags of the evaluation benchmark, for the same 10,000 contexts: the bare core ' +
      '(`compile(ruleset).evaluate(key, context, false, "boolean").value`, compiled from the same JSON text as ' +
      'the client and called through a mutable field, as a client holds its evaluator; a constant reference ' +
      'lets the JIT fold the evaluator into the measured code, which no client can have) against `getBoolean(key, ' +
      'context, false)` on a ready client, the `FlagClient` that `createClient` of `@switchyard/sdk-node` ' +
      'returns, with analytics on (every call is counted per flag, variant and reason). The client gets its ' +
      'ruleset from an in-process stream so that no socket is open while timing. The last row calls the ' +
      'three flags in turn, so that the analytics never count the same result twice in a row (the ' +
      'counter of the previous result is kept at hand; other results are found by identity in a map). ' +
      `Median of ${options.rounds} interleaved rounds (same harness as the evaluation benchmark).`,
    '',
    timing,
    '',
    `Memory: a ready client serving ${MEMORY_FLAGS.toLocaleString('en-US')} typical flags (two variants, a ` +
      'rule on a list of five countries, a 25 % rollout, one metadata entry), received as one `put`, every ' +
      'flag then evaluated on its rule and on its rollout: `heapUsed` minus `heapUsed` before the client was ' +
      `made, each after full collections, once the evaluation counts were sent; the median of ${MEMORY_SAMPLES} fresh ` +
      'clients, with the lowest and highest in brackets (a heap reading moves with what the collector ' +
      'left). The last column is the same ' +
      'before they were sent: the analytics window holds one counter per flag, variant and reason evaluated ' +
      '(at most `maxEvaluationCounters`) until the next flush.',
    '',
    memoryTable,
    '',
    warnings.length === 0
      ? 'The getter and the core agreed on every context.'
      : warnings.map((w) => `WARNING: ${w}`).join('\n'),
  ].join('\n');
}
