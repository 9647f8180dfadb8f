import {
  compare,
  DEFAULT_ALPHA,
  DEFAULT_TUNING,
  sequentialHalfWidth,
  type VariantSummary,
} from '../experiments/stats/index.js';

/** Fewer units than this in the variant or the control, and a comparison guard is not judged yet. */
export const MIN_GUARD_UNITS = 20;

/** The way a metric should move: a regression is a move the other way. */
export type Direction = 'increase' | 'decrease';

/**
 * What a `maxRegression` guard read. `relative`: the variant's change relative to control and
 * its always-valid interval, judged against the tolerance. `absolute`: control's mean is 0, so
 * a relative change is undefined; the difference of the means and its always-valid interval,
 * judged against 0.
 */
export interface RegressionReading {
  basis: 'relative' | 'absolute';
  breached: boolean;
  estimate: number;
  interval: [number, number];
}

/**
 * Judges a `maxRegression` guard (DESIGN §10): a breach when the whole always-valid interval
 * lies beyond the tolerance in the bad direction, so judging after every batch is sound.
 * `undefined` while there is too little data, or no variation at all to judge.
 *
 * A control whose mean is 0 leaves a relative change undefined. The tolerance is a fraction of
 * control's mean, so over a mean of 0 it is 0: the variant breaches once it is surely worse than
 * control at all, that is once the always-valid interval of the difference excludes 0 on the bad
 * side. Both sides' variance there is the pooled one, as under the hypothesis that they do not
 * differ: a control that saw no event (its own variance 0) would otherwise count as known
 * exactly, and a few lucky control units against a large variant with the same rate would
 * breach from nothing.
 */
export function judgeRegression(
  direction: Direction,
  maxRegression: number,
  control: VariantSummary,
  variant: VariantSummary,
  alpha = DEFAULT_ALPHA,
): RegressionReading | undefined {
  if (variant.units < MIN_GUARD_UNITS || control.units < MIN_GUARD_UNITS) return undefined;
  const r = compare(control, variant).relative.estimate;
  if (r === null) return againstZero(direction, control, variant, alpha);
  // The delta method's variance of the relative change, with the pooled variance on both sides
  // rather than each side's own. Each side's own takes a variant with no conversion yet (or one or
  // two in a few hundred units) for known almost exactly: at a 3 % rate judged after every 20
  // units of a 1 % stage, 6 % of releases as good as control were rolled back with a variant
  // of 0 read as exactly −100 %, and more with a variant's own variance where it has only one or
  // two conversions. Pooled, as under the hypothesis that the two do not differ, the guard stays
  // well within its 5 % (plans/regression.test.ts).
  const pooled = pooledVariance(control, variant);
  const ratio = variant.mean / control.mean;
  const standardError =
    Math.sqrt(pooled / variant.units + ratio ** 2 * (pooled / control.units)) / Math.abs(control.mean);
  if (!(standardError > 0) || !Number.isFinite(standardError)) return undefined;
  const half = sequentialHalfWidth(standardError, control.units + variant.units, alpha, DEFAULT_TUNING);
  const interval: [number, number] = [r - half, r + half];
  return {
    basis: 'relative',
    breached: direction === 'decrease' ? interval[0] > maxRegression : interval[1] < -maxRegression,
    estimate: r,
    interval,
  };
}

/** The sample variance of both sides' units taken together: the variance if the two do not differ. */
function pooledVariance(control: VariantSummary, variant: VariantSummary): number {
  const n = control.units + variant.units;
  const sum = control.units * control.mean + variant.units * variant.mean;
  // Σx² of each side, from its sample variance (a conversion's included: (n − 1)·v + n·p² = n·p).
  const squares = (s: VariantSummary) => (s.units - 1) * s.variance + s.units * s.mean ** 2;
  return Math.max(0, (squares(control) + squares(variant) - sum ** 2 / n) / (n - 1));
}

function againstZero(
  direction: Direction,
  control: VariantSummary,
  variant: VariantSummary,
  alpha: number,
): RegressionReading | undefined {
  const n = control.units + variant.units;
  const standardError = Math.sqrt(pooledVariance(control, variant) * (1 / control.units + 1 / variant.units));
  if (!(standardError > 0) || !Number.isFinite(standardError)) return undefined;
  const difference = variant.mean - control.mean;
  const half = sequentialHalfWidth(standardError, n, alpha, DEFAULT_TUNING);
  const interval: [number, number] = [difference - half, difference + half];
  return {
    basis: 'absolute',
    breached: direction === 'decrease' ? interval[0] > 0 : interval[1] < 0,
    estimate: difference,
    interval,
  };
}
