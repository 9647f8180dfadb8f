import {
  type ClientEvents,
  type ClientOptions,
  type ClientStatus,
  type EvaluationContext,
  type EvaluationResult,
  FlagClient,
  type FlagType,
  type FlagValue,
  type JsonValue,
  type Logger,
  type Ruleset,
} from '@switchyard/core';
import { type Bootstrap, bootstrapRuleset } from './bootstrap.js';
import { browserPlatform, consoleLogger, localStore } from './platform/browser-platform.js';

export interface BrowserClientOptions extends Omit<ClientOptions, 'sdkKey' | 'keyInQuery' | 'bootstrap'> {
  /** A client SDK key of one environment: public, it only reads `clientSide` flags. */
  clientKey: string;
  /** Where the flag server listens, e.g. `https://flags.example.com`. */
  baseUrl: string;
  /** Who the page evaluates flags for; `identify` changes it. */
  context?: EvaluationContext;
  /**
   * Flags to serve until the server answers, instead of the cache: the Node SDK's
   * `allFlags(context, {clientSideOnly: true})` for this page's user, or a whole ruleset.
   */
  bootstrap?: Bootstrap;
  /** Keep the last ruleset in `localStorage` and serve it on the next page load (default `true`). */
  cache?: boolean;
  /** Where the client reports; warnings and errors go to the console by default. */
  logger?: Logger;
}

const same = (a: unknown, b: unknown) =>
  a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));

/** The ruleset cached by an earlier page load, if any and readable (the shared client checks it further). */
function readCache(cacheKey: string): Ruleset | undefined {
  const text = localStore.read(cacheKey);
  try {
    return text === null ? undefined : (JSON.parse(text) as Ruleset);
  } catch {
    return undefined;
  }
}

/**
 * The browser SDK: the shared client bound to one context at a time. Rules are evaluated
 * locally, so getters are synchronous and `identify` needs no request. `change` fires with the
 * flags whose value for the current context changed, whether the server changed a flag or
 * `identify` changed the context.
 */
export class BrowserClient {
  private readonly client: FlagClient;
  private current: EvaluationContext;
  private values: Record<string, FlagValue>;
  private readonly changeListeners = new Set<ClientEvents['change']>();
  private readonly logger: Logger;
  private readonly onHide = (event: Event) => {
    // Analytics go out while the page can still send them: `pagehide` is the last reliable
    // moment on unload, a hidden page may never come back (mobile tab switching).
    if (event.type === 'pagehide' || document.visibilityState === 'hidden') void this.client.flush();
  };

  constructor(options: BrowserClientOptions) {
    const { clientKey, context = {}, bootstrap, cache = true, logger = consoleLogger, ...shared } = options;
    const cacheKey = shared.cacheKey ?? `switchyard:${clientKey}`;
    // Read synchronously, so that the first getter call of a page load serves the cached flags
    // (no flicker); an explicit bootstrap was rendered for this user now, and wins.
    const initial =
      bootstrap !== undefined
        ? bootstrapRuleset(bootstrap)
        : cache && shared.offline !== true
          ? readCache(cacheKey)
          : undefined;
    this.client = new FlagClient(
      {
        ...shared,
        sdkKey: clientKey,
        keyInQuery: true,
        cacheKey,
        ...(initial === undefined ? {} : { bootstrap: initial }),
      },
      browserPlatform(logger, cache),
    );
    this.logger = logger;
    this.current = context;
    this.values = this.client.allFlags(context);
    const refresh = () => this.refresh();
    this.client.on('ready', refresh);
    this.client.on('change', refresh);
    if (typeof document !== 'undefined') {
      addEventListener('pagehide', this.onHide);
      addEventListener('visibilitychange', this.onHide);
    }
  }

  get context(): EvaluationContext {
    return this.current;
  }

  get status(): ClientStatus {
    return this.client.status;
  }

  /** The version of the ruleset being served, if any. */
  get version(): number | undefined {
    return this.client.version;
  }

  /** See `FlagClient.waitForReady`: resolves once flags are served, from the server or (when it cannot be reached) the cache. */
  waitForReady(options?: { timeout?: number }): Promise<void> {
    return this.client.waitForReady(options);
  }

  /** Evaluates every flag for a new context, locally, and fires `change` for the values that differ. */
  identify(context: EvaluationContext): void {
    this.current = context;
    this.refresh();
  }

  getBoolean(key: string, defaultValue: boolean): boolean {
    return this.client.getBoolean(key, this.current, defaultValue);
  }

  getString(key: string, defaultValue: string): string {
    return this.client.getString(key, this.current, defaultValue);
  }

  getNumber(key: string, defaultValue: number): number {
    return this.client.getNumber(key, this.current, defaultValue);
  }

  getJson<T extends JsonValue>(key: string, defaultValue: T): T {
    return this.client.getJson(key, this.current, defaultValue);
  }

  /** Value, variant, reason, error code and message, rule id and flag metadata. */
  getDetail<T>(key: string, defaultValue: T, type?: FlagType): EvaluationResult<T> {
    return this.client.getDetail(key, this.current, defaultValue, type);
  }

  /** Every flag's value for the current context (flags that would serve the caller's default are left out). */
  allFlags(): Record<string, FlagValue> {
    return this.client.allFlags(this.current);
  }

  /** Records a user action or outcome for the current context; sent with the next batch. */
  track(event: string, value?: number): void {
    this.client.track(event, this.current, value);
  }

  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void {
    if (event !== 'change') return this.client.on(event, listener);
    this.changeListeners.add(listener as ClientEvents['change']);
    return () => this.off(event, listener);
  }

  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): void {
    if (event === 'change') this.changeListeners.delete(listener as ClientEvents['change']);
    else this.client.off(event, listener);
  }

  /** Sends the analytics held so far; never rejects. */
  flush(): Promise<void> {
    return this.client.flush();
  }

  /** Stops following the server and sends the remaining analytics. */
  close(): Promise<void> {
    if (typeof document !== 'undefined') {
      removeEventListener('pagehide', this.onHide);
      removeEventListener('visibilitychange', this.onHide);
    }
    return this.client.close();
  }

  private refresh(): void {
    const before = this.values;
    const after = this.client.allFlags(this.current);
    this.values = after;
    const flags = [...new Set([...Object.keys(before), ...Object.keys(after)])]
      .filter((key) => !same(before[key], after[key]))
      .sort();
    if (flags.length === 0) return;
    const event = { flags, version: this.client.version ?? 0 };
    for (const listener of [...this.changeListeners]) {
      try {
        listener(event);
      } catch (err) {
        this.logger.error(`switchyard: a change listener threw: ${String(err)}`);
      }
    }
  }
}

/** Starts a client: it serves cached or bootstrapped flags at once, then follows the server. */
export function createClient(options: BrowserClientOptions): BrowserClient {
  return new BrowserClient(options);
}
