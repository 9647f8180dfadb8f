import type { EvaluationCount, EvaluationResult } from '@switchyard/core';

/** Bounds of what waits for the next batch; past them items are dropped and counted, never queued. */
const MAX_COUNTERS = 1e4;
const MAX_EVENTS = 1e3;

/**
 * Keep-alive requests share a 64 KiB budget per page: a larger batch goes as an ordinary request.
 * Counted in characters, which the mostly ASCII body is near enough in bytes.
 */
const KEEPALIVE_LIMIT = 6e4;

export interface Analytics {
  count(flag: string, result: EvaluationResult<unknown>): void;
  /** `key` is the context's, sent when it is a string; `value` when it is a finite number. */
  track(event: string, key: unknown, value: unknown): void;
  /** Posts what is held as one batch (the body of `POST /sdk/v1/events`); never rejects. */
  flush(): Promise<void>;
}

/**
 * Evaluation counts per (flag, variant, reason) and track events, held in memory between two
 * batches. Batches go with `keepalive`, so one sent while the page is hidden or unloaded still
 * arrives. A batch that fails is reported and not sent again.
 */
export function analytics(url: string, failed: (reason: unknown) => void): Analytics {
  let counters = new Map<string, EvaluationCount>();
  let events: object[] = [];
  let droppedCounts = 0;
  let droppedEvents = 0;
  let start = Date.now();
  return {
    count(flag, { variant, reason }) {
      // Variant keys and reasons have no comma, so the joined key names one tuple even when a
      // caller's made-up flag key has one.
      const key = [flag, variant, reason].join();
      const counter = counters.get(key);
      if (counter) counter.count++;
      // No flag key is longer than 128 characters: the server would refuse the batch for one.
      else if (counters.size < MAX_COUNTERS && flag.length <= 128)
        counters.set(key, { flag, variant: variant ?? null, reason, count: 1 });
      else droppedCounts++;
    },
    track(event, key, value) {
      // What the server would refuse (and with it the whole batch) is dropped here instead.
      const refused =
        typeof event !== 'string' || !event || event.length > 200 || (typeof key === 'string' && key.length > 256);
      if (refused || events.length >= MAX_EVENTS) droppedEvents++;
      // Undefined fields are left out of the JSON body.
      else
        events.push({
          event,
          key: typeof key === 'string' ? key : undefined,
          value: Number.isFinite(value) ? value : undefined,
          timestamp: Date.now(),
        });
    },
    async flush() {
      if (!(counters.size || events.length || droppedCounts || droppedEvents)) return;
      const end = Date.now();
      const body = JSON.stringify({
        window: { start, end },
        evaluations: [...counters.values()],
        events,
        dropped: { evaluations: droppedCounts, events: droppedEvents },
      });
      counters = new Map();
      events = [];
      droppedCounts = droppedEvents = 0;
      start = end;
      // Sent as text/plain (a string body's default type), which the server reads as JSON: a
      // CORS-safelisted request needs no preflight, which a closing page might not live to see.
      await fetch(url, { method: 'POST', body, keepalive: body.length < KEEPALIVE_LIMIT }).then(
        (res) => res.ok || failed(res.status),
        failed,
      );
    },
  };
}
