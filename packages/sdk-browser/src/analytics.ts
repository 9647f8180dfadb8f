import type { EvaluationCount, EvaluationResult } from '@switchyard/core';

/** Bounds of what waits for the next batch; past them items are dropped and counted, never queued. */
const MAX_COUNTERS = 1e4;
const MAX_EVENTS = 1e3;
const MAX_EXPOSURES = 1e4;
/** (flag, variant, context key) triples remembered, so that each exposure is sent once. */
const EXPOSURE_MEMORY = 1e4;
/** Batches kept to be sent again; past this many the oldest is given up. */
const MAX_PENDING = 10;

/**
 * Keep-alive requests share a 64 KiB budget per page: a larger batch goes as an ordinary request.
 * Counted in characters, which the mostly ASCII body is near enough in bytes.
 */
const KEEPALIVE_LIMIT = 6e4;

export interface Analytics {
  /**
   * Counts an evaluation of `flag`; `unit` is the context's key when the flag is measured: a
   * served variant is then recorded as that unit's exposure, once.
   */
  count(flag: string, result: EvaluationResult<unknown>, unit?: unknown): void;
  /** `key` is the context's, sent when it is a string; `value` when it is a finite number. */
  track(event: string, key: unknown, value: unknown): void;
  /** Posts what is held as one batch (the body of `POST /sdk/v1/events`), and the batches kept to be sent again; never rejects. */
  flush(): Promise<unknown>;
}

/**
 * Evaluation counts per (flag, variant, reason), track events and exposures, held in memory
 * between two batches, following the contract of the core's `eventAggregator` in code of its own
 * (the bundle budget). Batches go with `keepalive`, so one sent while the page is hidden or
 * unloaded still arrives. A batch that gets no answer, a 5xx or a 429 is reported and kept, its
 * body unchanged, to be sent again with the next flush: under the same id, which the server
 * stores once. One the server refuses would be refused again, and is dropped. Kept batches go
 * together with the new one, not one after the other: a page going away runs no code after its
 * last event.
 */
export function analytics(url: string, failed: (reason: unknown) => void): Analytics {
  let counters = new Map<string, EvaluationCount>();
  let events: object[] = [];
  let exposures: object[] = [];
  // A Set keeps insertion order: re-adding a triple when it is served again makes the first
  // entry the least recently served, the one to forget.
  const exposed = new Set<string>();
  let droppedCounts = 0;
  let droppedEvents = 0;
  let start = Date.now();
  const pending = new Set<string>();
  const send = (body: string) => {
    // Out of the set while in flight, so that a flush meanwhile does not send it twice.
    pending.delete(body);
    // Sent as text/plain (a string body's default type), which the server reads as JSON: a
    // CORS-safelisted request needs no preflight, which a closing page might not live to see.
    return fetch(url, { method: 'POST', body, keepalive: body.length < KEEPALIVE_LIMIT }).then(
      (res) => {
        if (res.ok) return;
        if (res.status > 499 || res.status === 429) pending.add(body);
        failed(res.status);
      },
      (err) => {
        pending.add(body);
        failed(err);
      },
    );
  };
  return {
    count(flag, { variant, reason }, unit) {
      // Variant keys and reasons have no comma, so the joined key names one tuple even when a
      // caller's made-up flag key has one.
      const key = [flag, variant, reason].join();
      const counter = counters.get(key);
      if (counter) counter.count++;
      // No flag key is longer than 128 characters: the server would refuse the batch for one.
      // A key that is no string or empty names no flag the server takes (nor reads a length).
      else if (counters.size < MAX_COUNTERS && flag && flag.length <= 128)
        // The fields of these three literals are in the order that gzips smallest; JSON readers
        // do not mind the order.
        counters.set(key, { variant: variant ?? null, flag, count: 1, reason });
      else droppedCounts++;
      // Without a key there is no unit. The flag and variant, from the ruleset, have no comma.
      if (variant === undefined || typeof unit !== 'string' || !unit) return;
      const id = [flag, variant, unit].join();
      if (exposed.delete(id)) exposed.add(id);
      // Past the bounds, or what the server would refuse: dropped, and not remembered, so due again next time.
      else if (unit.length <= 256 && flag.length <= 128 && variant.length <= 64 && exposures.length < MAX_EXPOSURES) {
        exposed.add(id);
        if (exposed.size > EXPOSURE_MEMORY) exposed.delete(exposed.values().next().value as string);
        exposures.push({ variant, key: unit, flag, timestamp: Date.now() });
      }
    },
    track(event, key, value) {
      // What the server would refuse (and with it the whole batch) is dropped here instead.
      const refused =
        typeof event !== 'string' || !event || event.length > 200 || (typeof key === 'string' && key.length > 256);
      if (refused || events.length >= MAX_EVENTS) droppedEvents++;
      // Undefined fields are left out of the JSON body.
      else
        events.push({
          // A number within ±1e15 (the server's MAX_EVENT_VALUE, which its sums and squares hold)
          // or none: the server would refuse the whole batch for anything else. What JavaScript
          // reads as such a number ("5", null) is sent as it, and sums alike.
          value: (value as number) * (value as number) <= 1e30 ? +(value as number) : undefined,
          key: typeof key === 'string' ? key : undefined,
          event,
          timestamp: Date.now(),
        });
    },
    flush() {
      // Exposures come with counts: a batch with exposures has counters or dropped counts.
      if (counters.size || events.length || droppedCounts || droppedEvents) {
        const end = Date.now();
        pending.add(
          JSON.stringify({
            // The window's start and a random part: unique among the batches of every page, and
            // kept with the body when the batch is sent again.
            id: `${start}-${Math.random()}`,
            window: { start, end },
            evaluations: [...counters.values()],
            events,
            exposures,
            dropped: { evaluations: droppedCounts, events: droppedEvents },
          }),
        );
        counters = new Map();
        events = [];
        exposures = [];
        droppedCounts = droppedEvents = 0;
        start = end;
      }
      // A Set iterates in insertion order: the first is the oldest.
      for (const body of pending) if (pending.size > MAX_PENDING) pending.delete(body);
      return Promise.all([...pending].map(send));
    },
  };
}
