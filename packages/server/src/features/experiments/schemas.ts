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
