import { describe, expect, it } from 'vitest';
import { seeded } from '../../test-support/seeded-random.js';
import { summarize } from '../experiments/stats/index.js';
import { judgeBound } from './bound.js';

const conversion = (units: number, conversions: number) =>
  summarize('conversion', { units, sum: conversions, sumOfSquares: conversions });

describe('a max or min guard', () => {
  it('does not breach while the interval still holds the bound, though the mean has crossed it', () => {
    const reading = judgeBound({ max: 0.05 }, conversion(200, 14));
    expect(reading.estimate).toBe(0.07);
    expect(reading.interval[0]).toBeLessThan(0.05);
    expect(reading.breached).toBe(false);
  });

  it('breaches once the whole interval lies beyond the bound, either way', () => {
    expect(judgeBound({ max: 0.05 }, conversion(5_000, 1_000)).breached).toBe(true);
    expect(judgeBound({ min: 0.9 }, conversion(5_000, 2_500)).breached).toBe(true);
    expect(judgeBound({ min: 0.4 }, conversion(5_000, 2_500)).breached).toBe(false);
  });

  it('compares the mean itself when the units do not vary at all', () => {
    expect(judgeBound({ max: 0.5 }, conversion(150, 150))).toMatchObject({ breached: true, interval: [1, 1] });
    expect(judgeBound({ max: 0.5 }, conversion(150, 0)).breached).toBe(false);
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
        if (judgeBound({ max: 0.05 }, conversion(units, errors)).breached) sequentialBreached = true;
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
});
