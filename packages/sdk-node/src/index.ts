export type {
  ErrorCode,
  EvaluationContext,
  EvaluationResult,
  FlagType,
  FlagValue,
  Reason,
} from '@switchyard/core';

/** Options of `createClient`; the client itself arrives with the Node SDK issue. */
export interface NodeClientOptions {
  /** A server SDK key of one environment. */
  sdkKey: string;
  /** Where the flag server listens, e.g. `http://127.0.0.1:4242`. */
  baseUrl: string;
}
