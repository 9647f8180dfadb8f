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
  /** The context's `key`, when it has one (`undefined` is left out of the JSON). */
  key?: string | undefined;
  value?: number | undefined;
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

/**
 * Evaluation counts and track events, held in memory between two flushes, within fixed bounds:
 * what does not fit is dropped and counted, never queued, so a caller is never blocked and
 * memory never grows past the limits. What the server would refuse, and with it the whole
 * batch, is dropped here instead. The Node client puts `JitShapedCounter` in front of it for its
 * getters; the browser's `analytics` keeps this contract in code of its own (the bundle budget).
 */
/** What an evaluation served, as a result or a counter has it (`null` or no variant: the caller's default). */
type Served = { readonly variant?: string | null | undefined; readonly reason: string };

export interface EventAggregator {
  /**
   * Counts `n` (default 1) evaluations of `flag` that served `result`, and returns their counter,
   * valid until the next drain (`n = 0` only finds it). `undefined`, and one dropped count, when
   * there is no room for another counter or the server would refuse it (a flag key over 128
   * characters).
   */
  count(flag: string, result: Served, n?: number): EvaluationCount | undefined;
  /**
   * Queues a track event for the context key `key` (sent when it is a string) with `value`
   * (sent when it is a finite number); `false` when it was dropped: the queue was full, or the
   * name is empty or too long, or the key too long, for the server.
   */
  track(event: string, key: unknown, value: unknown): boolean;
  /** Takes everything held as one batch and starts a new window; `undefined` when there is nothing to send. */
  drain(): EventBatch | undefined;
}

// Closures rather than a class, and no more than both SDKs need: written to fit the browser's
// 5 KB bundle, which does not take it yet (docs/architecture.md, "The one client").
export function eventAggregator(limits: EventLimits, now: () => number): EventAggregator {
  let counters = new Map<string, EvaluationCount>();
  let events: TrackEvent[] = [];
  let droppedEvaluations = 0;
  let droppedEvents = 0;
  let start = now();

  return {
    count(flag, { variant = null, reason }, n = 1) {
      // Reasons and variant keys hold no NUL, and no variant key is empty: a key names one tuple.
      const key = `${flag}\0${reason}\0${variant ?? ''}`;
      let c = counters.get(key);
      if (c === undefined && (flag.length > 128 || counters.size >= limits.maxCounters)) droppedEvaluations++;
      else {
        if (c === undefined) {
          c = { flag, variant, reason, count: 0 };
          counters.set(key, c);
        }
        c.count += n;
      }
      return c;
    },
    track(event, key, value) {
      const refused =
        typeof event !== 'string' || !event || event.length > 200 || (typeof key === 'string' && key.length > 256);
      if (refused || events.length >= limits.maxEvents) {
        droppedEvents++;
        return false;
      }
      events.push({
        event,
        key: typeof key === 'string' ? key : undefined,
        value: Number.isFinite(value) ? (value as number) : undefined,
        timestamp: now(),
      });
      return true;
    },
    drain() {
      if (!(counters.size || events.length || droppedEvaluations || droppedEvents)) return undefined;
      const end = now();
      const batch: EventBatch = {
        window: { start, end },
        evaluations: [...counters.values()],
        events,
        dropped: { evaluations: droppedEvaluations, events: droppedEvents },
      };
      counters = new Map();
      events = [];
      droppedEvaluations = droppedEvents = 0;
      start = end;
      return batch;
    },
  };
}

/**
 * A batch that could not be sent, put in front of the next one as far as `limits` allow: counts
 * of the same (flag, variant, reason) add up, past `maxCounters` they are dropped and counted;
 * the newest `maxEvents` events are kept. The window spans both. Only the Node client retries a
 * batch (a page's batch goes with `keepalive` and is not retried), so this stays out of the
 * aggregator, and out of the browser's bundle.
 */
export function mergeBatches(unsent: EventBatch, next: EventBatch, limits: EventLimits): EventBatch {
  const merged = eventAggregator(limits, () => 0);
  const all = [...unsent.evaluations, ...next.evaluations];
  for (const c of all) merged.count(c.flag, c, c.count);
  const evaluations = merged.drain()?.evaluations ?? [];
  const sum = (counts: EvaluationCount[]) => counts.reduce((n, c) => n + c.count, 0);
  const events = [...unsent.events, ...next.events];
  const kept = events.slice(Math.max(0, events.length - limits.maxEvents));
  return {
    window: { start: unsent.window.start, end: next.window.end },
    evaluations,
    events: kept,
    dropped: {
      evaluations: unsent.dropped.evaluations + next.dropped.evaluations + sum(all) - sum(evaluations),
      events: unsent.dropped.events + next.dropped.events + events.length - kept.length,
    },
  };
}
