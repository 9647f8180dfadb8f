import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { compile, type EvaluationContext, type Evaluator, type Ruleset } from '@switchyard/core';
import { CONTEXT_COUNT, CONTEXT_SEED, generateContexts } from '../evaluation/contexts.js';
import { FLAG_IDS, FLAG_TITLES, type FlagId, ROLLOUT_FLAG, RULES_FLAG, STATIC_FLAG } from '../evaluation/scenario.js';
import { switchyardRuleset } from '../evaluation/switchyard.js';
import { type BenchCase, type CaseResult, type HarnessOptions, measure, quantile } from '../harness.js';
import { readyClient } from './ready-client.js';

const KEYS: Record<FlagId, string> = { a: STATIC_FLAG.key, b: ROLLOUT_FLAG.key, c: RULES_FLAG.key };
/** The three flags in turn, so that consecutive calls never share a result (no run to count). */
const MIXED = [KEYS.a, KEYS.b, KEYS.c];
export type Row = FlagId | 'mixed';
export const ROWS: readonly Row[] = [...FLAG_IDS, 'mixed'];
export const ROW_TITLES: Record<Row, string> = { ...FLAG_TITLES, mixed: '(a), (b), (c) in turn' };

export type Timing = Pick<CaseResult, 'nsPerOp' | 'q1' | 'q3'>;

/** One process's figures for one row: the bare core and the getter, and whether they agreed. */
export interface RowTiming {
  readonly core: Timing;
  readonly sdk: Timing;
  /**
   * The median across rounds of the getter's time over the core's in the same round, less 1. Both
   * slices of a round lie within half a second, so a burst of load from another process on the
   * machine moves both, where the ratio of the two medians would compare different moments.
   */
  readonly overhead: number;
  readonly agreed: boolean;
}

export type GetterTimings = Record<Row, RowTiming>;

/**
 * The bare core against the getter, timed in this process. The core gets what the client gets:
 * the ruleset as JSON text (parsed keys are not the interned strings a literal ruleset holds), and
 * an evaluator read from a field written twice, as the client's store field is after its second
 * put. V8 treats a field written only once as a constant, and the JIT then folds the evaluator
 * and its fields into the measured code: both sides could have that only until a client's first
 * reconnection, and a fold on one side alone moved flag (a)'s overhead by about 15 points.
 */
async function measureGetter(options: Omit<HarnessOptions, 'onRound'>): Promise<GetterTimings> {
  const contexts: EvaluationContext[] = generateContexts(CONTEXT_COUNT, CONTEXT_SEED).map((c) => ({ ...c }));
  const text = JSON.stringify(switchyardRuleset);
  const bare: { evaluator: Evaluator } = { evaluator: compile(JSON.parse(text) as Ruleset) };
  bare.evaluator = compile(JSON.parse(text) as Ruleset);
  const client = await readyClient(text, 2);
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
    // Every case serves every context a few times before any timing loop exists, so that the code
    // both sides share (the evaluator's, the getter's, the aggregator's slow path) has seen every
    // flag, as in a process serving many, before the JIT compiles a loop around it. Without this,
    // the core's loop for flag (a) was compiled having seen flag (a) alone and kept that code,
    // while the getter's was deoptimised once, when another case first ended its run (a path that
    // had no feedback yet), and recompiled having seen all three.
    for (let pass = 0; pass < 3; pass++) {
      for (const c of cases) for (let i = 0; i < c.size; i++) c.fn(i);
    }
    const results = new Map((await measure(cases, options)).map((r) => [r.id, r]));
    const result = (id: string): CaseResult => {
      const r = results.get(id);
      if (r === undefined) throw new Error(`no result for ${id}`);
      return r;
    };
    const entries = ROWS.map((row): [Row, RowTiming] => {
      const core = result(`core ${row}`);
      const sdk = result(`sdk ${row}`);
      const ratios = sdk.samples.map((ns, round) => ns / (core.samples[round] as number)).sort((x, y) => x - y);
      return [
        row,
        {
          core: { nsPerOp: core.nsPerOp, q1: core.q1, q3: core.q3 },
          sdk: { nsPerOp: sdk.nsPerOp, q1: sdk.q1, q3: sdk.q3 },
          overhead: quantile(ratios, 0.5) - 1,
          agreed: core.onPerPass === sdk.onPerPass && core.consistent && sdk.consistent,
        },
      ];
    });
    return Object.fromEntries(entries) as GetterTimings;
  } finally {
    await client.close();
  }
}

const SELF = fileURLToPath(import.meta.url);

/**
 * The getter against the core, timed in a node process of its own. What the JIT makes of the same
 * code differs from one process to the next (what it inlines, which feedback it has when it
 * recompiles after a deopt), and moved flag (a)'s overhead by up to 15 points between processes
 * of the same build; only several processes show that spread.
 */
export function measureGetterInFreshProcess(options: Omit<HarnessOptions, 'onRound'>): GetterTimings {
  const out = execFileSync(process.execPath, ['--expose-gc', SELF, JSON.stringify(options)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return JSON.parse(out) as GetterTimings;
}

if (process.argv[1] === SELF) {
  const options = JSON.parse(process.argv[2] ?? '') as Omit<HarnessOptions, 'onRound'>;
  process.stdout.write(JSON.stringify(await measureGetter(options)));
}
