import { z } from 'zod';

/** Keys of projects, environments, flags and segments (DESIGN §2). */
export const Key = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,127}$/,
    'must be 1-128 characters of a-z, 0-9, ".", "_" or "-", starting with a letter or digit',
  );

/** Any JSON value (a variant's value); the OpenAPI document names it `JsonValue`, as it refers to itself. */
export const JsonValue = z.json();

export const Name = z.string().trim().min(1).max(200);
export const Description = z.string().max(2000);
export const Reason = z.string().trim().min(1).max(1000);

export const ProjectParams = z.object({ project: Key });
export const EnvironmentParams = z.object({ project: Key, env: Key });
export const FlagParams = z.object({ project: Key, flag: Key });
export const FlagEnvironmentParams = z.object({ project: Key, flag: Key, env: Key });
export const SegmentParams = z.object({ project: Key, env: Key, segment: Key });

/** An instant as the API writes it: ISO 8601 in UTC (`Date.toISOString`). */
export const Timestamp = z.iso.datetime();

/** The `revision` a versioned resource's `ETag` carries; `If-Match` names it. */
export const Revision = z.number().int().min(0);

/** A collection: `{items: [...]}`. */
export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
