import { Random } from './random.js';

/**
 * A small timing harness for micro-benchmarks of many implementations in one process.
 *
 * - Every case runs whole passes over its prepared inputs, so each sample sees the same mix.
 * - Each case gets its own copy of the timing loop (built with `new Function`): a shared loop
 *   would see every implementation at one call site, go megamorphic, and add a non-inlined call
 *   to the fastest implementations' time.
 * - After calibration and warm-up rounds, each round runs every case once for about `sliceMs`,
 *   in a new seeded order, so that machine noise and ordering effects spread over all cases.
 * - The reported figure is the median ns/op across rounds, with the interquartile spread.
 * - With `--expose-gc`, a full GC runs before every slice so no case pays for another's garbage.
 */

/** Evaluates the `index`-th input; `true` counts as "on". */
export type CaseFn = (index: number) => boolean | Promise<boolean>;

export interface BenchCase {
  readonly id: string;
  readonly async: boolean;
  /** Inputs per pass: `fn` is called with 0 … size - 1. */
  readonly size: number;
  readonly fn: CaseFn;
}

export interface HarnessOptions {
  readonly rounds: number;
  readonly warmupRounds: number;
  /** Target duration of one timed slice. */
  readonly sliceMs: number;
  /** Minimum time each case runs while calibrating, before the warm-up rounds. */
  readonly calibrateMs: number;
  readonly seed: number;
  /** Called after each round (warm-up rounds included), for progress output. */
  readonly onRound?: (done: number, total: number) => void;
}

export interface CaseResult {
  readonly id: string;
  /** Median ns per call across rounds. */
  readonly nsPerOp: number;
  /** First and third quartiles of ns per call across rounds. */
  readonly q1: number;
  readonly q3: number;
  readonly samples: readonly number[];
  /** Calls per timed slice. */
  readonly opsPerSlice: number;
  /** "On" results per pass; the same in every pass, or `consistent` is false. */
  readonly onPerPass: number;
  readonly consistent: boolean;
}

type Loop = (fn: CaseFn, size: number, passes: number) => number | Promise<number>;

const LOOP_BODY = (awaited: boolean) => `
  let on = 0;
  for (let p = 0; p < passes; p++) {
    for (let i = 0; i < size; i++) {
      if ((${awaited ? 'await ' : ''}fn(i)) === true) on++;
    }
  }
  return on;`;

const AsyncFunction = (async () => {}).constructor as FunctionConstructor;

let loopsMade = 0;

function makeLoop(async: boolean): Loop {
  const Ctor = async ? AsyncFunction : Function;
  // V8 caches what it compiles by source text: loops of the same text would share one function,
  // and with it one call site for every case, which goes megamorphic and stops inlining. A
  // numbered first line makes each loop's text, and so its function, its own.
  loopsMade++;
  return new Ctor('fn', 'size', 'passes', `// loop ${loopsMade}\n${LOOP_BODY(async)}`) as Loop;
}

interface Runner {
  readonly c: BenchCase;
  readonly loop: Loop;
  passes: number;
  onPerPass: number;
  consistent: boolean;
  readonly samples: number[];
}

/** Runs `passes` passes of one case; returns the elapsed nanoseconds and checks the "on" count. */
async function timed(r: Runner, passes: number): Promise<number> {
  globalThis.gc?.();
  const start = process.hrtime.bigint();
  let on = r.loop(r.c.fn, r.c.size, passes);
  if (typeof on !== 'number') on = await on;
  const ns = Number(process.hrtime.bigint() - start);
  if (r.onPerPass < 0) r.onPerPass = on / passes;
  else if (on !== r.onPerPass * passes) r.consistent = false;
  return ns;
}

export async function measure(cases: readonly BenchCase[], options: HarnessOptions): Promise<CaseResult[]> {
  const runners: Runner[] = cases.map((c) => ({
    c,
    loop: makeLoop(c.async),
    passes: 1,
    onPerPass: -1,
    consistent: true,
    samples: [],
  }));
  const totalRounds = options.warmupRounds + options.rounds;

  // Calibration doubles as the first warm-up: passes until calibrateMs, then size the slices.
  for (const r of runners) {
    let elapsed = 0;
    let lastNsPerPass = 0;
    for (let n = 0; n < 3 || elapsed < options.calibrateMs * 1e6; n++) {
      const ns = await timed(r, 1);
      elapsed += ns;
      lastNsPerPass = ns;
    }
    r.passes = Math.max(1, Math.round((options.sliceMs * 1e6) / lastNsPerPass));
  }

  const random = new Random(options.seed);
  for (let round = 0; round < totalRounds; round++) {
    for (const r of random.shuffled(runners)) {
      const ns = await timed(r, r.passes);
      if (round >= options.warmupRounds) r.samples.push(ns / (r.passes * r.c.size));
    }
    options.onRound?.(round + 1, totalRounds);
  }

  return runners.map((r) => {
    const sorted = [...r.samples].sort((x, y) => x - y);
    return {
      id: r.c.id,
      nsPerOp: quantile(sorted, 0.5),
      q1: quantile(sorted, 0.25),
      q3: quantile(sorted, 0.75),
      samples: r.samples,
      opsPerSlice: r.passes * r.c.size,
      onPerPass: r.onPerPass,
      consistent: r.consistent,
    };
  });
}

/** Linear interpolation between the closest ranks of a sorted sample. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}
