import { ConfigError } from './config-error.js';
import type { Flag, Segment } from './types.js';
import { validateFlag, validateSegment } from './validate.js';

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
  return problem(validateFlag, flag);
}

export function checkSegment(segment: Segment): ConfigProblem | undefined {
  return problem(validateSegment, segment);
}

function problem<T>(validate: (input: T) => void, input: T): ConfigProblem | undefined {
  try {
    validate(input);
    return undefined;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { message: err.message, path: err.path };
  }
}
