import gammainc from '@stdlib/math-base-special-gammainc';

/** Below this p-value the split of units cannot be trusted (a bug in assignment or logging). */
export const SRM_THRESHOLD = 0.001;

export interface SampleRatioMismatch {
  /** Chi-square goodness-of-fit p-value of the units per variant against the configured weights. */
  pValue: number;
  mismatch: boolean;
}

/**
 * Pearson's chi-square goodness of fit of the observed units per variant against the split the
 * weights ask for (weights need not sum to 1). A variant weighted 0 expects no units: any unit
 * there is a mismatch outright (p = 0), and an empty one is left out of the test rather than
 * dividing by a zero expectation. With no units, or fewer than two weighted variants, there is
 * nothing to test and p = 1. Throws RangeError on input no caller should build (lengths that
 * differ, negative or non-finite numbers): those are bugs, not data.
 */
export function sampleRatioMismatch(units: readonly number[], weights: readonly number[]): SampleRatioMismatch {
  if (units.length !== weights.length) {
    throw new RangeError(`units (${units.length}) and weights (${weights.length}) must have the same length`);
  }
  for (const value of [...units, ...weights]) {
    if (!(value >= 0 && Number.isFinite(value))) throw new RangeError(`units and weights must be ≥ 0, got ${value}`);
  }
  const weighted = units.map((n, i) => ({ n, w: weights[i] ?? 0 }));
  if (weighted.some(({ n, w }) => w === 0 && n > 0)) return { pValue: 0, mismatch: true };

  const tested = weighted.filter(({ w }) => w > 0);
  const total = tested.reduce((sum, { n }) => sum + n, 0);
  const weightSum = tested.reduce((sum, { w }) => sum + w, 0);
  if (total === 0 || tested.length < 2) return { pValue: 1, mismatch: false };

  let chiSquare = 0;
  for (const { n, w } of tested) {
    const expected = (total * w) / weightSum;
    chiSquare += (n - expected) ** 2 / expected;
  }
  // The upper regularized gamma Q(k/2, χ²/2) is the chi-square survival function; taking it directly
  // keeps tiny p-values exact where 1 − CDF would round them to 0.
  const pValue = gammainc(chiSquare / 2, (tested.length - 1) / 2, true, true);
  return { pValue, mismatch: pValue < SRM_THRESHOLD };
}
