export type MetricKind = 'conversion' | 'mean';

/** Per variant, over its units' metric values (conversion: values are 0/1, so sum = sumOfSquares = conversions). */
export interface VariantTotals {
  units: number;
  sum: number;
  sumOfSquares: number;
}

/** `variance` is the sample variance (n − 1 denominator); 0 when it is undefined (fewer than 2 units). */
export interface VariantSummary {
  units: number;
  mean: number;
  variance: number;
}

/**
 * Mean and sample variance from the three sums the database aggregates, so no unit is ever loaded.
 * A conversion's variance is p(1 − p)·n/(n − 1), read from the conversions alone: sumOfSquares is
 * not trusted to equal them. Empty or single-unit variants get 0 instead of NaN; `compare` refuses
 * to test them.
 */
export function summarize(kind: MetricKind, totals: VariantTotals): VariantSummary {
  const n = totals.units;
  if (!(n > 0)) return { units: 0, mean: 0, variance: 0 };
  const mean = totals.sum / n;
  if (n < 2) return { units: n, mean, variance: 0 };
  const squares = kind === 'conversion' ? totals.sum : totals.sumOfSquares;
  // Σx² − x̄·Σx can come out a hair below zero by rounding when every value is equal.
  const variance = Math.max(0, (squares - mean * totals.sum) / (n - 1));
  return { units: n, mean, variance };
}
