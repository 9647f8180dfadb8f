export const DEFAULT_ALPHA = 0.05;
export const DEFAULT_TUNING = 5_000;

/**
 * Half-width of the two-sided normal-mixture confidence sequence (Howard, Ramdas, McAuliffe &
 * Sekhon 2021) in the asymptotic form of Waudby-Smith et al. (arXiv:2103.06476v7, eq. 9), as
 * GrowthBook's gbstats uses it. `standardError` is that of the estimate after `n` units in total;
 * σ̂² = se²·n is the per-unit variance the boundary is written in. ρ² is chosen (ibid., eq. 161) so
 * that the sequence is tightest when n reaches `tuning` (N*).
 */
export function sequentialHalfWidth(standardError: number, n: number, alpha: number, tuning: number): number {
  const logAlpha = -2 * Math.log(alpha);
  const rho2 = (logAlpha + Math.log(logAlpha + 1)) / tuning;
  const sigma2 = standardError ** 2 * n;
  const nRho2 = n * rho2;
  return Math.sqrt(sigma2 * ((2 * (nRho2 + 1)) / (n * n * rho2)) * Math.log(Math.sqrt(nRho2 + 1) / alpha));
}
