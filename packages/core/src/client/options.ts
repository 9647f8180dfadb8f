import type { Ruleset } from '../types.js';
import type { Logger } from './platform.js';

/** What the shared client takes; each SDK builds it from its own options. */
export interface ClientOptions {
  /** A server SDK key. */
  sdkKey: string;
  /** Where the flag server listens, e.g. `https://flags.example.com`. */
  baseUrl: string;
  /** Serve `bootstrap` (or nothing) and never contact the server. */
  offline?: boolean;
  /** A ruleset (object or JSON text) to serve until the server answers, or forever offline. */
  bootstrap?: Ruleset | string;
  /** Stream changes (default) or only poll. */
  stream?: boolean;
  /** Poll interval when polling, in milliseconds. */
  pollIntervalMs?: number;
  /** First reconnection delay ceiling; doubled per failure up to `maxRetryDelayMs`. */
  initialRetryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** A stream that sends nothing (not even a heartbeat) for this long is reconnected. */
  stallTimeoutMs?: number;
  /** Consecutive stream failures after which the client polls instead. */
  streamFailuresBeforePolling?: number;
  /** While polling, how often to try streaming again. */
  streamRetryIntervalMs?: number;
  /** A stream that lived this long resets the backoff when it ends. */
  healthyStreamMs?: number;
  requestTimeoutMs?: number;
  /** Send evaluation counts, track events and exposures (of measured flags) to the server. */
  sendEvents?: boolean;
  flushIntervalMs?: number;
  maxTrackEvents?: number;
  maxEvaluationCounters?: number;
  /** Exposures queued between two flushes. */
  maxExposures?: number;
  /**
   * Batches kept to be sent again, unchanged and under the same id, while the server cannot take
   * them; past this many the oldest is dropped and reported.
   */
  maxPendingBatches?: number;
  /** The key of the cached ruleset in `Platform.storage`. */
  cacheKey?: string;
}

/**
 * Everything but the bootstrap, which is compiled once and must not be kept: an offline client
 * holding a 1,000-flag ruleset next to its evaluator used twice the memory.
 */
export type ResolvedOptions = Required<Omit<ClientOptions, 'bootstrap'>>;

const DEFAULTS = {
  offline: false,
  stream: true,
  pollIntervalMs: 30_000,
  initialRetryDelayMs: 1_000,
  maxRetryDelayMs: 30_000,
  // Three heartbeats (the server sends one every 15 s) may be missed before the stream counts as dead.
  stallTimeoutMs: 45_000,
  streamFailuresBeforePolling: 3,
  streamRetryIntervalMs: 300_000,
  healthyStreamMs: 60_000,
  requestTimeoutMs: 10_000,
  sendEvents: true,
  flushIntervalMs: 10_000,
  maxTrackEvents: 1_000,
  maxEvaluationCounters: 10_000,
  maxExposures: 10_000,
  maxPendingBatches: 10,
  cacheKey: 'switchyard:ruleset',
} as const;

const positive = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v > 0;
const CHECKS: Record<keyof typeof DEFAULTS, (v: unknown) => boolean> = {
  offline: (v) => typeof v === 'boolean',
  stream: (v) => typeof v === 'boolean',
  pollIntervalMs: positive,
  initialRetryDelayMs: positive,
  maxRetryDelayMs: positive,
  stallTimeoutMs: positive,
  streamFailuresBeforePolling: (v) => positive(v) && Number.isInteger(v),
  streamRetryIntervalMs: positive,
  healthyStreamMs: positive,
  requestTimeoutMs: positive,
  sendEvents: (v) => typeof v === 'boolean',
  flushIntervalMs: positive,
  // The server takes at most 10 000 of each per batch.
  maxTrackEvents: (v) => positive(v) && Number.isInteger(v) && (v as number) <= 10_000,
  maxEvaluationCounters: (v) => positive(v) && Number.isInteger(v) && (v as number) <= 10_000,
  maxExposures: (v) => positive(v) && Number.isInteger(v) && (v as number) <= 10_000,
  maxPendingBatches: (v) => positive(v) && Number.isInteger(v),
  cacheKey: (v) => typeof v === 'string' && v !== '',
};

/**
 * Options with defaults. Only a missing key or base URL throws (nothing could work without
 * them); a bad optional value is replaced with its default and logged.
 */
export function resolveOptions(options: ClientOptions, logger: Logger): ResolvedOptions {
  const offline = options.offline === true;
  if (!offline && (typeof options.sdkKey !== 'string' || options.sdkKey === '')) {
    throw new TypeError('switchyard: sdkKey is required');
  }
  if (!offline && (typeof options.baseUrl !== 'string' || !/^https?:\/\//.test(options.baseUrl))) {
    throw new TypeError('switchyard: baseUrl must be an http(s) URL');
  }
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const name of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) {
    const value = options[name];
    if (value === undefined) continue;
    if (CHECKS[name](value)) out[name] = value;
    else logger.warn(`switchyard: option ${name} ${JSON.stringify(value)} is invalid; using ${DEFAULTS[name]}`);
  }
  return {
    ...(out as typeof DEFAULTS),
    sdkKey: options.sdkKey ?? '',
    baseUrl: (options.baseUrl ?? '').replace(/\/+$/, ''),
  } as ResolvedOptions;
}
