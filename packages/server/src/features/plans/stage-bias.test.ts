import { describe, expect, it } from 'vitest';
import { summarize } from '../experiments/stats/index.js';
import { judgeRegression, type Stratum } from './regression.js';

// An A/A release in expectation: 1,000 new units a minute, each converting at a hazard of 0.5 %
// a minute after its exposure whatever its arm, through stages of 1, 5, 25 and 50 % held
// 10 minutes each. Why a guard compares the sides stage by stage (regression.ts).
const ARRIVALS_PER_MINUTE = 1000;
const HAZARD_PER_MINUTE = 0.005;
const STAGES = [
  { from: 0, percent: 1 },
  { from: 10, percent: 5 },
  { from: 20, percent: 25 },
  { from: 30, percent: 50 },
];

const share = (minute: number) => STAGES.filter((s) => s.from <= minute).at(-1)?.percent ?? 0;

/** Expected units and conversions per side at minute `now` of the units first exposed in [`from`, `until`). */
function expected(now: number, from: number, until = now): Stratum {
  const step = 0.001;
  const sides = { variant: { units: 0, converted: 0 }, control: { units: 0, converted: 0 } };
  for (let at = from; at < Math.min(now, until); at += step) {
    const toVariant = share(at) / 100;
    const converted = 1 - Math.exp(-HAZARD_PER_MINUTE * (now - at - step / 2));
    for (const [side, part] of [
      [sides.variant, toVariant],
      [sides.control, 1 - toVariant],
    ] as const) {
      side.units += ARRIVALS_PER_MINUTE * part * step;
      side.converted += ARRIVALS_PER_MINUTE * part * step * converted;
    }
  }
  const summary = (s: { units: number; converted: number }) =>
    summarize('conversion', { units: s.units, sum: s.converted, sumOfSquares: s.converted });
  return { variant: summary(sides.variant), control: summary(sides.control) };
}

/** The plan's units up to minute `now`, one stratum per stage begun by then. */
const byStage = (now: number) =>
  STAGES.filter((s) => s.from < now).map((s, i) => expected(now, s.from, STAGES[i + 1]?.from ?? now));

describe('a guard through the stages of a release as good as its control', () => {
  it('reads the variant far worse with every unit pooled, and would roll it back in the third stage', () => {
    const pooled = (now: number) => {
      const all = expected(now, 0);
      return { relative: all.variant.mean / all.control.mean - 1, reading: judgeRegression('increase', 0.1, [all]) };
    };
    expect(pooled(15).relative).toBeCloseTo(-0.38, 2);
    expect(pooled(21).relative).toBeCloseTo(-0.48, 2);
    expect(pooled(21).reading?.breached).toBe(false);
    expect(pooled(25).relative).toBeCloseTo(-0.57, 2);
    expect(pooled(25).reading?.breached).toBe(true);
  });

  it('reads no difference compared stage by stage, at any time, and never breaches', () => {
    for (const now of [5, 15, 21, 25, 35, 39]) {
      const reading = judgeRegression('increase', 0.1, byStage(now));
      expect(Math.abs(reading?.estimate ?? 0), `minute ${now}`).toBeLessThan(1e-9);
      expect(reading?.breached ?? false, `minute ${now}`).toBe(false);
    }
  });

  it('keeps every stage’s evidence: a real halving is caught with the units of all stages', () => {
    // The same release, the variant converting at half the rate of the control.
    const halved = (now: number, from: number, until = now): Stratum => {
      const s = expected(now, from, until);
      const factor = 0.5;
      const converted = s.variant.mean * s.variant.units * factor;
      return {
        ...s,
        variant: summarize('conversion', { units: s.variant.units, sum: converted, sumOfSquares: converted }),
      };
    };
    const reading = (now: number) => {
      const strata = STAGES.filter((s) => s.from < now).map((s, i) => halved(now, s.from, STAGES[i + 1]?.from ?? now));
      return {
        allStages: judgeRegression('increase', 0.1, strata)?.breached,
        stageAlone: judgeRegression('increase', 0.1, strata.slice(-1))?.breached,
      };
    };
    // Six minutes into the third stage: caught with every stage's units, not with the stage's own.
    expect(reading(26)).toEqual({ allStages: true, stageAlone: false });
    // The fourth stage's own units start again from nothing.
    expect(reading(31)).toEqual({ allStages: true, stageAlone: false });
  });
});
