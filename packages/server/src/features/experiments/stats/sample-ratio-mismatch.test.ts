import { describe, expect, it } from 'vitest';
import { sampleRatioMismatch } from './sample-ratio-mismatch.js';

describe('sampleRatioMismatch', () => {
  it('sees no mismatch in a split that matches its weights', () => {
    expect(sampleRatioMismatch([5_000, 5_000], [50, 50])).toEqual({ pValue: 1, mismatch: false });
  });

  it('flags a 50/50 experiment that drew 5,000 against 5,600 units', () => {
    const result = sampleRatioMismatch([5_000, 5_600], [1, 1]);
    expect(result.mismatch).toBe(true);
    expect(result.pValue).toBeLessThan(0.001);
  });

  it('does not flag a deviation whose p-value is above 0.001', () => {
    const result = sampleRatioMismatch([500, 560], [1, 1]);
    expect(result.pValue).toBeGreaterThan(0.001);
    expect(result.mismatch).toBe(false);
  });

  it('keeps a vanishing p-value above 0 where 1 − CDF would round it away', () => {
    // SciPy: chisquare([489276, 510724]).pvalue = 4.767121e-102.
    const { pValue } = sampleRatioMismatch([489_276, 510_724], [1, 1]);
    expect(pValue / 4.767121e-102).toBeCloseTo(1, 6);
  });

  it('flags every unit in one variant of an even split', () => {
    expect(sampleRatioMismatch([0, 1_000], [1, 1]).mismatch).toBe(true);
  });

  it('calls any unit in a variant weighted 0 a mismatch', () => {
    expect(sampleRatioMismatch([500, 500, 1], [1, 1, 0])).toEqual({ pValue: 0, mismatch: true });
  });

  it('leaves an empty variant weighted 0 out of the test', () => {
    expect(sampleRatioMismatch([500, 500, 0], [1, 1, 0])).toEqual(sampleRatioMismatch([500, 500], [1, 1]));
  });

  it('has nothing to test without units or with a single weighted variant', () => {
    expect(sampleRatioMismatch([0, 0], [1, 1])).toEqual({ pValue: 1, mismatch: false });
    expect(sampleRatioMismatch([800, 0], [1, 0])).toEqual({ pValue: 1, mismatch: false });
    expect(sampleRatioMismatch([], [])).toEqual({ pValue: 1, mismatch: false });
  });

  it('refuses input no caller should build', () => {
    expect(() => sampleRatioMismatch([1, 2], [1])).toThrow(RangeError);
    expect(() => sampleRatioMismatch([1, -2], [1, 1])).toThrow(RangeError);
    expect(() => sampleRatioMismatch([1, 2], [1, Number.NaN])).toThrow(RangeError);
  });
});
