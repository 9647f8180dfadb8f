import { describe, expect, it } from 'vitest';
import { compare } from './compare.js';
import type { VariantSummary } from './summarize.js';

const variant = (units: number, mean: number, variance: number): VariantSummary => ({ units, mean, variance });

/** Every number in a result, so a test can prove none is NaN or infinite (JSON would turn them into null or fail). */
const numbersIn = (value: unknown): number[] =>
  typeof value === 'number'
    ? [value]
    : value !== null && typeof value === 'object'
      ? Object.values(value).flatMap(numbersIn)
      : [];

describe('compare', () => {
  it('finds a clear uplift significant in both the fixed and the sequential test', () => {
    const result = compare(variant(20_000, 0.1, 0.09), variant(20_000, 0.12, 0.1056));
    expect(result.caveat).toBeNull();
    expect(result.absolute.estimate).toBeCloseTo(0.02, 12);
    expect(result.relative.estimate).toBeCloseTo(0.2, 12);
    expect(result.pValue).toBeLessThan(1e-6);
    expect(result.sequential.significant).toBe(true);
  });

  it('holds the fixed-horizon relative interval inside the sequential one', () => {
    const result = compare(variant(3_000, 10, 25), variant(3_100, 10.4, 30));
    const [low, high] = result.relative.ci95 ?? [0, 0];
    const [seqLow, seqHigh] = result.sequential.ci95 ?? [0, 0];
    expect(seqLow).toBeLessThan(low);
    expect(seqHigh).toBeGreaterThan(high);
  });

  it('gives p = 1 and an interval centred on 0 when the variants are identical', () => {
    const result = compare(variant(500, 3, 4), variant(500, 3, 4));
    expect(result.pValue).toBe(1);
    expect(result.absolute.ci95?.[0]).toBeCloseTo(-(result.absolute.ci95?.[1] ?? 0), 12);
    expect(result.sequential.significant).toBe(false);
  });

  it('keeps the sign of the uplift equal to the sign of the difference when the control mean is negative', () => {
    const result = compare(variant(1_000, -4, 4), variant(1_000, -3, 9));
    expect(result.absolute.estimate).toBe(1);
    expect(result.relative.estimate).toBe(0.25);
  });

  it('tests against a zero-variance control with the treatment’s n − 1 degrees of freedom', () => {
    const result = compare(variant(1_000, 0, 0), variant(40, 0.5, 1));
    expect(result.degreesOfFreedom).toBeCloseTo(39, 9);
    expect(result.pValue).toBeGreaterThan(0);
  });

  it('reports a null relative uplift, and no sequential interval, when the control mean is 0', () => {
    const result = compare(variant(1_000, 0, 0), variant(1_000, 0.01, 0.0099));
    expect(result.caveat).toBe('zero-control-mean');
    expect(result.relative).toEqual({ estimate: null, ci95: null });
    expect(result.sequential).toEqual({ ci95: null, significant: false });
    expect(result.absolute.estimate).toBe(0.01);
    expect(result.pValue).toBeLessThan(0.01);
  });

  it('reports estimates without a test when no unit in either variant differs from another', () => {
    const result = compare(variant(300, 0, 0), variant(300, 1, 0));
    expect(result).toEqual({
      absolute: { estimate: 1, ci95: null },
      relative: { estimate: null, ci95: null },
      pValue: null,
      sequential: { ci95: null, significant: false },
      degreesOfFreedom: null,
      caveat: 'no-variation',
    });
  });

  it('tests nothing when a variant has fewer than two units', () => {
    const result = compare(variant(1, 5, 0), variant(200, 6, 1));
    expect(result.caveat).toBe('too-few-units');
    expect(result.pValue).toBeNull();
    expect(result.absolute).toEqual({ estimate: 1, ci95: null });
    expect(result.relative).toEqual({ estimate: 0.2, ci95: null });
  });

  it('estimates nothing when every unit is in one variant', () => {
    const result = compare(variant(0, 0, 0), variant(1_000, 0.3, 0.21));
    expect(result.caveat).toBe('too-few-units');
    expect(result.absolute.estimate).toBeNull();
    expect(result.relative.estimate).toBeNull();
  });

  it('returns only finite numbers or null for every degenerate input', () => {
    const degenerate = [
      variant(0, 0, 0),
      variant(1, 0, 0),
      variant(2, 0, 0),
      variant(2, 1, 0),
      variant(100, 0, 0),
      variant(100, 1e-300, 1e-300),
      variant(1e9, 1e6, 1e12),
      variant(100, -5, 0),
    ];
    for (const control of degenerate) {
      for (const treatment of degenerate) {
        const result = compare(control, treatment);
        expect(numbersIn(result).every(Number.isFinite), JSON.stringify({ control, treatment, result })).toBe(true);
      }
    }
  });

  it('refuses options no caller should pass', () => {
    const c = variant(100, 1, 1);
    expect(() => compare(c, c, { alpha: 0 })).toThrow(RangeError);
    expect(() => compare(c, c, { alpha: 1 })).toThrow(RangeError);
    expect(() => compare(c, c, { tuning: 0 })).toThrow(RangeError);
    expect(() => compare(c, c, { tuning: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });

  it('narrows the sequential interval when a larger error rate is accepted', () => {
    const c = variant(5_000, 10, 25);
    const t = variant(5_000, 10.3, 25);
    const width = (alpha: number) => {
      const [low, high] = compare(c, t, { alpha }).sequential.ci95 ?? [0, 0];
      return high - low;
    };
    expect(width(0.1)).toBeLessThan(width(0.05));
  });
});
