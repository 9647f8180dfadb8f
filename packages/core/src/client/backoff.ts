/**
 * The reconnection delay after the `failures`-th consecutive failure, with full jitter: a
 * uniformly random time in [0, min(max, initial × 2^(failures−1))). Spreading reconnects over the
 * whole window (rather than around its end) is what keeps thousands of SDKs from reconnecting in
 * step after an outage. The one backoff of both SDKs: the browser calls it directly, the Node
 * connection through `Backoff`, which also keeps the count and the server's advice.
 */
export const backoffDelay = (failures: number, initialMs: number, maxMs: number, random: () => number): number =>
  Math.floor(random() * Math.min(maxMs, initialMs * 2 ** Math.min(failures - 1, 30)));

/** `backoffDelay` with its count of consecutive failures and the server's `retry:` advice. */
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
    return backoffDelay(++this.failures, this.initialMs, this.maxMs, this.random);
  }

  /** The server's `retry:` advice replaces the first delay (still capped by the maximum). */
  advise(ms: number): void {
    if (Number.isFinite(ms) && ms > 0) this.initialMs = Math.min(ms, this.maxMs);
  }

  reset(): void {
    this.failures = 0;
  }
}
