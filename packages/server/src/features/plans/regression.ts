import { DEFAULT_ALPHA, DEFAULT_TUNING, sequentialHalfWidth, type VariantSummary } from '../experiments/stats/index.js';

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

/** The plan's units first exposed while one split held (a stage, or part of one), per side. */
export interface Stratum {
  control: VariantSummary;
  variant: VariantSummary;
}

/**
 * Judges a `maxRegression` guard (DESIGN §10): a breach when the whole always-valid interval
 * lies beyond the tolerance in the bad direction, so judging after every batch is sound.
 * `undefined` while there is too little data, or no variation at all to judge.
 *
 * Each stratum holds the units first exposed while one split held. The sides are compared
 * within each stratum and the comparisons combined, each weighted by `nₜ·n꜀/(nₜ + n꜀)` (as
 * Cochran–Mantel–Haenszel do): a plan's stages split traffic in other proportions (the control's
 * units mostly from the first, at 99 %, the variant's from the latest), and pooled over them
 * the control's units would have had longer to convert, reading a release as good as its
 * control tens of percent worse (`stage-bias.test.ts`). Within a stratum both sides' units are
 * alike in age, and every stage's evidence still counts.
 *
 * Within each stratum the variance is the pooled one, as under the hypothesis that the sides do
 * not differ. Each side's own takes a variant with no conversion yet (or one or two in a few
 * hundred units) for known almost exactly: at a 3 % rate judged after every 20 units of a 1 %
 * stage, more than half of the releases as good as their control were rolled back, a variant
 * of 0 read as exactly −100 % (`regression.test.ts`).
 *
 * A control whose mean is 0 leaves a relative change undefined. The tolerance is a fraction of
 * control's mean, so over a mean of 0 it is 0: the variant breaches once it is surely worse than
 * control at all, that is once the always-valid interval of the difference excludes 0 on the bad
 * side.
 */
export function judgeRegression(
  direction: Direction,
  maxRegression: number,
  strata: readonly Stratum[],
): RegressionReading | undefined {
  let variantUnits = 0;
  let controlUnits = 0;
  // Σw, Σw·x̄ per side, and Σw²·s²ₚ/n per side and Σw·s²ₚ for the difference.
  let weights = 0;
  let variantMean = 0;
  let controlMean = 0;
  let variantVariance = 0;
  let controlVariance = 0;
  let differenceVariance = 0;
  for (const { control, variant } of strata) {
    variantUnits += variant.units;
    controlUnits += control.units;
    if (variant.units === 0 || control.units === 0) continue;
    const w = (variant.units * control.units) / (variant.units + control.units);
    const pooled = pooledVariance(control, variant);
    weights += w;
    variantMean += w * variant.mean;
    controlMean += w * control.mean;
    variantVariance += (w * w * pooled) / variant.units;
    controlVariance += (w * w * pooled) / control.units;
    differenceVariance += w * pooled;
  }
  if (variantUnits < MIN_GUARD_UNITS || controlUnits < MIN_GUARD_UNITS || weights === 0) return undefined;
  const mt = variantMean / weights;
  const mc = controlMean / weights;
  const n = variantUnits + controlUnits;
  // Dividing by |x̄꜀| keeps the sign of the change that of the difference for a negative mean.
  const r = (mt - mc) / Math.abs(mc);
  if (!Number.isFinite(r)) {
    return judged(direction, 0, mt - mc, Math.sqrt(differenceVariance) / weights, n, 'absolute');
  }
  const standardError = Math.sqrt(variantVariance + (mt / mc) ** 2 * controlVariance) / weights / Math.abs(mc);
  return judged(direction, maxRegression, r, standardError, n, 'relative');
}

function judged(
  direction: Direction,
  tolerance: number,
  estimate: number,
  standardError: number,
  n: number,
  basis: RegressionReading['basis'],
): RegressionReading | undefined {
  if (!(standardError > 0) || !Number.isFinite(standardError)) return undefined;
  const half = sequentialHalfWidth(standardError, n, DEFAULT_ALPHA, DEFAULT_TUNING);
  const interval: [number, number] = [estimate - half, estimate + half];
  return {
    basis,
    breached: direction === 'decrease' ? interval[0] > tolerance : interval[1] < -tolerance,
    estimate,
    interval,
  };
}

/** The sample variance of both sides' units taken together: the variance if the two do not differ. */
function pooledVariance(control: VariantSummary, variant: VariantSummary): number {
  const n = control.units + variant.units;
  if (n < 2) return 0;
  const sum = control.units * control.mean + variant.units * variant.mean;
  // Σx² of each side, from its sample variance (a conversion's included: (n − 1)·v + n·p² = n·p).
  const squares = (s: VariantSummary) => (s.units - 1) * s.variance + s.units * s.mean ** 2;
  return Math.max(0, (squares(control) + squares(variant) - sum ** 2 / n) / (n - 1));
}
