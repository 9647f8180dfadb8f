export {
  BUCKET_POINTS,
  encodeUtf8,
  type Hasher,
  Murmur3Utf8,
  type SaltState,
  utf8Bytes,
} from './bucket.js';
export { affectedFlags, changedFlags } from './changes.js';
export { type ConfigProblem, checkFlag, checkSegment } from './check.js';
export { Backoff, backoffDelay } from './client/backoff.js';
export { type ClientState, type ClientStatus, clientState, type StateEvents } from './client/client-state.js';
export type { ConnectionMode } from './client/connection.js';
export { type Emitter, emitter } from './client/emitter.js';
export {
  type EvaluationCount,
  type EventAggregator,
  type EventBatch,
  type EventLimits,
  type Exposure,
  eventAggregator,
  MAX_EVENT_VALUE,
  type TrackEvent,
} from './client/event-aggregator.js';
export { type AllFlagsOptions, type ChangeEvent, type ClientEvents, FlagClient } from './client/flag-client.js';
export { FlagStore, type RulesetSource, type StoreUpdate } from './client/flag-store.js';
export { JitShapedCounter } from './client/jit-shaped-counter.js';
export { InvalidContextError, type OpenFeatureContext, toSwitchyardContext } from './client/openfeature-context.js';
export type { ClientOptions } from './client/options.js';
export type {
  Clock,
  EventStream,
  Http,
  HttpRequest,
  HttpResponse,
  Logger,
  Platform,
  Storage,
  StreamFailure,
  StreamHandle,
  StreamHandlers,
  StreamRequest,
} from './client/platform.js';
export { type SseEvent, SseParser } from './client/sse-parser.js';
export { isOlderPut } from './client/version-rule.js';
export { clientView, type Viewed, viewFlag, viewSegment } from './client-view.js';
export { FLAG_TYPES, valueHasType } from './compile-flag.js';
export { ConfigError } from './config-error.js';
export { SwitchyardError, type SwitchyardErrorCode } from './errors.js';
export { type CompileOptions, compile, Evaluator, type EvaluatorOptions } from './evaluator.js';
export { toInstant } from './instant.js';
export { MAX_MATCH_SUBJECT_LENGTH, MAX_REGEX_LENGTH, type OperatorSemantics, SEMANTICS } from './operators.js';
export { type PatchPart, patchProblem } from './patch.js';
export type { ErrorCode, EvaluationResult, Reason } from './reasons.js';
export { compareSemver, parseSemver, type SemVer } from './semver.js';
export * from './types.js';
export { type ViewEvaluator, viewEvaluator } from './view-evaluator.js';
