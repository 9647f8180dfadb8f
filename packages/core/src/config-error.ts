/**
 * A flag or segment whose configuration cannot be evaluated (unknown variant, bad regex,
 * weights that do not sum to 100 000…). Thrown while compiling only: the compiler turns it
 * into a flag that answers with the caller's default and `PARSE_ERROR`, and never lets it
 * reach an evaluation.
 */
export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';

  constructor(
    message: string,
    /** Where in the flag or segment, e.g. `rules[2].clauses[0].values[1]`. */
    readonly path: string,
  ) {
    super(path === '' ? message : `${path}: ${message}`);
    this.name = 'ConfigError';
  }
}

/** The ruleset as a whole is unusable (not an object, or a schema version this engine does not know). */
export class RulesetError extends Error {
  constructor(
    readonly code: 'INVALID_RULESET' | 'UNSUPPORTED_SCHEMA_VERSION',
    message: string,
  ) {
    super(message);
    this.name = 'RulesetError';
  }
}

/** The items of an array, holes read as `undefined`: a sparse array must not skip its checks. */
export function list(input: unknown, path: string, message = 'must be an array'): unknown[] {
  if (!Array.isArray(input)) throw new ConfigError(message, path);
  return Array.from(input);
}
