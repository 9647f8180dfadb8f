import { compileFlag } from './compile-flag.js';
import { compileSegment } from './compile-segment.js';
import type { ConfigError } from './config-error.js';
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
  return problem(compileFlag(flag, flag.key).error);
}

export function checkSegment(segment: Segment): ConfigProblem | undefined {
  return problem(compileSegment(segment, segment.key).error);
}

const problem = (error: ConfigError | undefined): ConfigProblem | undefined =>
  error === undefined ? undefined : { message: error.message, path: error.path };
