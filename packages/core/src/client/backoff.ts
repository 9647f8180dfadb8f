/**
 * Exponential backoff with full jitter: the n-th consecutive failure waits a uniformly random
 * time in [0, min(max, initial × 2^(n−1))). Spreading reconnects over the whole window (rather
 * than around its end) is what keeps thousands of SDKs from reconnecting in step after an
 * outage.
 */
export class Backoff {
  private failures = 0;

  constructor(
    private initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number,
  ) {}

  /** Consecutive failures since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  fail(): number {
    this.failures++;
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.floor(this.random() * ceiling);
  }

  /** The server's `retry:` advice replaces the first delay (still capped by the maximum). */
  advise(ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.initialMs = Math.min(ms, this.maxMs);
  }

  reset(): void {
    this.failures = 0;
  }
}
