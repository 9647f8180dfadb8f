import { describe, expect, it } from 'vitest';
import { seeded } from '../../test-support/seeded-random.js';
import { summarize } from '../experiments/stats/index.js';
import { judgeBound } from './bound.js';

const conversion = (units: number, conversions: number) =>
  summarize('conversion', { units, sum: conversions, sumOfSquares: conversions });

/** The share of `runs` releases converting at `trueRate` that a `min` of 1 % breaches, read after every 100 units up to 5,000. */
function minBreachRate(seed: number, runs: number, trueRate: number): number {
  const random = seeded(seed);
  let breached = 0;
  for (let run = 0; run < runs; run++) {
    let units = 0;
    let converted = 0;
    while (units < 5_000) {
      for (let i = 0; i < 100; i++) if (random() < trueRate) converted++;
      units += 100;
      if (judgeBound({ min: 0.01 }, 'conversion', conversion(units, converted))?.breached) {
        breached++;
        break;
      }
    }
  }
  return breached / runs;
}

describe('a max or min guard', () => {
  it('does not breach while the interval still holds the bound, though the mean has crossed it', () => {
    const reading = judgeBound({ max: 0.05 }, 'conversion', conversion(200, 14));
    expect(reading?.estimate).toBe(0.07);
    expect(reading?.interval[0]).toBeLessThan(0.05);
    expect(reading?.breached).toBe(false);
  });

  it('breaches once the whole interval lies beyond the bound, either way', () => {
    expect(judgeBound({ max: 0.05 }, 'conversion', conversion(5_000, 1_000))?.breached).toBe(true);
    expect(judgeBound({ min: 0.9 }, 'conversion', conversion(5_000, 2_500))?.breached).toBe(true);
    expect(judgeBound({ min: 0.4 }, 'conversion', conversion(5_000, 2_500))?.breached).toBe(false);
  });

  it('judges a variant none or all of whose units converted with the variance its bound implies', () => {
    const all = judgeBound({ max: 0.5 }, 'conversion', conversion(150, 150));
    expect(all?.breached).toBe(true);
    expect(all?.interval[0]).toBeLessThan(1);
    expect(judgeBound({ max: 0.5 }, 'conversion', conversion(150, 0))?.breached).toBe(false);
    // No conversion in the first 100 units is no evidence of a rate under 1 %: it was a
    // zero-width interval at 0, and a breach.
    const none = judgeBound({ min: 0.01 }, 'conversion', conversion(100, 0));
    expect(none?.breached).toBe(false);
    expect(none?.interval[1]).toBeGreaterThan(0.01);
    expect(judgeBound({ min: 0.01 }, 'conversion', conversion(20_000, 0))?.breached).toBe(true);
  });

  it('does not judge a mean metric whose units all had the same value', () => {
    const same = summarize('mean', { units: 500, sum: 500 * 150, sumOfSquares: 500 * 150 ** 2 });
    expect(judgeBound({ max: 100 }, 'mean', same)).toBeUndefined();
    const spread = summarize('mean', { units: 2, sum: 300, sumOfSquares: 100 ** 2 + 200 ** 2 });
    expect(judgeBound({ max: 100 }, 'mean', spread)).toBeDefined();
  });

  it('keeps false breaches under 5 % when looked at after every 100 units, where the raw mean does not', () => {
    // The true error rate is the bound's own: every breach is a false one.
    const random = seeded(17);
    const runs = 1_000;
    let naive = 0;
    let sequential = 0;
    for (let run = 0; run < runs; run++) {
      let units = 0;
      let errors = 0;
      let naiveBreached = false;
      let sequentialBreached = false;
      while (units < 5_000) {
        for (let i = 0; i < 100; i++) if (random() < 0.05) errors++;
        units += 100;
        if (errors / units > 0.05) naiveBreached = true;
        if (judgeBound({ max: 0.05 }, 'conversion', conversion(units, errors))?.breached) sequentialBreached = true;
      }
      if (naiveBreached) naive++;
      if (sequentialBreached) sequential++;
    }
    console.log(
      `max guard at its bound, 1,000 runs × 50 looks: raw mean ${naive / runs}, interval ${sequential / runs}`,
    );
    expect(naive / runs).toBeGreaterThan(0.5);
    expect(sequential / runs).toBeLessThanOrEqual(0.05);
  });

  it('keeps false breaches of a min under 5 % at a rate just above it, where no conversion yet is common', () => {
    // True rate 2 % against a min of 1 %: every breach is a false one. 0 of 100 has a chance of 13 %.
    const rate = minBreachRate(31, 1_000, 0.02);
    console.log(`min guard of 1 % at a true 2 %, 1,000 runs × 50 looks: false breaches ${rate}`);
    expect(rate).toBeLessThanOrEqual(0.05);
  });

  it('still breaches a min most of the time when the true rate is a fifth of it, within 5,000 units', () => {
    const rate = minBreachRate(37, 300, 0.002);
    console.log(`min guard of 1 % at a true 0.2 %, 300 runs × 50 looks: breached ${rate}`);
    expect(rate).toBeGreaterThan(0.8);
  });
});
