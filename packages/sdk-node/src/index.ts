export type {
  AllFlagsOptions,
  ChangeEvent,
  ClientEvents,
  ClientStatus,
  ConnectionMode,
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
export { createClient, type NodeClientOptions, SDK_VERSION, type SwitchyardClient } from './create-client.js';
export { consoleLogger, type LogLevel } from './platform/console-logger.js';
export { FileStore } from './platform/file-store.js';
export type { KeyValueStore } from './platform/key-value-store.js';
