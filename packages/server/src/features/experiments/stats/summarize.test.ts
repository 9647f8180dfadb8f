import { describe, expect, it } from 'vitest';
import { summarize } from './summarize.js';

describe('summarize', () => {
  it('gives a conversion the variance p(1 − p)·n/(n − 1)', () => {
    const summary = summarize('conversion', { units: 200, sum: 50, sumOfSquares: 50 });
    expect(summary).toEqual({ units: 200, mean: 0.25, variance: (0.25 * 0.75 * 200) / 199 });
  });

  it('reads a conversion from its conversions alone, whatever sumOfSquares says', () => {
    const honest = summarize('conversion', { units: 10, sum: 4, sumOfSquares: 4 });
    expect(summarize('conversion', { units: 10, sum: 4, sumOfSquares: 0 })).toEqual(honest);
  });

  it('gives a mean metric its sample variance from the sum and the sum of squares', () => {
    // Values 1, 2, 3, 10: mean 4, sample variance ((9 + 4 + 1 + 36) / 3).
    expect(summarize('mean', { units: 4, sum: 16, sumOfSquares: 114 })).toEqual({
      units: 4,
      mean: 4,
      variance: 50 / 3,
    });
  });

  it('never returns a negative variance when every value is equal and rounding bites', () => {
    const n = 3;
    const value = 0.1;
    const summary = summarize('mean', { units: n, sum: value * n, sumOfSquares: value * value * n });
    expect(summary.variance).toBeGreaterThanOrEqual(0);
    expect(summary.variance).toBeLessThan(1e-15);
  });

  it('returns zeros rather than NaN for a variant without units', () => {
    expect(summarize('mean', { units: 0, sum: 0, sumOfSquares: 0 })).toEqual({ units: 0, mean: 0, variance: 0 });
  });

  it('returns variance 0 for a single unit, whose sample variance is undefined', () => {
    expect(summarize('mean', { units: 1, sum: 7, sumOfSquares: 49 })).toEqual({ units: 1, mean: 7, variance: 0 });
  });
});
