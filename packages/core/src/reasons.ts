import type { FlagMetadata, FlagValue } from './types.js';

/**
 * Why a value was served. The names are OpenFeature's resolution reasons, plus
 * `PREREQUISITE_FAILED`, so the OpenFeature providers pass them through unchanged.
 */
export type Reason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED' | 'PREREQUISITE_FAILED' | 'ERROR';

/** OpenFeature's error codes; an error result always has reason `ERROR`. */
export type ErrorCode =
  | 'FLAG_NOT_FOUND'
  | 'TYPE_MISMATCH'
  | 'PARSE_ERROR'
  | 'TARGETING_KEY_MISSING'
  | 'INVALID_CONTEXT'
  | 'PROVIDER_NOT_READY'
  | 'GENERAL';

export interface EvaluationResult<T = FlagValue> {
  readonly value: T;
  /** The served variant's key; absent when the caller's default was served. */
  readonly variant?: string;
  readonly reason: Reason;
  readonly errorCode?: ErrorCode;
  readonly errorMessage?: string;
  /** The rule that matched, for `TARGETING_MATCH` and `SPLIT` from a rule. */
  readonly ruleId?: string;
  readonly flagMetadata?: Readonly<FlagMetadata>;
}
