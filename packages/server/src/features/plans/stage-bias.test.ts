import { describe, expect, it } from 'vitest';
import { summarize } from '../experiments/stats/index.js';
import { judgeRegression } from './regression.js';

// An A/A release in expectation: 1,000 new units a minute, each converting at a hazard of 0.5 %
// a minute after its exposure whatever its arm, through stages of 1, 5, 25 and 50 % held
// 10 minutes each. Why guards read the current stage alone (controller.ts, docs/experiments.md).
const ARRIVALS_PER_MINUTE = 1000;
const HAZARD_PER_MINUTE = 0.005;
const STAGES = [
  { from: 0, percent: 1 },
  { from: 10, percent: 5 },
  { from: 20, percent: 25 },
  { from: 30, percent: 50 },
];

const share = (minute: number) => STAGES.filter((s) => s.from <= minute).at(-1)?.percent ?? 0;

/** Expected units and conversions per arm at minute `now` of the units first exposed from minute `since`. */
function expected(now: number, since: number) {
  const step = 0.001;
  const arms = { variant: { units: 0, converted: 0 }, control: { units: 0, converted: 0 } };
  for (let at = since; at < now; at += step) {
    const toVariant = share(at) / 100;
    const converted = 1 - Math.exp(-HAZARD_PER_MINUTE * (now - at - step / 2));
    for (const [arm, part] of [
      [arms.variant, toVariant],
      [arms.control, 1 - toVariant],
    ] as const) {
      arm.units += ARRIVALS_PER_MINUTE * part * step;
      arm.converted += ARRIVALS_PER_MINUTE * part * step * converted;
    }
  }
  const summary = (a: { units: number; converted: number }) =>
    summarize('conversion', { units: a.units, sum: a.converted, sumOfSquares: a.converted });
  return { variant: summary(arms.variant), control: summary(arms.control) };
}

describe('a guard through the stages of a release as good as its control', () => {
  it('reads the variant far worse over every stage pooled, and rolls it back in the third stage', () => {
    const pooled = (now: number) => {
      const { variant, control } = expected(now, 0);
      return { relative: variant.mean / control.mean - 1, reading: judgeRegression('increase', 0.1, control, variant) };
    };
    expect(pooled(15).relative).toBeCloseTo(-0.38, 2);
    expect(pooled(21).relative).toBeCloseTo(-0.48, 2);
    expect(pooled(21).reading?.breached).toBe(false);
    expect(pooled(25).relative).toBeCloseTo(-0.57, 2);
    expect(pooled(25).reading?.breached).toBe(true);
  });

  it("reads no difference over the current stage's units, at any time, so nothing breaches", () => {
    for (const now of [5, 15, 21, 25, 35, 39]) {
      const since = STAGES.filter((s) => s.from <= now).at(-1)?.from ?? 0;
      const { variant, control } = expected(now, since);
      expect(Math.abs(variant.mean / control.mean - 1), `minute ${now}`).toBeLessThan(0.02);
      expect(judgeRegression('increase', 0.1, control, variant)?.breached ?? false, `minute ${now}`).toBe(false);
    }
  });
});
