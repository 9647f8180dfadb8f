import { describe, expect, it } from 'vitest';
import { seeded } from '../../test-support/seeded-random.js';
import { compare, sequentialHalfWidth, summarize } from '../experiments/stats/index.js';
import { judgeRegression, type Stratum } from './regression.js';

/** One stratum: every unit first exposed under one split. */
const judge = (
  direction: 'increase' | 'decrease',
  tolerance: number,
  control: Stratum['control'],
  variant: Stratum['variant'],
) => judgeRegression(direction, tolerance, [{ control, variant }]);

/**
 * The share of `runs` simulated releases a `maxRegression` guard of 10 % (a metric that should
 * increase) rolls back: every `everyNth` unit goes to the variant, converting at `variantRate`
 * against the control's 3 %, and the guard looks after every 2,000 units until the variant has
 * `variantUnits`.
 */
function rollbackRate(o: { seed: number; runs: number; everyNth: number; variantRate: number; variantUnits: number }) {
  const random = seeded(o.seed);
  let breached = 0;
  for (let run = 0; run < o.runs; run++) {
    const sides = { control: { units: 0, converted: 0 }, variant: { units: 0, converted: 0 } };
    while (sides.variant.units < o.variantUnits) {
      for (let i = 0; i < 2_000; i++) {
        const toVariant = i % o.everyNth === 0;
        const side = toVariant ? sides.variant : sides.control;
        side.units++;
        if (random() < (toVariant ? o.variantRate : 0.03)) side.converted++;
      }
      const { control, variant } = sides;
      const reading = judge(
        'increase',
        0.1,
        conversions(control.units, control.converted),
        conversions(variant.units, variant.converted),
      );
      if (reading?.breached) {
        breached++;
        break;
      }
    }
  }
  return breached / o.runs;
}

/** `converted` of `units` units converted (a share of users who hit an error, say). */
const conversions = (units: number, converted: number) =>
  summarize('conversion', { units, sum: converted, sumOfSquares: converted });

/** `units` values: `values` repeated in turn. */
function means(units: number, values: readonly number[]) {
  let sum = 0;
  let sumOfSquares = 0;
  for (let i = 0; i < units; i++) {
    const x = values[i % values.length] as number;
    sum += x;
    sumOfSquares += x * x;
  }
  return summarize('mean', { units, sum, sumOfSquares });
}

describe('a maxRegression guard over a control with a non-zero mean', () => {
  it('is judged on the relative change: breached once the whole always-valid interval lies past the tolerance', () => {
    const reading = judge('decrease', 0.1, conversions(1000, 100), conversions(1000, 300));
    expect(reading).toMatchObject({ basis: 'relative', breached: true });
    expect(reading?.estimate).toBeCloseTo(2, 10);
    expect(reading?.interval[0]).toBeGreaterThan(0.1);
  });

  it('is not breached while the interval still reaches inside the tolerance', () => {
    const reading = judge('decrease', 0.1, conversions(1000, 100), conversions(1000, 115));
    expect(reading).toMatchObject({ basis: 'relative', breached: false });
  });

  it('is not judged before the variant and the control have 20 units each', () => {
    expect(judge('decrease', 0.1, conversions(19, 0), conversions(1000, 900))).toBeUndefined();
    expect(judge('decrease', 0.1, conversions(1000, 0), conversions(19, 19))).toBeUndefined();
  });
});

describe('a maxRegression guard where one side has no variation yet', () => {
  it('does not take a variant with no conversion yet for a known 0: no breach from 20 units at a 3 % rate', () => {
    // The delta method alone gives this variant a zero-width interval at −100 %.
    expect(compare(conversions(2000, 60), conversions(20, 0)).sequential.ci95).toEqual([-1, -1]);
    const reading = judge('increase', 0.1, conversions(2000, 60), conversions(20, 0));
    expect(reading).toMatchObject({ basis: 'relative', breached: false, estimate: -1 });
    expect(reading?.interval[1]).toBeGreaterThan(0);
  });

  it('still breaches once a variant with no conversion has enough units to be surely worse', () => {
    const reading = judge('increase', 0.1, conversions(20_000, 6_000), conversions(2_000, 0));
    expect(reading).toMatchObject({ basis: 'relative', breached: true });
  });

  it('keeps false rollbacks under 5 % when a 1 % release is judged after every 20 variant units', () => {
    // Both sides convert at 3 %: every breach is a false one.
    const rate = rollbackRate({ seed: 23, runs: 1_000, everyNth: 100, variantRate: 0.03, variantUnits: 1_000 });
    console.log(`maxRegression at 1 %, 3 % rate on both sides, 1,000 runs × 50 looks: false rollbacks ${rate}`);
    expect(rate).toBeLessThanOrEqual(0.05);
  });

  it('still rolls back most releases that halve the conversion rate at a 5 % stage, within 2,000 variant units', () => {
    const rate = rollbackRate({ seed: 29, runs: 300, everyNth: 20, variantRate: 0.015, variantUnits: 2_000 });
    console.log(`maxRegression at 5 %, 3 % → 1.5 %, 300 runs × 20 looks: rolled back ${rate}`);
    expect(rate).toBeGreaterThan(0.5);
  });
});

describe('a maxRegression guard over a control whose mean is 0', () => {
  it('breaches when the variant has errors and the control none, judging the difference against 0', () => {
    // Relative to a control of 0 the change is undefined: the old guard could never breach here.
    expect(compare(conversions(1000, 0), conversions(1000, 60)).relative.estimate).toBeNull();
    const reading = judge('decrease', 0.1, conversions(1000, 0), conversions(1000, 60));
    expect(reading).toMatchObject({ basis: 'absolute', breached: true });
    expect(reading?.estimate).toBeCloseTo(0.06, 10);
    expect(reading?.interval[0]).toBeGreaterThan(0);
  });

  it('breaches when every variant unit fails and no control unit does (no variance on either side)', () => {
    const reading = judge('decrease', 0.5, conversions(200, 0), conversions(200, 200));
    expect(reading).toMatchObject({ basis: 'absolute', breached: true, estimate: 1 });
  });

  it('does not breach while the difference could still be 0: a few errors are not yet evidence', () => {
    const reading = judge('decrease', 0.1, conversions(1000, 0), conversions(1000, 5));
    expect(reading).toMatchObject({ basis: 'absolute', breached: false });
    expect(reading?.interval[0]).toBeLessThan(0);
  });

  it('never breaches when neither the variant nor the control has any error', () => {
    for (const [c, v] of [
      [20, 20],
      [1000, 1000],
      [20, 100_000],
      [100_000, 20],
    ] as const) {
      const reading = judge('decrease', 0, conversions(c, 0), conversions(v, 0));
      expect(reading?.breached ?? false).toBe(false);
    }
  });

  it('does not take a few lucky control units for a known 0: no breach against a large variant with the same rate', () => {
    // A 5 % error rate on both sides; the 20 control units happened to see none (a chance of 36 %).
    const control = conversions(20, 0);
    const variant = conversions(10_000, 500);
    expect(judge('decrease', 0.1, control, variant)).toMatchObject({ basis: 'absolute', breached: false });
    // Taking control's own variance (0) instead would have made the interval tight around +5 %.
    const variantOnly = Math.sqrt(variant.variance / variant.units);
    expect(0.05 - sequentialHalfWidth(variantOnly, 10_020, 0.05, 5_000)).toBeGreaterThan(0);
  });

  it('treats an improvement over 0 as none: a variant with more conversions where more is better does not breach', () => {
    const reading = judge('increase', 0.1, conversions(1000, 0), conversions(1000, 300));
    expect(reading).toMatchObject({ basis: 'absolute', breached: false });
  });

  it('breaches for a metric that should increase when the variant falls surely below a control mean of 0', () => {
    const control = means(1000, [-1, 1]);
    expect(control.mean).toBe(0);
    const reading = judge('increase', 0.1, control, means(1000, [-2, 0]));
    expect(reading).toMatchObject({ basis: 'absolute', breached: true, estimate: -1 });
    expect(reading?.interval[1]).toBeLessThan(0);
  });
});
