import { Murmur3Utf8 } from './bucket.js';
import { compileFlag } from './compile-flag.js';
import { compileSegment } from './compile-segment.js';
import type { Flag, Segment } from './types.js';

export interface ConfigProblem {
  message: string;
  /** Where in the flag or segment, e.g. `rules[2].clauses[0].values[1]`; empty for the whole. */
  path: string;
}

/**
 * Why a flag could not be evaluated, or `undefined` when it can: the same checks `compile`
 * makes, for a server to refuse a configuration before storing it. References to other flags
 * and segments are not checked: they are looked up when evaluating.
 */
export function checkFlag(flag: Flag): ConfigProblem | undefined {
  const scope = { flags: new Map(), segments: new Map(), hasher: new Murmur3Utf8(), stack: [], failure: undefined };
  const compiled = compileFlag(flag, flag.key, scope);
  return compiled.error === undefined ? undefined : { message: compiled.error, path: compiled.errorPath ?? '' };
}

export function checkSegment(segment: Segment): ConfigProblem | undefined {
  const compiled = compileSegment(segment, segment.key);
  return compiled.error === undefined ? undefined : { message: compiled.error, path: compiled.errorPath ?? '' };
}
