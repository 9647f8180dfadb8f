export type {
  ErrorCode,
  EvaluationContext,
  EvaluationResult,
  FlagType,
  FlagValue,
  Reason,
} from '@switchyard/core';

/** Options of `createClient`; the client itself arrives with the browser SDK issue. */
export interface BrowserClientOptions {
  /** A client SDK key of one environment: public, it only reads `clientSide` flags. */
  clientKey: string;
  /** Where the flag server listens, e.g. `https://flags.example.com`. */
  baseUrl: string;
}
