import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { DEFAULT_ALPHA, DEFAULT_TUNING, sequentialHalfWidth } from './sequential.js';
import type { VariantSummary } from './summarize.js';

/** `null` where the quantity is undefined for the data (see `Comparison.caveat`), never NaN or ±Infinity. */
export interface Interval {
  estimate: number | null;
  ci95: [number, number] | null;
}

/**
 * Why some numbers of a comparison are `null`:
 * - `too-few-units`: a variant has fewer than 2 units, so it has no sample variance; nothing is tested.
 * - `no-variation`: every unit of both variants has the same value, so the standard error is 0 and
 *   no test statistic exists; the estimates stand, without intervals or p-value.
 * - `zero-control-mean`: the control's mean is 0 (or so near 0 that the ratio overflows), so a
 *   relative uplift (and the sequential interval on it) is undefined; the absolute comparison stands.
 */
export type ComparisonCaveat = 'too-few-units' | 'no-variation' | 'zero-control-mean';

export interface Comparison {
  absolute: Interval;
  relative: Interval;
  /** Welch's t-test, two-sided, for the absolute difference. */
  pValue: number | null;
  /** Always-valid confidence sequence on the relative uplift; `significant` when it excludes 0. */
  sequential: { ci95: [number, number] | null; significant: boolean };
  /** Welch–Satterthwaite degrees of freedom of the t-test. */
  degreesOfFreedom: number | null;
  caveat: ComparisonCaveat | null;
}

export interface CompareOptions {
  /** Error rate of the sequential interval (default 0.05); the fixed-horizon intervals are always 95 %. */
  alpha?: number;
  /** N*, the total sample size at which the sequential interval is tightest (default 5,000). */
  tuning?: number;
}

const Z_975 = normalQuantile(0.975, 0, 1);

/**
 * Treatment against control by Welch's unequal-variance t-test (absolute difference), the delta
 * method (relative uplift) and an always-valid confidence sequence on the relative uplift.
 * Formulas and sources: docs/experiments.md.
 */
export function compare(control: VariantSummary, treatment: VariantSummary, options: CompareOptions = {}): Comparison {
  const alpha = options.alpha ?? DEFAULT_ALPHA;
  const tuning = options.tuning ?? DEFAULT_TUNING;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must lie in (0, 1), got ${alpha}`);
  if (!(tuning > 0 && Number.isFinite(tuning))) throw new RangeError(`tuning must be a positive number, got ${tuning}`);

  const { units: nc, mean: mc, variance: vc } = control;
  const { units: nt, mean: mt, variance: vt } = treatment;
  const bothSeen = nc >= 1 && nt >= 1;
  const d = bothSeen ? mt - mc : null;
  // Dividing by |x̄c| keeps the sign of the uplift equal to the sign of the difference for a
  // negative control mean; for a positive one it is exactly x̄t/x̄c − 1.
  const ratio = bothSeen ? (mt - mc) / Math.abs(mc) : Number.NaN;
  // A control mean of 0, or one so close to 0 that the ratio overflows, has no relative uplift.
  const r = Number.isFinite(ratio) ? ratio : null;

  const estimatesOnly = (caveat: ComparisonCaveat): Comparison => ({
    absolute: { estimate: d, ci95: null },
    relative: { estimate: r, ci95: null },
    pValue: null,
    sequential: { ci95: null, significant: false },
    degreesOfFreedom: null,
    caveat,
  });
  if (nc < 2 || nt < 2) return estimatesOnly('too-few-units');

  const wc = vc / nc;
  const wt = vt / nt;
  const se = Math.sqrt(wc + wt);
  if (!(se > 0) || d === null) return estimatesOnly('no-variation');

  // Welch (1947) / Satterthwaite (1946), (wc + wt)² / (wc²/(nc − 1) + wt²/(nt − 1)), written in
  // shares of the variance so that tiny variances cannot underflow to 0/0. One zero-variance side
  // leaves the other's n − 1.
  const shareC = wc / (wc + wt);
  const shareT = wt / (wc + wt);
  const df = 1 / (shareC ** 2 / (nc - 1) + shareT ** 2 / (nt - 1));
  const t = d / se;
  const pValue = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  const tCritical = tQuantile(0.975, df);
  const absolute: Interval = { estimate: d, ci95: [d - tCritical * se, d + tCritical * se] };

  // Delta method, s²t/(nt x̄c²) + x̄t² s²c/(nc x̄c⁴), with x̄t/x̄c taken first so x̄c⁴ cannot underflow.
  const seRelative = r === null ? Number.NaN : Math.sqrt(wt + (mt / mc) ** 2 * wc) / Math.abs(mc);
  if (r === null || !Number.isFinite(seRelative)) {
    return {
      absolute,
      relative: { estimate: null, ci95: null },
      pValue,
      sequential: { ci95: null, significant: false },
      degreesOfFreedom: df,
      caveat: 'zero-control-mean',
    };
  }

  const half = Z_975 * seRelative;
  const sequentialHalf = sequentialHalfWidth(seRelative, nc + nt, alpha, tuning);
  const sequentialCi: [number, number] = [r - sequentialHalf, r + sequentialHalf];
  return {
    absolute,
    relative: { estimate: r, ci95: [r - half, r + half] },
    pValue,
    sequential: { ci95: sequentialCi, significant: sequentialCi[0] > 0 || sequentialCi[1] < 0 },
    degreesOfFreedom: df,
    caveat: null,
  };
}
