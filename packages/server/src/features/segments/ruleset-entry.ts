import type { Segment } from '@switchyard/core';
import type { SegmentFields } from './store.js';

/** A segment in the ruleset's JSON form (schemaVersion 1). */
export function toRulesetSegment(s: SegmentFields & { key: string; version: number }): Segment {
  const out: Segment = { key: s.key, version: s.version };
  if (s.included.length > 0) out.included = s.included;
  if (s.excluded.length > 0) out.excluded = s.excluded;
  if (s.rules.length > 0) out.rules = s.rules;
  return out;
}
