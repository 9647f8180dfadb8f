import { z } from 'zod';
import { FlagEnvironmentParams, Reason } from '../../http/common-schemas.js';
import { PatchConfigBody } from '../flags/schemas.js';

/** A change is scheduled at most this far ahead: a typo in the year should not wait a century. */
export const MAX_AHEAD_DAYS = 366;

export const SCHEDULE_STATES = ['pending', 'applied', 'refused', 'cancelled', 'failed'] as const;
export type ScheduleState = (typeof SCHEDULE_STATES)[number];

/** The change itself: exactly what a PATCH of the flag's configuration in the environment takes, but its reason. */
export const ConfigChange = PatchConfigBody.omit({ reason: true }).refine((c) => Object.keys(c).length > 0, {
  message: 'must change at least one field',
});

export const ScheduleBody = z
  .object({
    /** When to apply it: an ISO 8601 timestamp with its offset (`2026-12-07T18:00:00Z`), in the future. */
    at: z.iso.datetime({ offset: true }),
    change: ConfigChange,
    /**
     * What to do when the configuration has changed since it was scheduled (its version moved):
     * apply the change over whatever it is then, or refuse it and leave the configuration alone.
     */
    ifVersionMoved: z.enum(['apply', 'refuse']).default('apply'),
    reason: Reason.optional(),
  })
  .strict();
export type ScheduleBody = z.infer<typeof ScheduleBody>;

export const ListSchedulesQuery = z
  .object({
    state: z.enum(SCHEDULE_STATES).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict();
export type ListSchedulesQuery = z.infer<typeof ListSchedulesQuery>;

export const ScheduleParams = FlagEnvironmentParams.extend({
  id: z.string().regex(/^[1-9]\d{0,14}$/, 'must be the id of a scheduled change'),
});

export const ScheduledChangeView = z.object({
  id: z.number().int(),
  flag: z.string(),
  environment: z.string(),
  at: z.string(),
  change: z.record(z.string(), z.unknown()),
  ifVersionMoved: z.enum(['apply', 'refuse']),
  /** The configuration's version when the change was scheduled. */
  baseVersion: z.number().int(),
  reason: z.string().nullable(),
  state: z.enum(SCHEDULE_STATES),
  scheduledBy: z.string(),
  /** Their stable id: `user:<id>`, `token:<id>` or `key:<id>`. */
  scheduledById: z.string(),
  /** The environment version the change was applied at, once applied. */
  appliedVersion: z.number().int().nullable(),
  /** How it ended: applied, or why it was refused, failed or cancelled. */
  outcome: z.string().nullable(),
  /** Who ended it: `scheduler`, or whoever cancelled it. */
  settledBy: z.string().nullable(),
  settledAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const ScheduledChangeList = z.object({ items: z.array(ScheduledChangeView) });
