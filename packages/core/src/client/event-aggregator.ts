import type { EvaluationResult } from '../reasons.js';

/** How many times one flag served one variant for one reason within a window. */
export interface EvaluationCount {
  flag: string;
  /** `null` when the caller's default was served. */
  variant: string | null;
  reason: string;
  count: number;
}

export interface TrackEvent {
  event: string;
  /** The context's `key`, when it has one. */
  key?: string;
  value?: number;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** The body of `POST /sdk/v1/events`. */
export interface EventBatch {
  window: { start: number; end: number };
  evaluations: EvaluationCount[];
  events: TrackEvent[];
  /** What was dropped at the memory bounds since the previous batch. */
  dropped: { evaluations: number; events: number };
}

export interface EventLimits {
  /** Distinct (flag, variant, reason) counters kept per window. */
  maxCounters: number;
  /** Track events queued between two flushes. */
  maxEvents: number;
}

interface Counter extends EvaluationCount {}

/**
 * Evaluation counts and track events, held in memory between two flushes, within fixed bounds:
 * what does not fit is dropped and counted, never queued, so a caller is never blocked and
 * memory never grows past the limits.
 */
export class EventAggregator {
  /**
   * Counters by result object. A result that serves a variant is built once per flag and shared
   * (see the core's compile), so its identity names (flag, variant, reason) and the hot path is
   * one identity lookup, without building a key string.
   */
  private byResult = new Map<object, Counter>();
  /** Counters for results made per call (the caller's default was served), by a composite key. */
  private byKey = new Map<string, Counter>();
  /**
   * The last shared result counted and its counter. A getter called in a loop, or a hot flag
   * evaluated for request after request, counts with one comparison instead of a lookup; such a
   * run of counts adds up in `lastCount`, a field of this object, so that the increment touches
   * no other object, and goes to the counter when the run ends or the window is drained.
   */
  private lastResult: object | undefined = undefined;
  private lastCounter: Counter | undefined = undefined;
  private lastCount = 0;
  private counters = 0;
  private events: TrackEvent[] = [];
  private droppedEvaluations = 0;
  private droppedEvents = 0;
  private windowStart: number;

  constructor(
    private readonly limits: EventLimits,
    private readonly now: () => number,
  ) {
    this.windowStart = now();
  }

  /**
   * Counts one evaluation of `flag` that served `result`, which must be what evaluating `flag`
   * returned: a shared result is told apart by its identity alone.
   */
  count(flag: string, result: EvaluationResult<unknown>): void {
    if (result === this.lastResult) this.lastCount++;
    // Out of line, so that the common case above stays small enough to inline into every getter.
    else this.countSlowly(flag, result);
  }

  private countSlowly(flag: string, result: EvaluationResult<unknown>): void {
    this.settle();
    if (result.variant === undefined) {
      this.countByKey(flag, result);
      return;
    }
    let counter = this.byResult.get(result);
    if (counter === undefined) {
      // Several result objects may share one (flag, variant, reason) (a rule and a target serving
      // the same variant): they share the keyed counter, so each tuple is reported once.
      counter = this.counterFor(flag, result.variant, result.reason);
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

  /** Queues a track event; returns `false` when the queue was full and the event was dropped. */
  track(event: TrackEvent): boolean {
    if (this.events.length >= this.limits.maxEvents) {
      this.droppedEvents++;
      return false;
    }
    this.events.push(event);
    return true;
  }

  /** Whether anything would be sent. */
  get isEmpty(): boolean {
    return this.counters === 0 && this.events.length === 0 && this.droppedEvaluations === 0 && this.droppedEvents === 0;
  }

  /** Takes everything held as one batch and starts a new window. */
  drain(): EventBatch {
    this.settle();
    const end = this.now();
    const counters = new Set<Counter>([...this.byResult.values(), ...this.byKey.values()]);
    const batch: EventBatch = {
      window: { start: this.windowStart, end },
      evaluations: [...counters].map(({ flag, variant, reason, count }) => ({ flag, variant, reason, count })),
      events: this.events,
      dropped: { evaluations: this.droppedEvaluations, events: this.droppedEvents },
    };
    this.byResult = new Map();
    this.byKey = new Map();
    this.lastResult = undefined;
    this.lastCounter = undefined;
    this.counters = 0;
    this.events = [];
    this.droppedEvaluations = 0;
    this.droppedEvents = 0;
    this.windowStart = end;
    return batch;
  }

  /**
   * Puts back a batch that could not be sent, as far as the bounds allow: counts merge into the
   * current window (which then starts at the batch's start), events go first in the queue.
   */
  restore(batch: EventBatch): void {
    this.windowStart = Math.min(this.windowStart, batch.window.start);
    for (const c of batch.evaluations) {
      const counter = this.counterFor(c.flag, c.variant, c.reason);
      if (counter === undefined) this.droppedEvaluations += c.count - 1;
      else counter.count += c.count;
    }
    const room = Math.max(0, this.limits.maxEvents - this.events.length);
    const kept = batch.events.slice(batch.events.length - Math.min(room, batch.events.length));
    this.droppedEvents += batch.events.length - kept.length;
    this.events = [...kept, ...this.events];
    this.droppedEvaluations += batch.dropped.evaluations;
    this.droppedEvents += batch.dropped.events;
  }

  private countByKey(flag: string, result: EvaluationResult<unknown>): void {
    const counter = this.counterFor(flag, result.variant ?? null, result.reason);
    if (counter !== undefined) counter.count++;
  }

  /** The counter for (flag, variant, reason), made at count 0 when there is room. */
  private counterFor(flag: string, variant: string | null, reason: string): Counter | undefined {
    const key = `${flag}\u0000${variant ?? ''}\u0000${variant === null ? 0 : 1}\u0000${reason}`;
    let counter = this.byKey.get(key);
    if (counter === undefined) {
      counter = this.reserve({ flag, variant, reason, count: 0 });
      if (counter === undefined) return undefined;
      this.byKey.set(key, counter);
    }
    return counter;
  }

  private reserve(counter: Counter): Counter | undefined {
    if (this.counters >= this.limits.maxCounters) {
      this.droppedEvaluations++;
      return undefined;
    }
    this.counters++;
    return counter;
  }
}
