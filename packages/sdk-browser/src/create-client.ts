import {
  type ClientEvents,
  type ClientStatus,
  type EvaluationContext,
  type EvaluationResult,
  type FlagType,
  type FlagValue,
  isOlderPut,
  type JsonValue,
  type Logger,
  type Ruleset,
  SwitchyardError,
  type SwitchyardErrorCode,
  type ViewEvaluator,
  viewEvaluator,
} from '@switchyard/core';
import { analytics } from './analytics.js';
import { type Bootstrap, bootstrapRuleset } from './bootstrap.js';
import { follow } from './platform/event-source.js';
import { readCache, writeCache } from './platform/local-storage.js';

export interface BrowserClientOptions {
  /** A client SDK key of one environment: public, it only reads `clientSide` flags. */
  clientKey: string;
  /** Where the flag server listens, e.g. `https://flags.example.com`. */
  baseUrl: string;
  /** Who the page evaluates flags for; `identify` changes it. */
  context?: EvaluationContext;
  /**
   * Flags to serve until the server answers, instead of the cache: the Node SDK's
   * `allFlags(context, {clientSideOnly: true})` for this page's user, or a whole ruleset as a
   * client view (what the server sends a client key, or `clientView(ruleset)` from the core).
   */
  bootstrap?: Bootstrap;
  /** Keep the last ruleset in `localStorage` and serve it on the next page load (default `true`). */
  cache?: boolean;
  /** Where problems are reported, as warnings: the page goes on (default: the console). */
  logger?: Pick<Logger, 'warn'>;
  /** Serve `bootstrap` and never contact the server. */
  offline?: boolean;
  /**
   * Send evaluation counts, track events and the exposures of measured flags (one per context key
   * and variant) to the server (default `true`).
   */
  sendEvents?: boolean;
  /** How often analytics are sent while the page is visible (default 10 s). */
  flushIntervalMs?: number;
  /** First reconnection delay ceiling (default 1 s), doubled per failure up to `maxRetryDelayMs` (default 30 s). */
  initialRetryDelayMs?: number;
  maxRetryDelayMs?: number;
}

export interface BrowserClient {
  /**
   * - `initializing`: nothing from the server yet (cached or bootstrapped flags may be served);
   * - `ready`: following the server, or offline;
   * - `stale`: serving the last known flags while the server cannot be reached;
   * - `failed`: the server refused the key, or an offline bootstrap is unusable;
   * - `closed`.
   */
  readonly status: ClientStatus;
  /** The version of the ruleset being served, if any. */
  readonly version: number | undefined;
  readonly context: EvaluationContext;
  /**
   * Resolves once flags are served: from the server, offline, or from the cache or a bootstrap
   * when the server cannot be reached. Rejects with `TIMEOUT` (default 10 s), `UNAUTHORIZED` or
   * `CLOSED`; the getters answer either way.
   */
  waitForReady(options?: { timeout?: number }): Promise<void>;
  /** Evaluates every flag for a new context, locally, and fires `change` for the values that differ. */
  identify(context: EvaluationContext): void;
  getBoolean(key: string, defaultValue: boolean): boolean;
  getString(key: string, defaultValue: string): string;
  getNumber(key: string, defaultValue: number): number;
  getJson<T extends JsonValue>(key: string, defaultValue: T): T;
  /** Value, variant, reason, error code and message, rule id and flag metadata; `type` must be the flag's, if given. */
  getDetail<T>(key: string, defaultValue: T, type?: FlagType): EvaluationResult<T>;
  /** Every flag's value for the current context (flags that would serve the caller's default are left out). */
  allFlags(): Record<string, FlagValue>;
  /** Records a user action or outcome for the current context; sent with the next batch. */
  track(event: string, value?: number): void;
  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void;
  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): void;
  /** Sends the analytics held so far, and any batch kept to be sent again after a failure; never rejects. */
  flush(): Promise<void>;
  /** Stops following the server and sends the remaining analytics; the getters keep answering. */
  close(): Promise<void>;
}

type Listener = (arg?: never) => void;

/**
 * Starts a client: it serves bootstrapped or cached flags at once, then follows the server.
 * Rules are evaluated locally, so getters are synchronous and `identify` needs no request.
 *
 * The browser adapters are in `platform/` (`EventSource`, `localStorage`; `fetch` in
 * `analytics`). From the shared client in the core it takes `SwitchyardError` and `isOlderPut`;
 * the status machine below, the listeners, the backoff in `platform/event-source` and
 * `analytics` follow the contracts of the core's `clientState`, `emitter`, `backoffDelay` and
 * `eventAggregator` in smaller code of their own, because the 5 KB budget cannot take the
 * shared modules yet (docs/architecture.md, "The one client", gives the measured cost).
 */
export function createClient(options: BrowserClientOptions): BrowserClient {
  const { clientKey, bootstrap } = options;
  // Outside a browser (server-side rendering) there is no EventSource: serve the bootstrap.
  const offline = options.offline || typeof EventSource === 'undefined';
  const cacheKey = `switchyard:${clientKey}`;
  const cache = options.cache !== false && !offline;
  const send = options.sendEvents !== false && !offline;
  // Keys are URL-safe (base64url); in the query, a first connection needs no CORS preflight.
  const url = (path: string) => `${options.baseUrl}/sdk/v1/${path}?key=${clientKey}`;
  // Rollouts hash with the browser's own UTF-8 encoder: the engine's hand-written one, faster in
  // Node, stays out of the bundle.
  const encoder = new TextEncoder();
  const load = (ruleset: unknown) => viewEvaluator(ruleset as Ruleset, encoder);
  const listeners: { [E in keyof ClientEvents]?: Set<Listener> } = {};
  let context = options.context ?? {};
  let status: ClientStatus = 'initializing';
  let evaluator: ViewEvaluator | undefined;
  /** Whether `evaluator` came from the server, not the cache or a bootstrap. */
  let current = false;
  let values: Record<string, FlagValue> = {};
  let resolveReady!: () => void;
  let rejectReady!: (error: SwitchyardError) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  // Rejected when nobody waits, e.g. a page that never asks: not an unhandled rejection.
  ready.catch(() => {});

  const emit = <E extends keyof ClientEvents>(event: E, arg?: Parameters<ClientEvents[E]>[0]) => {
    for (const listener of [...(listeners[event] ?? [])]) {
      try {
        (listener as (a: typeof arg) => void)(arg);
      } catch (err) {
        // The app's own error, surfaced as uncaught, without stopping the client's work.
        setTimeout(() => {
          throw err;
        });
      }
    }
  };

  const off = <E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]) => {
    listeners[event]?.delete(listener as Listener);
  };

  const report = (code: SwitchyardErrorCode, message: string, httpStatus?: number) => {
    const error = new SwitchyardError(code, message, httpStatus);
    (options.logger ?? console).warn(error.message);
    emit('error', error);
    return error;
  };

  /** Ends for good: `waitForReady` rejects with `error` unless the client was ready. */
  const finish = (last: 'failed' | 'closed', error: SwitchyardError) => {
    status = last;
    rejectReady(error);
  };

  const setStatus = (next: 'ready' | 'stale', error?: SwitchyardError) => {
    if (status === next || status === 'failed' || status === 'closed') return;
    status = next;
    if (next === 'ready') resolveReady();
    // `ready` comes without an error, `stale` with one.
    emit(next, error as SwitchyardError);
  };

  /** Evaluates every flag for the context, and fires `change` for the values that differ from the last time. */
  const refresh = () => {
    const before = values;
    values = {};
    for (const key of evaluator?.flagKeys() ?? []) {
      const result = (evaluator as ViewEvaluator).evaluate<FlagValue | undefined>(key, context, undefined);
      if (result.variant !== undefined) values[key] = result.value as FlagValue;
    }
    const flags = Object.keys({ ...before, ...values })
      .filter((key) => JSON.stringify(before[key]) !== JSON.stringify(values[key]))
      .sort();
    if (flags.length) emit('change', { flags, version: (evaluator as ViewEvaluator).version });
  };

  // A bootstrap was rendered for this user now, and wins over the cache.
  try {
    evaluator = load(bootstrap ? bootstrapRuleset(bootstrap) : cache && readCache(cacheKey));
  } catch (err) {
    // Without a bootstrap, nothing (usable) was cached.
    if (bootstrap) {
      const error = report('BOOTSTRAP_FAILED', `bad bootstrap: ${err}`);
      if (offline) finish('failed', error);
    }
  }
  refresh();

  // Dropped when the key is refused: the server would refuse the analytics too.
  let events = send ? analytics(url('events'), (why) => report('EVENTS_FAILED', `events not sent: ${why}`)) : undefined;
  const flush = async () => {
    await events?.flush();
  };
  // A page being hidden may never come back (mobile tab switching), and `pagehide` is the last
  // reliable moment on unload. Flushing when a page shows again costs at most one early batch.
  // Outside a page (server-side rendering) there is nothing to watch.
  const watch = (method: typeof addEventListener | undefined) => {
    method?.('pagehide', flush);
    method?.('visibilitychange', flush);
  };
  let stop: (() => void) | undefined;
  let flushTimer: ReturnType<typeof setInterval> | undefined;

  if (offline) setStatus('ready');
  else {
    if (send) {
      flushTimer = setInterval(flush, options.flushIntervalMs ?? 1e4);
      watch(globalThis.addEventListener);
    }
    stop = follow(
      url('stream'),
      url('ruleset'),
      // With the server's ruleset the stream resumes, live at once: it sends only what was
      // missed, maybe nothing.
      () => current && setStatus('ready'),
      (type, data) => {
        try {
          const value = JSON.parse(data);
          if (type === 'put') {
            const next = load(value);
            // Two servers behind a load balancer may be a moment apart: an older put must not
            // undo a newer one. Cached or bootstrapped flags are only stand-ins, always replaced.
            if (isOlderPut(evaluator, current, next)) return false;
            evaluator = next;
            current = true;
            // Patches apply to the server's own data only: a cache may be of another history.
          } else if (!(current && evaluator?.applyPatch(value))) return false;
        } catch (err) {
          report('MALFORMED_DATA', `bad ${type} ignored: ${err}`);
          return false;
        }
        if (cache) writeCache(cacheKey, evaluator.toRuleset());
        // Values first: a `ready` listener reads them.
        refresh();
        setStatus('ready');
        return true;
      },
      () => {
        const error = report('STREAM_FAILED', 'stream lost');
        // Cached or bootstrapped flags are served when the server cannot be reached at first.
        if (status === 'initializing' && evaluator) setStatus('ready');
        if (status !== 'initializing') setStatus('stale', error);
      },
      (httpStatus) => {
        events = undefined;
        finish('failed', report('UNAUTHORIZED', `key refused (${httpStatus})`, httpStatus));
      },
      options.initialRetryDelayMs,
      options.maxRetryDelayMs,
    );
  }

  const detail = <T>(key: string, defaultValue: T, type?: FlagType): EvaluationResult<T> => {
    const result: EvaluationResult<T> = evaluator
      ? evaluator.evaluate(key, context, defaultValue, type)
      : { value: defaultValue, reason: 'ERROR', errorCode: 'PROVIDER_NOT_READY' };
    events?.count(key, result, evaluator?.isMeasured(key) && context.key);
    return result;
  };
  const typed =
    (type: FlagType) =>
    <T>(key: string, defaultValue: T): T =>
      detail(key, defaultValue, type).value;

  return {
    get status() {
      return status;
    },
    get version() {
      return evaluator?.version;
    },
    get context() {
      return context;
    },
    waitForReady: ({ timeout = 1e4 } = {}) =>
      Promise.race([
        ready,
        new Promise<never>((_, reject) => setTimeout(reject, timeout, new SwitchyardError('TIMEOUT', 'not ready'))),
      ]),
    identify(next) {
      context = next;
      refresh();
    },
    getBoolean: typed('boolean'),
    getString: typed('string'),
    getNumber: typed('number'),
    getJson: typed('json'),
    getDetail: detail,
    allFlags: () => ({ ...values }),
    track: (event, value) => events?.track(event, context.key, value),
    on(event, listener) {
      listeners[event] = (listeners[event] ?? new Set()).add(listener as Listener);
      return () => off(event, listener);
    },
    off,
    flush,
    close() {
      if (status !== 'closed') {
        stop?.();
        clearInterval(flushTimer);
        // Nothing is watched without analytics, and removing what was never added does nothing.
        watch(globalThis.removeEventListener);
        finish('closed', new SwitchyardError('CLOSED', 'closed before ready'));
      }
      return flush();
    },
  };
}
