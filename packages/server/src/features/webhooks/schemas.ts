import { z } from 'zod';
import { Key, Timestamp } from '../../http/common-schemas.js';
import { WEBHOOK_EVENT_TYPES } from './event-types.js';

/** Postgres text cannot hold NUL: refused here as the field's fault, never a failed insert. */
const noNul = (s: string) => !s.includes('\u0000');

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '';
  } catch {
    return false;
  }
}

export const WebhookUrl = z
  .string()
  .max(2000)
  .refine(noNul, 'must not contain NUL characters')
  .refine(isHttpUrl, 'must be an absolute http:// or https:// URL');

export const WebhookEvents = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1)
  .max(WEBHOOK_EVENT_TYPES.length * 2);

const WebhookDescription = z.string().max(2000).refine(noNul, 'must not contain NUL characters');

export const CreateWebhookBody = z
  .object({
    url: WebhookUrl,
    /** The events the webhook receives (at least one). */
    events: WebhookEvents,
    description: WebhookDescription.default(''),
    /** An inactive webhook gets no new deliveries, and its pending ones wait until it is active again. */
    active: z.boolean().default(true),
  })
  .strict();
export type CreateWebhookBody = z.infer<typeof CreateWebhookBody>;

export const UpdateWebhookBody = z
  .object({
    url: WebhookUrl.optional(),
    events: WebhookEvents.optional(),
    description: WebhookDescription.optional(),
    active: z.boolean().optional(),
  })
  .strict();
export type UpdateWebhookBody = z.infer<typeof UpdateWebhookBody>;

export const RotateSecretBody = z.preprocess(
  (body) => body ?? {},
  z
    .object({
      /** How long the replaced secret keeps signing beside the new one; 0 (the default) stops it at once. */
      previousSecretValidSeconds: z
        .number()
        .int()
        .min(0)
        .max(7 * 24 * 3600)
        .default(0),
    })
    .strict(),
);
export type RotateSecretBody = z.infer<typeof RotateSecretBody>;

export const ListDeliveriesQuery = z
  .object({
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
    /** The next page: deliveries older than this one (the `id` of the last delivery of the previous page). */
    before: z.string().uuid().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();
export type ListDeliveriesQuery = z.infer<typeof ListDeliveriesQuery>;

export const WebhookParams = z.object({ project: Key, webhook: z.string().uuid() });
export const DeliveryParams = z.object({ project: Key, webhook: z.string().uuid(), delivery: z.string().uuid() });

/** A webhook as the API shows it: never its secret, which is shown once (`WebhookWithSecret`). */
export const WebhookView = z.object({
  id: z.uuid(),
  url: z.string(),
  description: z.string(),
  events: z.array(z.string()),
  active: z.boolean(),
  previousSecretExpiresAt: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** When a webhook is made or its secret rotated: the secret receivers verify signatures with. */
export const WebhookWithSecret = WebhookView.extend({ secret: z.string() });

export const DeliveryView = z.object({
  id: z.uuid(),
  eventId: z.number().int(),
  eventType: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.number().int(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  nextAttemptAt: Timestamp.nullable(),
  deliveredAt: Timestamp.nullable(),
  redeliveryOf: z.uuid().nullable(),
  createdAt: Timestamp,
});

/** One delivery with the body it sends and every attempt so far. */
export const DeliveryDetail = DeliveryView.extend({
  payload: z.unknown(),
  attemptLog: z.array(
    z.object({
      attempt: z.number().int(),
      startedAt: Timestamp,
      durationMs: z.number().int(),
      statusCode: z.number().int().nullable(),
      error: z.string().nullable(),
    }),
  ),
});
