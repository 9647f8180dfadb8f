import { z } from 'zod';
import { Description, Key, Name, Reason, Timestamp } from '../../http/common-schemas.js';
import { ClauseSchema } from '../flags/schemas.js';

const ContextKeys = z.array(z.string().min(1).max(256)).max(100_000);

const SegmentRuleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of letters, digits, ".", "_" or "-"')
      .optional(),
    clauses: z.array(ClauseSchema).max(100),
  })
  .strict();

const SegmentFields = {
  name: Name,
  description: Description.default(''),
  included: ContextKeys.default([]),
  excluded: ContextKeys.default([]),
  rules: z.array(SegmentRuleSchema).max(500).default([]),
  reason: Reason.optional(),
};

export const CreateSegmentBody = z.object({ key: Key, ...SegmentFields }).strict();
export type CreateSegmentBody = z.infer<typeof CreateSegmentBody>;

export const ReplaceSegmentBody = z.object(SegmentFields).strict();
export type ReplaceSegmentBody = z.infer<typeof ReplaceSegmentBody>;

/** A segment as the API shows it (`service.segmentView`); its `version` is its `ETag`. */
export const SegmentView = z.object({
  key: Key,
  environment: Key,
  name: z.string(),
  description: z.string(),
  included: z.array(z.string()),
  excluded: z.array(z.string()),
  rules: z.array(SegmentRuleSchema.required({ id: true })),
  version: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
