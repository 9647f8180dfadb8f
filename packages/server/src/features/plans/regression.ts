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
): RegressionReading | undefined {
  if (variant.units < MIN_GUARD_UNITS || control.units < MIN_GUARD_UNITS) return undefined;
  const c = compare(control, variant);
  if (c.relative.estimate === null) return againstZero(direction, control, variant);
  const ci = c.sequential.ci95;
  if (ci === null) return undefined;
  return {
    basis: 'relative',
    breached: direction === 'decrease' ? ci[0] > maxRegression : ci[1] < -maxRegression,
    estimate: c.relative.estimate,
    interval: ci,
  };
}

function againstZero(
  direction: Direction,
  control: VariantSummary,
  variant: VariantSummary,
): RegressionReading | undefined {
  const n = control.units + variant.units;
  const sum = control.units * control.mean + variant.units * variant.mean;
  // Σx² of each side, from its sample variance (a conversion's included: (n − 1)·v + n·p² = n·p).
  const squares = (s: VariantSummary) => (s.units - 1) * s.variance + s.units * s.mean ** 2;
  const pooled = Math.max(0, (squares(control) + squares(variant) - sum ** 2 / n) / (n - 1));
  const standardError = Math.sqrt(pooled * (1 / control.units + 1 / variant.units));
  if (!(standardError > 0) || !Number.isFinite(standardError)) return undefined;
  const difference = variant.mean - control.mean;
  const half = sequentialHalfWidth(standardError, n, DEFAULT_ALPHA, DEFAULT_TUNING);
  const interval: [number, number] = [difference - half, difference + half];
  return {
    basis: 'absolute',
    breached: direction === 'decrease' ? interval[0] > 0 : interval[1] < 0,
    estimate: difference,
    interval,
  };
}
