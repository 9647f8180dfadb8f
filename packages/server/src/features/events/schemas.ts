import { MAX_EVENT_VALUE } from '@switchyard/core';
import { z } from 'zod';

/** Milliseconds since the epoch, within what a Postgres timestamp and a JavaScript Date both hold. */
const EpochMs = z.number().int().min(0).max(8.64e15);

/**
 * The most evaluation counters, track events and exposures one batch may carry, each (the
 * SDKs' own bounds are at most this). A batch past any bound is refused whole.
 */
export const MAX_BATCH_ITEMS = 10_000;

/** Each SDK counter or event is small; this bounds a batch at its largest plausible size. */
export const EVENTS_BODY_LIMIT = 4 * 1024 * 1024;

export const EventBatchBody = z
  .object({
    /**
     * The SDK's id of this batch: a batch sent again with the same id (a retry after a lost
     * answer) is acknowledged and not stored twice. Ids are remembered as long as events are.
     */
    id: z.string().min(1).max(128).optional(),
    window: z
      .object({ start: EpochMs, end: EpochMs })
      .strict()
      .refine((w) => w.end >= w.start, 'end must not be before start'),
    evaluations: z
      .array(
        z
          .object({
            flag: z.string().min(1).max(128),
            /** `null` when the caller's default was served. */
            variant: z.string().min(1).max(64).nullable(),
            reason: z.string().min(1).max(64),
            count: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
          })
          .strict(),
      )
      .max(MAX_BATCH_ITEMS)
      .default([]),
    events: z
      .array(
        z
          .object({
            event: z.string().min(1).max(200),
            /** The context's key. */
            key: z.string().max(256).optional(),
            /** Bounded so that per-unit sums and their squares stay finite in the aggregates. */
            value: z.number().finite().min(-MAX_EVENT_VALUE).max(MAX_EVENT_VALUE).optional(),
            timestamp: EpochMs,
          })
          .strict(),
      )
      .max(MAX_BATCH_ITEMS)
      .default([]),
    /** The first time each unit was served a variant of a measured flag (DESIGN §9). */
    exposures: z
      .array(
        z
          .object({
            flag: z.string().min(1).max(128),
            variant: z.string().min(1).max(64),
            /** The context's key: the unit of analysis. */
            key: z.string().min(1).max(256),
            timestamp: EpochMs,
          })
          .strict(),
      )
      .max(MAX_BATCH_ITEMS)
      .default([]),
    dropped: z
      .object({ evaluations: z.number().int().min(0), events: z.number().int().min(0) })
      .strict()
      .default({ evaluations: 0, events: 0 }),
  })
  .strict();
export type EventBatchBody = z.infer<typeof EventBatchBody>;

/** `POST /sdk/v1/events`' answer: what the batch held; `duplicate` when it was stored before (a retry). */
export const EventsAccepted = z.object({
  accepted: z.object({ evaluations: z.number().int(), events: z.number().int(), exposures: z.number().int() }),
  duplicate: z.literal(true).optional(),
});
