/**
 * What went wrong in an SDK's infrastructure or in loading a ruleset (never in an evaluation,
 * which answers with a reason instead):
 *
 * - `INVALID_RULESET`: what was loaded is not a ruleset (not an object, a version or a list
 *   missing, a flag or segment without a key); thrown by `compile` and `viewEvaluator`.
 * - `UNSUPPORTED_SCHEMA_VERSION`: a ruleset of a schema version this engine does not read.
 *
 * - `UNAUTHORIZED`: the server refused the SDK key (401 or 403). Terminal: the client stops
 *   contacting the server and keeps serving what it has.
 * - `TIMEOUT`: `waitForReady` gave up.
 * - `CLOSED`: the client was closed before it became ready.
 * - `STREAM_FAILED`, `STREAM_STALLED`: the stream ended, could not be opened, or went silent
 *   past the heartbeat window; the client reconnects.
 * - `POLL_FAILED`: a ruleset request failed; the client polls again.
 * - `MALFORMED_DATA`: an event or ruleset could not be read; it was ignored and the last good
 *   ruleset kept.
 * - `BOOTSTRAP_FAILED`: the offline or bootstrap ruleset could not be loaded.
 * - `EVENTS_FAILED`, `EVENTS_DROPPED`: analytics could not be delivered, or were dropped at
 *   their memory bound.
 */
export type SwitchyardErrorCode =
  | 'INVALID_RULESET'
  | 'UNSUPPORTED_SCHEMA_VERSION'
  | 'UNAUTHORIZED'
  | 'TIMEOUT'
  | 'CLOSED'
  | 'STREAM_FAILED'
  | 'STREAM_STALLED'
  | 'POLL_FAILED'
  | 'MALFORMED_DATA'
  | 'BOOTSTRAP_FAILED'
  | 'EVENTS_FAILED'
  | 'EVENTS_DROPPED';

/**
 * The one error class of the engine and of both SDKs (each re-exports it). The message is prefixed with
 * `switchyard: `, so a log line says where it comes from. Fields are assigned rather than
 * declared with initialisers: in the browser's ES2020 bundle a class field costs a helper.
 */
export class SwitchyardError extends Error {
  declare readonly code: SwitchyardErrorCode;
  /** The HTTP status behind the error, when there was one. */
  declare readonly status: number | undefined;

  constructor(code: SwitchyardErrorCode, message: string, status?: number, cause?: unknown) {
    super(`switchyard: ${message}`, { cause });
    this.name = 'SwitchyardError';
    this.code = code;
    this.status = status;
  }
}
