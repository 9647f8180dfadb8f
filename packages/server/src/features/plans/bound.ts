import {
  DEFAULT_ALPHA,
  DEFAULT_TUNING,
  type MetricKind,
  sequentialHalfWidth,
  type VariantSummary,
} from '../experiments/stats/index.js';

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
 *
 * A conversion's variance is taken as at least the one its bound implies, b(1 − b): the variance
 * if the true rate were the bound itself, which is what a breach must rule out. A variant's own
 * variance is 0 while none of its units converted (or all did), which would read 0 of 100 as a
 * rate known to be exactly 0 and breach a `min` of 1 % at once, for 13 % of releases whose true
 * rate is 2 %. A mean metric whose units all had the same value gives no spread to judge by:
 * `undefined`, not judged, until they differ.
 */
export function judgeBound(
  guard: { max: number } | { min: number },
  kind: MetricKind,
  variant: VariantSummary,
): BoundReading | undefined {
  const bound = 'max' in guard ? guard.max : guard.min;
  const variance = kind === 'conversion' ? Math.max(variant.variance, bound * (1 - bound)) : variant.variance;
  const standardError = Math.sqrt(variance / variant.units);
  if (kind === 'mean' && !(standardError > 0)) return undefined;
  const half = standardError > 0 ? sequentialHalfWidth(standardError, variant.units, DEFAULT_ALPHA, DEFAULT_TUNING) : 0;
  const interval: [number, number] = [variant.mean - half, variant.mean + half];
  return {
    breached: 'max' in guard ? interval[0] > guard.max : interval[1] < guard.min,
    estimate: variant.mean,
    interval,
  };
}
