import { z } from 'zod';
import { Description, Key, Name, Timestamp } from '../../http/common-schemas.js';

/** The name of a track event, as SDKs send it (see events/schemas.ts). */
const EventName = z.string().min(1).max(200);
export const MetricKind = z.enum(['conversion', 'mean']);
export const MetricDirection = z.enum(['increase', 'decrease']);

export const CreateMetricBody = z
  .object({
    key: Key,
    /** Defaults to the key. */
    name: Name.optional(),
    description: Description.default(''),
    /** The track event the metric measures. */
    event: EventName,
    /** `conversion`: the unit sent the event at least once after its first exposure; `mean`: the sum of its values. */
    kind: MetricKind,
    /** Which way is good. */
    direction: MetricDirection,
  })
  .strict();
export type CreateMetricBody = z.infer<typeof CreateMetricBody>;

export const UpdateMetricBody = z
  .object({
    name: Name.optional(),
    description: Description.optional(),
    event: EventName.optional(),
    kind: MetricKind.optional(),
    direction: MetricDirection.optional(),
  })
  .strict();
export type UpdateMetricBody = z.infer<typeof UpdateMetricBody>;

export const ListMetricsQuery = z.object({ archived: z.enum(['true', 'false', 'all']).default('false') }).strict();

export const MetricParams = z.object({ project: Key, metric: Key });

/** A metric as the API shows it (`service.metricView`). */
export const MetricView = z.object({
  key: Key,
  name: z.string(),
  description: z.string(),
  event: z.string(),
  kind: MetricKind,
  direction: MetricDirection,
  archived: z.boolean(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
