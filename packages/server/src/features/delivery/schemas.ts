import { z } from 'zod';

/**
 * `GET /sdk/v1/ruleset`'s body (`packages/core/src/types.ts`, `Ruleset`), for the OpenAPI document.
 * Flags and segments are described by their identity only: their full form is the core's JSON
 * format (docs/architecture.md, Concepts), and a client key's view may reduce one to
 * `{key, version, type, metadata, invalid: true}`.
 */
export const RulesetView = z.object({
  schemaVersion: z.literal(1),
  /** `project/environment`. */
  environment: z.string(),
  version: z.number().int(),
  flags: z.array(z.looseObject({ key: z.string(), version: z.number().int() })),
  segments: z.array(z.looseObject({ key: z.string(), version: z.number().int() })),
});

/** `GET /sdk/v1/stream`: Server-Sent Events, described in words (OpenAPI has no schema for an event stream). */
export const RulesetStream = {
  description:
    'Server-Sent Events: `retry: <ms>`; `event: put` with the whole ruleset (`id: <version>`); then ' +
    '`event: patch` with `{kind: "flag" | "segment", key, version, value | null}`, the last patch of a ' +
    'version carrying `id:`; a `:` comment every 15 s. Resume with `Last-Event-ID` (or `?lastEventId=`).',
  content: {
    'text/event-stream': {
      schema: z.string().describe('`event: put|patch`, `data: <JSON>`, `id: <version>` frames'),
    },
  },
};
