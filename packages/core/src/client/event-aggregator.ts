/** How many times one flag served one variant for one reason within a window. */
export interface EvaluationCount {
  flag: string;
  /** `null` when the caller's default was served. */
  variant: string | null;
  reason: string;
  count: number;
}

/**
 * The largest magnitude of a track event's value. Values are summed and squared per unit in the
 * server's double-precision aggregates; past this they could overflow there. A value beyond it
 * is not sent, as a value that is not a number is not: the event still counts.
 */
export const MAX_EVENT_VALUE = 1e15;

export interface TrackEvent {
  event: string;
  /** The context's `key`, when it has one (`undefined` is left out of the JSON). */
  key?: string | undefined;
  value?: number | undefined;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** The first time a unit (a context key) was served a variant of a measured flag (DESIGN §9). */
export interface Exposure {
  flag: string;
  variant: string;
  key: string;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

/** The body of `POST /sdk/v1/events`. */
export interface EventBatch {
  /**
   * Names this batch for the server, which stores a batch sent again under the same id (a retry
   * after a lost answer) only once.
   */
  id: string;
  window: { start: number; end: number };
  evaluations: EvaluationCount[];
  events: TrackEvent[];
  exposures: Exposure[];
  /** What was dropped at the memory bounds since the previous batch. */
  dropped: { evaluations: number; events: number };
}

export interface EventLimits {
  /** Distinct (flag, variant, reason) counters kept per window. */
  maxCounters: number;
  /** Track events queued between two flushes. */
  maxEvents: number;
  /** Exposures queued between two flushes. */
  maxExposures: number;
  /**
   * (flag, variant, context key) triples remembered so that each exposure is sent once; past
   * this many the least recently served is forgotten, and would be sent again if served again.
   */
  exposureMemory: number;
}

/**
 * Evaluation counts, track events and exposures, held in memory between two flushes, within fixed bounds:
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
   * (sent when it is a number within ±{@link MAX_EVENT_VALUE}); `false` when it was dropped: the
   * queue was full, or the name is empty or too long, or the key too long, for the server.
   */
  track(event: string, key: unknown, value: unknown): boolean;
  /**
   * Queues the exposure of the context key `key` to `variant` of the measured flag `flag`,
   * unless it was queued before (within `exposureMemory`); a key that is not a non-empty string
   * names no unit and is not recorded. `false` when the exposure was due but dropped: the queue
   * was full, or the server would refuse it (a key over 256 characters, a flag key over 128, a
   * variant key over 64). A dropped exposure is not remembered, so it is due again next time.
   */
  expose(flag: string, variant: string, key: unknown): boolean;
  /**
   * Takes everything held as one batch, with an id of its own, and starts a new window;
   * `undefined` when there is nothing to send. Remembered exposures stay remembered.
   */
  drain(): EventBatch | undefined;
}

const namesFlag = (key: unknown) => typeof key === 'string' && key !== '' && key.length <= 128;

// Closures rather than a class, and no more than both SDKs need: written to fit the browser's
// 5 KB bundle, which does not take it yet (docs/architecture.md, "The one client").
export function eventAggregator(limits: EventLimits, now: () => number): EventAggregator {
  let counters = new Map<string, EvaluationCount>();
  let events: TrackEvent[] = [];
  let exposures: Exposure[] = [];
  // A Map keeps insertion order: re-inserting a triple when it is served again makes the first
  // entry the least recently served, the one to forget.
  const exposed = new Map<string, true>();
  let droppedEvaluations = 0;
  let droppedEvents = 0;
  let start = now();
  // Unique per client (the start time and a random part) and per batch (a sequence number).
  const idPrefix = `${start.toString(36)}-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  let sequence = 0;

  return {
    count(flag, { variant = null, reason }, n = 1) {
      // Reasons and variant keys hold no NUL, and no variant key is empty: a key names one tuple.
      const key = `${flag}\0${reason}\0${variant ?? ''}`;
      let c = counters.get(key);
      // A key that is no string, empty or over 128 characters names no flag the server takes.
      if (c === undefined && (!namesFlag(flag) || counters.size >= limits.maxCounters)) droppedEvaluations++;
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
        value: Number.isFinite(value) && Math.abs(value as number) <= MAX_EVENT_VALUE ? (value as number) : undefined,
        timestamp: now(),
      });
      return true;
    },
    expose(flag, variant, key) {
      if (typeof key !== 'string' || key === '') return true;
      // Flag and variant keys hold no NUL: the id names one triple whatever the context key holds.
      const id = `${flag}\0${variant}\0${key}`;
      if (exposed.delete(id)) {
        exposed.set(id, true);
        return true;
      }
      if (key.length > 256 || flag.length > 128 || variant.length > 64 || exposures.length >= limits.maxExposures) {
        return false;
      }
      exposed.set(id, true);
      if (exposed.size > limits.exposureMemory) exposed.delete(exposed.keys().next().value as string);
      exposures.push({ flag, variant, key, timestamp: now() });
      return true;
    },
    drain() {
      if (!(counters.size || events.length || exposures.length || droppedEvaluations || droppedEvents))
        return undefined;
      const end = now();
      const batch: EventBatch = {
        id: `${idPrefix}-${sequence++}`,
        window: { start, end },
        evaluations: [...counters.values()],
        events,
        exposures,
        dropped: { evaluations: droppedEvaluations, events: droppedEvents },
      };
      counters = new Map();
      events = [];
      exposures = [];
      droppedEvaluations = droppedEvents = 0;
      start = end;
      return batch;
    },
  };
}
