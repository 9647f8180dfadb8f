import { compile, type EvaluationContext, type Evaluator, type Ruleset } from '@switchyard/core';
import { generateContexts } from '../evaluation/contexts.js';
import { CONTEXT_COUNT, CONTEXT_SEED } from '../evaluation/run.js';
import { FLAG_IDS, FLAG_TITLES, type FlagId, ROLLOUT_FLAG, RULES_FLAG, STATIC_FLAG } from '../evaluation/scenario.js';
import { switchyardRuleset } from '../evaluation/switchyard.js';
import { type BenchCase, type CaseResult, type HarnessOptions, measure } from '../harness.js';
import { formatNs, type Section, table } from '../report.js';
import { clientMemoryInFreshProcess, MEMORY_FLAGS, MEMORY_SAMPLES, type MemoryResult } from './memory.js';
import { readyClient } from './ready-client.js';

const KEYS: Record<FlagId, string> = { a: STATIC_FLAG.key, b: ROLLOUT_FLAG.key, c: RULES_FLAG.key };
/** The three flags in turn, so that consecutive calls never share a result (no last-result shortcut). */
const MIXED = [KEYS.a, KEYS.b, KEYS.c];
type Row = FlagId | 'mixed';
const ROWS: readonly Row[] = [...FLAG_IDS, 'mixed'];
const ROW_TITLES: Record<Row, string> = { ...FLAG_TITLES, mixed: '(a), (b), (c) in turn' };
const MAX_OVERHEAD = 0.2;
const MEMORY_BUDGET_BYTES = 1024 * 1024;

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
    const memory = clientMemoryInFreshProcess();
    return { title: 'Node SDK getter', body: render(byId, memory, warnings, options) };
  } finally {
    await client.close();
  }
}

function render(
  results: ReadonlyMap<string, CaseResult>,
  memory: MemoryResult,
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
      'left), measured in a node process of their own so that the benchmarks run before leave nothing on ' +
      'its heap. The last column is the same ' +
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
