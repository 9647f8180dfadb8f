import { DEFAULT_ALPHA, DEFAULT_TUNING, sequentialHalfWidth, type VariantSummary } from '../experiments/stats/index.js';

/** What a `max` or `min` guard read: the variant's mean, its always-valid interval, and whether it breached. */
export interface BoundReading {
  breached: boolean;
  estimate: number;
  interval: [number, number];
}

/**
 * Judges a `max` or `min` guard on the released variant alone. The controller looks after every
 * batch, so the raw mean crossing the bound is not enough: by chance alone it would cross, some
 * time, a bound the true value keeps to. As for `maxRegression`, the guard breaches when the whole
 * always-valid interval of the mean (the same confidence sequence, over the variant's units) lies
 * beyond the bound.
 */
export function judgeBound(guard: { max: number } | { min: number }, variant: VariantSummary): BoundReading {
  const standardError = Math.sqrt(variant.variance / variant.units);
  const half = standardError > 0 ? sequentialHalfWidth(standardError, variant.units, DEFAULT_ALPHA, DEFAULT_TUNING) : 0;
  const interval: [number, number] = [variant.mean - half, variant.mean + half];
  return {
    breached: 'max' in guard ? interval[0] > guard.max : interval[1] < guard.min,
    estimate: variant.mean,
    interval,
  };
}
