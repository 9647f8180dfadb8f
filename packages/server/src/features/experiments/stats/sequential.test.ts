import { describe, expect, it } from 'vitest';
import { seeded } from '../../../test-support/seeded-random.js';
import { compare } from './compare.js';
import { DEFAULT_ALPHA, DEFAULT_TUNING, sequentialHalfWidth } from './sequential.js';
import { summarize } from './summarize.js';

interface Run {
  /** Units seen when the sequential interval first excluded 0, if it ever did. */
  sequentialAt: number | null;
  /** Whether Welch's p fell below 0.05 at any look. */
  fixedAtAnyLook: boolean;
  /** Whether Welch's p is below 0.05 at the last look alone (what a fixed horizon is calibrated for). */
  fixedAtEnd: boolean;
  /** Whether every sequential interval held the true relative uplift. */
  covered: boolean;
}

const PEEK_EVERY = 100;

/**
 * One conversion experiment: each unit is assigned by a fair coin and converts with its variant's
 * rate; after every 100 units somebody looks at the results, as a guard or a person may.
 */
function runExperiment(random: () => number, rates: [number, number], units: number): Run {
  const [pControl, pTreatment] = rates;
  const trueUplift = pTreatment / pControl - 1;
  const n = [0, 0];
  const conversions = [0, 0];
  const run: Run = { sequentialAt: null, fixedAtAnyLook: false, fixedAtEnd: false, covered: true };
  for (let unit = 1; unit <= units; unit++) {
    const arm = random() < 0.5 ? 0 : 1;
    n[arm] = (n[arm] ?? 0) + 1;
    if (random() < (arm === 0 ? pControl : pTreatment)) conversions[arm] = (conversions[arm] ?? 0) + 1;
    if (unit % PEEK_EVERY !== 0) continue;
    const [control, treatment] = [0, 1].map((i) =>
      summarize('conversion', { units: n[i] ?? 0, sum: conversions[i] ?? 0, sumOfSquares: conversions[i] ?? 0 }),
    ) as [ReturnType<typeof summarize>, ReturnType<typeof summarize>];
    const result = compare(control, treatment);
    const significantNow = result.pValue !== null && result.pValue < 0.05;
    run.fixedAtAnyLook ||= significantNow;
    if (unit === units) run.fixedAtEnd = significantNow;
    if (result.sequential.significant && run.sequentialAt === null) run.sequentialAt = unit;
    const ci = result.sequential.ci95;
    if (ci !== null && (trueUplift < ci[0] || trueUplift > ci[1])) run.covered = false;
  }
  return run;
}

function simulate(seed: number, experiments: number, rates: [number, number], units: number) {
  const random = seeded(seed);
  const runs = Array.from({ length: experiments }, () => runExperiment(random, rates, units));
  const share = (test: (run: Run) => boolean) => runs.filter(test).length / experiments;
  const detections = runs.flatMap((run) => (run.sequentialAt === null ? [] : [run.sequentialAt]));
  return {
    sequential: share((run) => run.sequentialAt !== null),
    fixedAtAnyLook: share((run) => run.fixedAtAnyLook),
    fixedAtEnd: share((run) => run.fixedAtEnd),
    coverage: share((run) => run.covered),
    meanUnitsToDetect: detections.reduce((sum, at) => sum + at, 0) / Math.max(1, detections.length),
  };
}

describe('sequential half-width', () => {
  it('equals what GrowthBook’s gbstats computes for the same standard error, n, α and N*', () => {
    // sequential_interval_halfwidth(se² · n, n, N*, α) from gbstats/frequentist/tests.py at
    // growthbook/growthbook 8f1db4456915a8e7b7faf23d5632ca7219d2f469, run once by hand.
    const gbstats: [se: number, n: number, alpha: number, tuning: number, halfWidth: number][] = [
      [0.05, 200, 0.05, 5_000, 0.2549979984948722],
      [0.01, 5_000, 0.05, 5_000, 0.03035208990376253],
      [0.003, 100_000, 0.05, 5_000, 0.010010572601359796],
      [0.02, 20_000, 0.01, 10_000, 0.07191209598265748],
      [0.1, 1_000, 0.1, 2_000, 0.28174206288601095],
    ];
    for (const [se, n, alpha, tuning, halfWidth] of gbstats) {
      expect(sequentialHalfWidth(se, n, alpha, tuning) / halfWidth).toBeCloseTo(1, 12);
    }
  });

  it('is wider than the fixed-horizon 95 % half-width at every sample size', () => {
    for (const n of [10, 100, 1_000, DEFAULT_TUNING, 50_000, 1_000_000, 100_000_000]) {
      expect(sequentialHalfWidth(1, n, DEFAULT_ALPHA, DEFAULT_TUNING)).toBeGreaterThan(1.96);
    }
  });

  it('costs the least width relative to a fixed interval near the tuning size N*', () => {
    const ratio = (n: number) => sequentialHalfWidth(1, n, DEFAULT_ALPHA, DEFAULT_TUNING);
    expect(ratio(DEFAULT_TUNING)).toBeLessThan(ratio(DEFAULT_TUNING / 20));
    expect(ratio(DEFAULT_TUNING)).toBeLessThan(ratio(DEFAULT_TUNING * 20));
  });

  it('widens when a smaller error rate is asked for', () => {
    expect(sequentialHalfWidth(1, 5_000, 0.01, DEFAULT_TUNING)).toBeGreaterThan(
      sequentialHalfWidth(1, 5_000, 0.05, DEFAULT_TUNING),
    );
  });
});

// Sizes keep this file at a few seconds on a shared 2-core machine (about 300,000 looks in all);
// the limit below is a safety net for a loaded machine, not a speed assertion.
const SIMULATION_TIMEOUT = 120_000;

describe('simulation: looking after every 100 units', () => {
  it(
    'keeps the sequential false-positive rate of 2,000 A/A experiments at or below 5 % while peeking at Welch exceeds it',
    () => {
      const aa = simulate(16, 2_000, [0.2, 0.2], 10_000);
      console.info(`A/A, 2,000 experiments × 10,000 units, 100 looks: ${JSON.stringify(aa)}`);
      expect(aa.sequential).toBeLessThanOrEqual(0.05);
      expect(aa.fixedAtAnyLook).toBeGreaterThan(0.05);
      // The fixed-horizon test is honest when looked at once: its end-only rate stays near α.
      expect(aa.fixedAtEnd).toBeGreaterThan(0.03);
      expect(aa.fixedAtEnd).toBeLessThan(0.07);
    },
    SIMULATION_TIMEOUT,
  );

  it(
    'detects a true 10 % relative uplift in most A/B experiments and covers it at every look',
    () => {
      const ab = simulate(1604, 400, [0.2, 0.22], 30_000);
      console.info(`A/B 20 % → 22 %, 400 experiments × 30,000 units, 300 looks: ${JSON.stringify(ab)}`);
      expect(ab.sequential).toBeGreaterThanOrEqual(0.8);
      expect(ab.coverage).toBeGreaterThanOrEqual(0.95);
    },
    SIMULATION_TIMEOUT,
  );
});
