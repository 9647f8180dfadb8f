/**
 * Why a flag or segment cannot be evaluated (unknown variant, bad regex, weights that do not
 * sum to 100 000…), as `checkFlag` and `checkSegment` report it. The engine itself only learns
 * that a configuration is invalid (see {@link bad}): SDKs need no more, and the messages would
 * weigh on every browser bundle.
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

const INVALID = Symbol();

/** Stops compiling a flag or segment that fails a check; `validate.ts` says which check and where. */
export function bad(): never {
  throw INVALID;
}

/** `true` when `err` came from {@link bad}; anything else is a bug and goes on up. */
export function caught(err: unknown): true {
  if (err !== INVALID) throw err;
  return true;
}

export const str = (v: unknown): string => (typeof v === 'string' ? v : bad());

export const nonEmpty = (v: unknown): string => (v === '' ? bad() : str(v));

export const obj = (v: unknown): Record<string, unknown> =>
  typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : bad();

/** The items of an array, holes read as `undefined`: a sparse array must not skip its checks. */
export const list = (v: unknown): unknown[] => (Array.isArray(v) ? Array.from(v) : bad());
