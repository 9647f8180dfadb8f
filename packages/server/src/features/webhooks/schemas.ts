import { z } from 'zod';
import { Key } from '../../http/common-schemas.js';
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
