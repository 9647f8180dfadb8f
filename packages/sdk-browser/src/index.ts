export type {
  ChangeEvent,
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
export { BOOTSTRAP_VARIANT, type Bootstrap } from './bootstrap.js';
export { type BrowserClient, type BrowserClientOptions, type ClientEvents, createClient } from './client.js';
export { SwitchyardError } from './errors.js';
