import { type Clause, MAX_REGEX_LENGTH, OPERATORS, type Operator, type Rollout, type Serve } from '@switchyard/core';
import { z } from 'zod';
import { Description, JsonValue, Key, Name, Reason, Revision, Timestamp } from '../../http/common-schemas.js';

export const VariantKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be 1-64 characters of letters, digits, ".", "_" or "-"');

const Tag = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._:-]{0,63}$/, 'must be 1-64 characters of a-z, 0-9, ".", "_", ":" or "-"');
const Metadata = z
  .record(z.string().min(1).max(64), z.union([z.string().max(500), z.number(), z.boolean()]))
  .refine((m) => Object.keys(m).length <= 50, 'at most 50 entries');

export const FlagType = z.enum(['boolean', 'string', 'number', 'json']);

export const VariantSchema = z.object({ key: VariantKey, value: JsonValue }).strict();

export const CreateFlagBody = z
  .object({
    key: Key,
    name: Name,
    description: Description.default(''),
    tags: z.array(Tag).max(20).default([]),
    type: FlagType,
    /** Optional for boolean flags, which always have `on` (true) and `off` (false). */
    variants: z.array(VariantSchema).min(1).max(100).optional(),
    clientSide: z.boolean().default(false),
    metadata: Metadata.default({}),
  })
  .strict();
export type CreateFlagBody = z.infer<typeof CreateFlagBody>;

export const UpdateFlagBody = z
  .object({
    name: Name.optional(),
    description: Description.optional(),
    tags: z.array(Tag).max(20).optional(),
    clientSide: z.boolean().optional(),
    metadata: Metadata.optional(),
    /** The whole new list. A variant still served, targeted or named anywhere cannot be removed. */
    variants: z.array(VariantSchema).min(1).max(100).optional(),
  })
  .strict();
export type UpdateFlagBody = z.infer<typeof UpdateFlagBody>;

export const ListFlagsQuery = z
  .object({
    tag: Tag.optional(),
    q: z.string().max(200).optional(),
    archived: z.enum(['true', 'false', 'all']).default('false'),
  })
  .strict();

const ClauseValue = z.union([z.string().max(MAX_REGEX_LENGTH * 4), z.number(), z.boolean()]);

export const ClauseSchema = z
  .object({
    attribute: z.string().min(1).max(256),
    op: z.enum(OPERATORS as unknown as [Operator, ...Operator[]]),
    values: z.array(ClauseValue).max(10_000),
    negate: z.boolean().optional(),
  })
  .strict();

export const ServeSchema = z.union([
  z.object({ variant: VariantKey }).strict(),
  z
    .object({
      rollout: z
        .object({
          bucketBy: z.string().min(1).max(256).optional(),
          weights: z
            .array(z.object({ variant: VariantKey, weight: z.number().int().min(0).max(100_000) }).strict())
            .min(1)
            .max(100),
        })
        .strict(),
    })
    .strict(),
]);

const RuleId = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of letters, digits, ".", "_" or "-"');

export const RuleSchema = z
  .object({
    /** Generated when absent. */
    id: RuleId.optional(),
    description: z.string().max(500).optional(),
    clauses: z.array(ClauseSchema).max(100),
    serve: ServeSchema,
  })
  .strict();

const ConfigFields = {
  enabled: z.boolean(),
  offVariant: VariantKey.nullable(),
  prerequisites: z.array(z.object({ flag: Key, variants: z.array(VariantKey).min(1).max(100) }).strict()).max(50),
  targets: z
    .array(z.object({ variant: VariantKey, values: z.array(z.string().min(1).max(256)).max(10_000) }).strict())
    .max(100),
  rules: z.array(RuleSchema).max(500),
  defaultServe: ServeSchema,
  salt: z.string().min(1).max(256).nullable(),
  measured: z.boolean(),
};

/** Full replacement: what is left out takes its empty value. */
export const ReplaceConfigBody = z
  .object({
    enabled: ConfigFields.enabled,
    offVariant: ConfigFields.offVariant.default(null),
    prerequisites: ConfigFields.prerequisites.default([]),
    targets: ConfigFields.targets.default([]),
    rules: ConfigFields.rules.default([]),
    defaultServe: ConfigFields.defaultServe,
    salt: ConfigFields.salt.default(null),
    measured: ConfigFields.measured.default(false),
    reason: Reason.optional(),
  })
  .strict();
export type ReplaceConfigBody = z.infer<typeof ReplaceConfigBody>;

/** Partial update: only the fields given change. */
export const PatchConfigBody = z
  .object({
    enabled: ConfigFields.enabled.optional(),
    offVariant: ConfigFields.offVariant.optional(),
    prerequisites: ConfigFields.prerequisites.optional(),
    targets: ConfigFields.targets.optional(),
    rules: ConfigFields.rules.optional(),
    defaultServe: ConfigFields.defaultServe.optional(),
    salt: ConfigFields.salt.optional(),
    measured: ConfigFields.measured.optional(),
    reason: Reason.optional(),
  })
  .strict();
export type PatchConfigBody = z.infer<typeof PatchConfigBody>;

/** The reason is optional, and so is the body: `curl -X POST …/kill` is enough in an incident. */
export const KillBody = z.preprocess((body) => body ?? {}, z.object({ reason: Reason.optional() }).strict());

export const KillTagBody = z.object({ tag: Tag, reason: Reason.optional() }).strict();

/** zod's optional fields may hold `undefined`; the ruleset's JSON form leaves them out instead. */
export function toClause(c: z.infer<typeof ClauseSchema>): Clause {
  const out: Clause = { attribute: c.attribute, op: c.op, values: c.values };
  if (c.negate !== undefined) out.negate = c.negate;
  return out;
}

export function toServe(s: z.infer<typeof ServeSchema>): Serve {
  if ('variant' in s) return { variant: s.variant };
  const rollout: Rollout = { weights: s.rollout.weights };
  if (s.rollout.bucketBy !== undefined) rollout.bucketBy = s.rollout.bucketBy;
  return { rollout };
}

export type RuleInput = z.infer<typeof RuleSchema>;

/** A flag as the API shows it (`service.flagView`); the answers' schemas are for the OpenAPI document. */
export const FlagView = z.object({
  key: Key,
  name: z.string(),
  description: z.string(),
  tags: z.array(z.string()),
  type: FlagType,
  variants: z.array(VariantSchema),
  clientSide: z.boolean(),
  archived: z.boolean(),
  metadata: Metadata,
  revision: Revision,
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

/** `GET` of one flag: its view and, per environment, whether it is on and its configuration's version. */
export const FlagDetail = FlagView.extend({
  environments: z.record(z.string(), z.object({ enabled: z.boolean(), version: z.number().int() })),
});

/** An item of the flag list: the same as one flag's `GET`, so a list shows every environment's state. */
export const FlagListItem = FlagDetail;

/** A flag's configuration in one environment (`service.configView`). */
export const ConfigView = z.object({
  flag: Key,
  environment: Key,
  ...ConfigFields,
  rules: z.array(RuleSchema.required({ id: true })),
  /** The environment's version at the configuration's last change; its `ETag`. */
  version: z.number().int(),
  updatedAt: Timestamp,
});

export const KillAnswer = ConfigView.extend({ changed: z.boolean().describe('false when it was already so') });

export const KillTagAnswer = z.object({
  environment: Key,
  tag: z.string(),
  /** The flags this call turned off (those already off are not listed). */
  killed: z.array(Key),
  version: z.number().int(),
});
