import { Murmur3Utf8 } from './bucket.js';
import { compileFlag } from './compile-flag.js';
import { compileSegment } from './compile-segment.js';
import type { Flag, Ruleset, Segment } from './types.js';

/** A flag or segment of a client view: valid, or only its key, version, type and metadata, marked invalid. */
export type Viewed<T> = T & { invalid?: true };

/**
 * A ruleset as browsers get it: every flag and segment either valid or marked `invalid`, with
 * the version and metadata the engine reads. {@link viewEvaluator} evaluates it as
 * {@link compile} evaluates the ruleset itself, without carrying the checks into a browser
 * bundle: they run here, where the server (or a test) has the whole engine.
 */
export function clientView(ruleset: Ruleset): Ruleset {
  return { ...ruleset, flags: ruleset.flags.map(viewFlag), segments: ruleset.segments.map(viewSegment) };
}

export function viewFlag(flag: Flag): Viewed<Flag> {
  const compiled = compileFlag(flag, flag.key, new Murmur3Utf8());
  const { key, version, metadata, type } = compiled;
  if (compiled.invalid) return { key, version, type, metadata, invalid: true } as unknown as Viewed<Flag>;
  const viewed = { ...flag, version };
  if (metadata === undefined) delete viewed.metadata;
  else viewed.metadata = metadata;
  return viewed;
}

export function viewSegment(segment: Segment): Viewed<Segment> {
  const { key, version, invalid } = compileSegment(segment, segment.key);
  return invalid ? { key, version, invalid } : { ...segment, version };
}
