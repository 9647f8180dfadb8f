import { z } from 'zod';
import { Key } from '../../http/common-schemas.js';
import { VariantKey } from '../flags/schemas.js';

export const ResultsQuery = z
  .object({
    /** The metric's key. */
    metric: Key,
    /** The variant the others are compared against; defaults to the flag's offVariant, else its first variant. */
    control: VariantKey.optional(),
  })
  .strict();
export type ResultsQuery = z.infer<typeof ResultsQuery>;

const Interval = z.object({ estimate: z.number().nullable(), ci95: z.tuple([z.number(), z.number()]).nullable() });

/** What `experimentResults` answers: per-variant totals and each variant compared with the control. */
export const ResultsView = z.object({
  flag: Key,
  environment: Key,
  metric: z.object({
    key: Key,
    event: z.string(),
    kind: z.enum(['conversion', 'mean']),
    direction: z.enum(['increase', 'decrease']),
  }),
  control: z.string(),
  status: z.enum(['ready', 'not-enough-data']),
  minUnitsPerVariant: z.number().int(),
  /**
   * Sample ratio mismatch against the configured split, over the units first exposed since it was
   * configured (`since`: the configuration's last write, plus a second for SDKs to catch up);
   * `weights: null` when the flag does not split.
   */
  srm: z.object({
    pValue: z.number().nullable(),
    mismatch: z.boolean(),
    weights: z.array(z.object({ variant: z.string(), weight: z.number() })).nullable(),
    since: z.string().nullable(),
    units: z.array(z.object({ variant: z.string(), units: z.number() })).nullable(),
  }),
  variants: z.array(
    z.object({
      variant: z.string(),
      units: z.number(),
      conversions: z.number(),
      mean: z.number(),
      variance: z.number(),
    }),
  ),
  comparisons: z.array(
    z.object({
      variant: z.string(),
      absolute: Interval,
      relative: Interval,
      pValue: z.number().nullable(),
      sequential: z.object({ ci95: z.tuple([z.number(), z.number()]).nullable(), significant: z.boolean() }),
      degreesOfFreedom: z.number().nullable(),
      caveat: z.enum(['too-few-units', 'no-variation', 'zero-control-mean']).nullable(),
    }),
  ),
  /** Units exposed to more than one variant: left out of every variant. */
  excludedUnits: z.number().int(),
});
