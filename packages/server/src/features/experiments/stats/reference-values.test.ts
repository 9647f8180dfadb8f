import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compare } from './compare.js';
import { sampleRatioMismatch } from './sample-ratio-mismatch.js';
import { type MetricKind, summarize, type VariantSummary, type VariantTotals } from './summarize.js';

type Pair = [number, number];

/** SciPy's answers, written by fixtures/make-fixtures.py (see its docstring to re-run it). */
interface ReferenceValues {
  generatedBy: string;
  options: { alpha: number; tuning: number };
  summarize: { kind: MetricKind; totals: VariantTotals; expected: VariantSummary }[];
  compare: {
    control: VariantSummary;
    treatment: VariantSummary;
    expected: {
      absolute: { estimate: number; ci95: Pair };
      relative: { estimate: number; ci95: Pair };
      pValue: number;
      degreesOfFreedom: number;
      sequential: { ci95: Pair; significant: boolean };
    };
  }[];
  sampleRatioMismatch: { units: number[]; weights: number[]; expected: { pValue: number; mismatch: boolean } }[];
}

const reference = JSON.parse(
  readFileSync(new URL('./fixtures/reference-values.json', import.meta.url), 'utf8'),
) as ReferenceValues;

const RELATIVE = 1e-6;

/** Names every number that disagrees with SciPy beyond 1e-6 relative (p-values below 1e-300 count as 0). */
function disagreements(actual: unknown, expected: unknown, path = ''): string[] {
  if (typeof expected === 'number') {
    const ok =
      typeof actual === 'number' && Math.abs(actual - expected) <= RELATIVE * Math.abs(expected) + Number.MIN_VALUE;
    const tail = typeof actual === 'number' && expected === 0 && actual < 1e-300;
    return ok || tail ? [] : [`${path}: ${String(actual)} vs SciPy ${expected}`];
  }
  if (typeof expected === 'boolean') return actual === expected ? [] : [`${path}: ${String(actual)} vs ${expected}`];
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual)) return [`${path}: ${String(actual)} is not an array`];
    return expected.flatMap((value, i) => disagreements(actual[i], value, `${path}[${i}]`));
  }
  const object = expected as Record<string, unknown>;
  const got = (actual ?? {}) as Record<string, unknown>;
  return Object.keys(object).flatMap((key) => disagreements(got[key], object[key], `${path}.${key}`));
}

describe('agreement with SciPy to 1e-6 relative', () => {
  it('has many reference cases of every kind', () => {
    expect(reference.summarize.length).toBeGreaterThanOrEqual(40);
    expect(reference.compare.length).toBeGreaterThanOrEqual(100);
    expect(reference.sampleRatioMismatch.length).toBeGreaterThanOrEqual(25);
    expect(new Set(reference.summarize.map((c) => c.kind))).toEqual(new Set(['conversion', 'mean']));
    expect(new Set(reference.sampleRatioMismatch.map((c) => c.units.length))).toEqual(new Set([2, 3, 4]));
  });

  it('summarizes conversion and mean totals into the mean and sample variance NumPy computes', () => {
    const failures = reference.summarize.flatMap((c, i) =>
      disagreements(summarize(c.kind, c.totals), c.expected, `summarize[${i}]`),
    );
    expect(failures).toEqual([]);
  });

  it('compares variants as Welch, the delta method and the confidence sequence do in SciPy', () => {
    const failures = reference.compare.flatMap((c, i) =>
      disagreements(compare(c.control, c.treatment, reference.options), c.expected, `compare[${i}]`),
    );
    expect(failures).toEqual([]);
  });

  it('finds the chi-square goodness-of-fit p-value SciPy finds for 2 to 4 variants', () => {
    const failures = reference.sampleRatioMismatch.flatMap((c, i) =>
      disagreements(sampleRatioMismatch(c.units, c.weights), c.expected, `srm[${i}]`),
    );
    expect(failures).toEqual([]);
  });
});
