import type { SseEvent } from './sse-parser.js';

/**
 * Everything the shared client needs from its runtime, injected as one object so that the
 * client itself stays pure (no timers, sockets, storage or console of its own) and each SDK is
 * a thin set of adapters. Each port states its failure contract; the client still wraps the
 * ports whose misbehaviour would otherwise reach a caller (see `safePlatform`).
 */
export interface Platform {
  readonly clock: Clock;
  readonly http: Http;
  readonly stream: EventStream;
  /** Optional persistent cache of the last ruleset; absent means none. */
  readonly storage?: Storage;
  readonly logger: Logger;
  /** A uniform number in [0, 1) for backoff jitter; `Math.random` when absent. */
  readonly random?: () => number;
}

/** Must not throw. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Calls `fn` once after `ms`. Returns a cancel function, harmless to call after the timer
   * fired or twice. Must not throw. A server adapter should not let these timers keep a process
   * alive on their own, unless `holdsProcess`: the timer settles a promise the application
   * awaits (`waitForReady`'s timeout), which would otherwise never settle while nothing else
   * keeps the process up.
   */
  setTimeout(fn: () => void, ms: number, holdsProcess?: boolean): () => void;
}

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Readonly<Record<string, string>>;
  body?: string;
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  /** A response header by its lower-case name. */
  header(name: string): string | undefined;
  /** The body as text, decompressed; empty for a 304. */
  body: string;
}

export interface Http {
  /**
   * Resolves with every HTTP answer, whatever its status: a 401 or a 503 is a response, not a
   * failure. Rejects only when no answer arrived (network error, timeout). Must not throw
   * synchronously.
   */
  request(request: HttpRequest): Promise<HttpResponse>;
}

export interface StreamRequest {
  url: string;
  headers: Readonly<Record<string, string>>;
  /** Sent as `Last-Event-ID` so the server can send only what was missed. */
  lastEventId?: string;
}

export interface StreamFailure {
  /** The HTTP status, when the server answered with something other than 200. */
  status?: number;
  message: string;
  cause?: unknown;
}

export interface StreamHandlers {
  /** The server accepted the stream (HTTP 200). */
  onOpen(): void;
  /** Bytes arrived, heartbeat comments included: the connection is alive. */
  onData(): void;
  onEvent(event: SseEvent): void;
  /** The server advised a reconnection delay (`retry:`), in milliseconds. */
  onRetryAdvice?(ms: number): void;
  /**
   * The stream ended, or could not be opened. Called at most once, and no handler is called
   * after it.
   */
  onClose(failure: StreamFailure): void;
}

export interface StreamHandle {
  /** Ends the connection. Idempotent; no handler is called once it returns. */
  close(): void;
}

export interface EventStream {
  /**
   * Opens one Server-Sent Events connection; the adapter never reconnects on its own (the
   * client decides when and how). Must not throw: a failure to open is reported through
   * `onClose`, asynchronously.
   */
  open(request: StreamRequest, handlers: StreamHandlers): StreamHandle;
}

/**
 * A small key-value store for the last ruleset (a file, Redis, `localStorage`…). May reject or
 * throw; the client treats every failure as "nothing cached" and logs it.
 */
export interface Storage {
  get(key: string): Promise<string | null | undefined>;
  set(key: string, value: string): Promise<unknown>;
}

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * The platform with its fallible ports made safe: a throwing logger is silenced, storage
 * failures become `undefined` and a warning, and `random` defaults to `Math.random`.
 */
export function safePlatform(platform: Platform): Required<Omit<Platform, 'storage'>> & { storage?: Storage } {
  const raw = platform.logger;
  const guard =
    (level: keyof Logger) =>
    (message: string): void => {
      try {
        raw[level](message);
      } catch {
        // A logger that throws must not take an evaluation or a reconnect down with it.
      }
    };
  const logger: Logger = { debug: guard('debug'), info: guard('info'), warn: guard('warn'), error: guard('error') };
  const storage = platform.storage;
  const safe = {
    clock: platform.clock,
    http: platform.http,
    stream: platform.stream,
    logger,
    random: platform.random ?? Math.random,
  };
  if (storage === undefined) return safe;
  return {
    ...safe,
    storage: {
      async get(key) {
        try {
          return (await storage.get(key)) ?? undefined;
        } catch (err) {
          logger.warn(`switchyard: reading the flag cache failed: ${describe(err)}`);
          return undefined;
        }
      },
      async set(key, value) {
        try {
          await storage.set(key, value);
        } catch (err) {
          logger.warn(`switchyard: writing the flag cache failed: ${describe(err)}`);
        }
      },
    },
  };
}
