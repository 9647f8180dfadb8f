export type {
  ChangeEvent,
  ClientEvents,
  ClientStatus,
  ErrorCode,
  EvaluationContext,
  EvaluationResult,
  FlagType,
  FlagValue,
  JsonValue,
  Logger,
  Reason,
  Ruleset,
  SwitchyardErrorCode,
} from '@switchyard/core';
export { SwitchyardError } from '@switchyard/core';
export { BOOTSTRAP_VARIANT, type Bootstrap } from './bootstrap.js';
export { type BrowserClient, type BrowserClientOptions, createClient } from './create-client.js';
