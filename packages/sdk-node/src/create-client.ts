import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ClientOptions, FlagClient, type Logger, type Ruleset } from '@switchyard/core';
import { consoleLogger, type LogLevel } from './platform/console-logger.js';
import { FileStore } from './platform/file-store.js';
import type { KeyValueStore } from './platform/key-value-store.js';
import { nodeClock } from './platform/node-clock.js';
import { nodeEventStream } from './platform/node-event-stream.js';
import { nodeHttp } from './platform/node-http.js';

export const SDK_VERSION = '0.1.0';

/** The Node client: local evaluation, kept current over Server-Sent Events. */
export type SwitchyardClient = FlagClient;

export interface NodeClientOptions extends Omit<ClientOptions, 'sdkKey' | 'baseUrl' | 'bootstrap' | 'cacheKey'> {
  /** A server SDK key of one environment (`sy_server_…`). Not needed offline. */
  sdkKey?: string;
  /** Where the flag server listens, e.g. `http://127.0.0.1:4242`. Not needed offline. */
  baseUrl?: string;
  /** A ruleset to serve until the server answers, or forever with `offline: true`. */
  bootstrap?: Ruleset;
  /** The same, read from a JSON file (e.g. one saved from `GET /sdk/v1/ruleset`). */
  bootstrapFile?: string;
  /**
   * Where to keep the last ruleset, so that a process starting while the server is down
   * serves the last known flags: a file path, or any `{get, set}` store such as an ioredis client.
   */
  cache?: string | KeyValueStore;
  /** Defaults to `console` from `logLevel` (default `warn`) up. */
  logger?: Logger;
  logLevel?: LogLevel;
}

/**
 * Creates a client and starts following the server (unless offline). Throws only when the SDK
 * key or base URL is missing, or an offline client's bootstrap file cannot be read; everything
 * else is reported through `on('error')` and `waitForReady`.
 */
export function createClient(options: NodeClientOptions): SwitchyardClient {
  const logger = options.logger ?? consoleLogger(options.logLevel);
  const userAgent = `switchyard-sdk-node/${SDK_VERSION} node/${process.versions.node}`;
  const { bootstrapFile, cache, logger: _logger, logLevel: _level, ...rest } = options;
  let bootstrap: Ruleset | string | undefined = options.bootstrap;
  if (bootstrapFile !== undefined) {
    try {
      bootstrap = readFileSync(bootstrapFile, 'utf8');
    } catch (err) {
      const message = `switchyard: cannot read the bootstrap file ${bootstrapFile}: ${(err as Error).message}`;
      // Offline, the file is all the client would ever serve.
      if (options.offline === true) throw new Error(message, { cause: err });
      logger.error(message);
    }
  }
  const sdkKey = options.sdkKey ?? '';
  const storage = cache === undefined ? undefined : typeof cache === 'string' ? new FileStore(cache) : cache;
  return new FlagClient(
    {
      ...rest,
      sdkKey,
      baseUrl: options.baseUrl ?? '',
      ...(bootstrap === undefined ? {} : { bootstrap }),
      // A store may be shared by several environments: the key names this SDK key, not its secret.
      cacheKey: `switchyard:ruleset:${createHash('sha256').update(sdkKey).digest('hex').slice(0, 16)}`,
    },
    {
      clock: nodeClock,
      http: nodeHttp(userAgent),
      stream: nodeEventStream(userAgent),
      logger,
      ...(storage === undefined ? {} : { storage }),
    },
  );
}
