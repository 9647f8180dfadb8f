import type { EvaluationResult } from '../reasons.js';
import type { EvaluationCount, EventAggregator, EventBatch } from './event-aggregator.js';

/**
 * Counts the Node client's evaluations into an `EventAggregator`, shaped for V8's JIT rather
 * than for reading: `count` is kept tiny so that TurboFan inlines it whole into every getter,
 * and everything else is pushed out of line into `countSlowly`. Justified by `pnpm bench
 * sdk-node`, the getter's overhead over the bare core with analytics on (bench/RESULTS.md, "Node
 * SDK getter"): the aggregator's keyed `count` builds a key string and looks it up on every
 * call, where this shape costs one comparison and one increment for a run of one result.
 *
 * Two tricks:
 * - a result that serves a variant is built once per flag and shared (see the core's compile),
 *   so its identity names (flag, variant, reason): its counter is found by identity, without a
 *   key string;
 * - a run of counts of the same result (a getter in a loop, a hot flag evaluated request after
 *   request) adds up in `lastCount`, a field of this object, so that the increment touches no
 *   other object, and goes to the counter when the run ends or the window is drained.
 */
export class JitShapedCounter {
  private byResult = new Map<object, EvaluationCount>();
  private lastResult: object | undefined = undefined;
  private lastCounter: EvaluationCount | undefined = undefined;
  private lastCount = 0;

  constructor(readonly aggregator: EventAggregator) {}

  /**
   * Counts one evaluation of `flag` that served `result`, which must be what evaluating `flag`
   * returned: a shared result is told apart by its identity alone.
   */
  count(flag: string, result: EvaluationResult<unknown>): void {
    if (result === this.lastResult) this.lastCount++;
    else this.countSlowly(flag, result);
  }

  /** Everything counted so far as one batch (`undefined` when empty); counting goes on into the next window. */
  drain(): EventBatch | undefined {
    this.settle();
    this.byResult = new Map();
    this.lastResult = undefined;
    this.lastCounter = undefined;
    return this.aggregator.drain();
  }

  private countSlowly(flag: string, result: EvaluationResult<unknown>): void {
    this.settle();
    if (result.variant === undefined) {
      // Made per call (the caller's default was served): no identity to go by.
      this.aggregator.count(flag, result);
      return;
    }
    let counter = this.byResult.get(result);
    if (counter === undefined) {
      // Several result objects may share one (flag, variant, reason) (a rule and a target serving
      // the same variant): they share the aggregator's counter, so each tuple is reported once.
      counter = this.aggregator.count(flag, result, 0);
      if (counter === undefined) return;
      this.byResult.set(result, counter);
    }
    this.lastResult = result;
    this.lastCounter = counter;
    this.lastCount = 1;
  }

  /** Adds the run of counts held in `lastCount` to its counter. */
  private settle(): void {
    if (this.lastCounter !== undefined) this.lastCounter.count += this.lastCount;
    this.lastCount = 0;
  }
}
