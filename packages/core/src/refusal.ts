import type { ErrorCode, EvaluationResult } from './reasons.js';
import type { FlagMetadata, FlagType } from './types.js';

/** What both engines' flags tell about themselves when they cannot be served. */
interface Refusable {
  readonly invalid?: boolean | undefined;
  readonly type: FlagType | undefined;
  readonly metadata?: Readonly<FlagMetadata> | undefined;
}

/** Why a flag cannot be served: unknown, invalid, or of another type than the caller expects. */
export function refusal<T>(
  key: string,
  flag: Refusable | undefined,
  defaultValue: T,
  expectedType: FlagType | undefined,
): EvaluationResult<T> {
  const name = JSON.stringify(key);
  if (flag === undefined) return failure(defaultValue, 'FLAG_NOT_FOUND', `flag ${name} not found`);
  if (flag.invalid) {
    return failure(defaultValue, 'PARSE_ERROR', `flag ${name} is invalid; checkFlag() tells why`, flag);
  }
  return failure(defaultValue, 'TYPE_MISMATCH', `flag ${name} is ${flag.type}, not ${expectedType}`, flag);
}

export function failure<T>(
  value: T,
  errorCode: ErrorCode,
  errorMessage: string,
  flag?: Refusable,
): EvaluationResult<T> {
  const result = { value, reason: 'ERROR', errorCode, errorMessage } as const;
  return flag?.metadata === undefined ? result : { ...result, flagMetadata: flag.metadata };
}
