import type { EvaluationResult } from '../reasons.js';
import type { EvaluationContext, FlagType, FlagValue, JsonValue } from '../types.js';
import { Connection, type ConnectionMode } from './connection.js';
import { SwitchyardError } from './errors.js';
import { EventAggregator } from './event-aggregator.js';
import { FlagStore, type StoreUpdate } from './flag-store.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type Platform, safePlatform } from './platform.js';
import { sendEvents } from './send-events.js';

/**
 * - `initializing`: nothing from the server yet;
 * - `ready`: serving what the server holds, or offline;
 * - `stale`: serving the last known flags (or the cache) while the server cannot be reached;
 * - `failed`: the server refused the key; serving what was last known, never retrying;
 * - `closed`.
 */
export type ClientStatus = 'initializing' | 'ready' | 'stale' | 'failed' | 'closed';

export interface ChangeEvent {
  /** The flags that may now evaluate differently, including those reaching a changed segment or prerequisite. */
  flags: string[];
  /** The ruleset version after the change. */
  version: number;
}

export interface ClientEvents {
  /** Flags are current: once initialised, and again after every `stale` period. */
  ready: () => void;
  change: (event: ChangeEvent) => void;
  error: (error: SwitchyardError) => void;
  /** The server cannot be reached; the last known flags are served. */
  stale: (error: SwitchyardError) => void;
}

export interface AllFlagsOptions {
  /** Only flags marked `clientSide`, for bootstrapping a browser. */
  clientSideOnly?: boolean;
}

type Listeners = { [E in keyof ClientEvents]: Set<ClientEvents[E]> };

const DEFAULT_READY_TIMEOUT_MS = 10_000;

/**
 * The client the Node SDK builds on, pure and platform-injected: local evaluation from a store
 * kept current by a connection, change events, analytics. (The browser SDK has a smaller one of
 * its own.) Getters are synchronous, never throw and never do I/O;
 * everything that can fail is reported through `on('error')` and `waitForReady`.
 */
export class FlagClient {
  private readonly options: ResolvedOptions;
  private readonly platform: ReturnType<typeof safePlatform>;
  private readonly store: FlagStore;
  private readonly connection: Connection | undefined;
  private readonly events: EventAggregator | undefined;
  private readonly listeners: Listeners = { ready: new Set(), change: new Set(), error: new Set(), stale: new Set() };
  private readonly waiters = new Set<{ resolve: () => void; reject: (err: SwitchyardError) => void }>();
  private currentStatus: ClientStatus = 'initializing';
  private readyOnce = false;
  private failure: SwitchyardError | undefined;
  /** Why the server could not be reached before the client was first ready. */
  private unreachable: SwitchyardError | undefined;
  private flushTimer: (() => void) | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private persisting = false;
  private persistAgain = false;

  constructor(options: ClientOptions, platform: Platform) {
    this.platform = safePlatform(platform);
    this.options = resolveOptions(options, this.platform.logger);
    // Definitions are kept only to be written to the cache.
    this.store = new FlagStore({ keepDefinitions: this.platform.storage !== undefined });
    const o = this.options;
    const bootstrapError = options.bootstrap === undefined ? undefined : this.load(options.bootstrap, 'bootstrap');
    if (o.offline) {
      // Offline, the bootstrap is all there is: without it the client cannot be ready.
      if (bootstrapError === undefined) {
        this.setStatus('ready');
      } else {
        this.failure = bootstrapError;
        this.currentStatus = 'failed';
      }
      return;
    }
    if (o.sendEvents) {
      this.events = new EventAggregator({ maxCounters: o.maxEvaluationCounters, maxEvents: o.maxTrackEvents }, () =>
        this.platform.clock.now(),
      );
      this.scheduleFlush();
    }
    this.connection = new Connection(o, this.store, this.platform, {
      current: () => this.setStatus('ready'),
      lost: (error) => this.lost(error),
      fatal: (error) => this.fail(error),
      updated: (update, what) => this.updated(update, what),
    });
    this.readCache();
    this.connection.start();
  }

  get status(): ClientStatus {
    return this.currentStatus;
  }

  /** How the client follows the server right now (`stopped` offline, closed or refused). */
  get connectionMode(): ConnectionMode {
    return this.connection?.state ?? 'stopped';
  }

  /** The version of the ruleset being served, if any. */
  get version(): number | undefined {
    return this.store.evaluator?.version;
  }

  /**
   * Resolves once the client has flags to serve: from the server, offline, or (after the first
   * attempt to reach the server failed) from the cache or bootstrap. Rejects with a
   * `SwitchyardError` on timeout (`TIMEOUT`), a refused key (`UNAUTHORIZED`) or `close()`
   * (`CLOSED`); the client still serves defaults, or its cached flags, either way.
   */
  waitForReady(options: { timeout?: number } = {}): Promise<void> {
    if (this.readyOnce) return Promise.resolve();
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.currentStatus === 'closed') return Promise.reject(closedError());
    const timeout =
      typeof options.timeout === 'number' && options.timeout >= 0 ? options.timeout : DEFAULT_READY_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          cancel();
          resolve();
        },
        reject: (err: SwitchyardError) => {
          cancel();
          reject(err);
        },
      };
      const cancel = this.platform.clock.setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new SwitchyardError('TIMEOUT', `switchyard: not ready after ${timeout} ms`));
      }, timeout);
      this.waiters.add(waiter);
    });
  }

  getBoolean(key: string, context: EvaluationContext, defaultValue: boolean): boolean {
    return this.evaluate(key, context, defaultValue, 'boolean').value;
  }

  getString(key: string, context: EvaluationContext, defaultValue: string): string {
    return this.evaluate(key, context, defaultValue, 'string').value;
  }

  getNumber(key: string, context: EvaluationContext, defaultValue: number): number {
    return this.evaluate(key, context, defaultValue, 'number').value;
  }

  getJson<T extends JsonValue>(key: string, context: EvaluationContext, defaultValue: T): T {
    return this.evaluate(key, context, defaultValue, 'json').value as T;
  }

  /**
   * The whole result: value, variant, reason, error code and message, rule id, flag metadata.
   * `type`, when given, must be the flag's type (else `TYPE_MISMATCH`).
   */
  getDetail<T>(key: string, context: EvaluationContext, defaultValue: T, type?: FlagType): EvaluationResult<T> {
    return this.evaluate(key, context, defaultValue, type);
  }

  /**
   * Every flag's value for one context, e.g. to bootstrap a browser. Flags that would serve the
   * caller's default (killed without an off variant, or broken) are left out. Not counted in
   * analytics.
   */
  allFlags(context: EvaluationContext, options: AllFlagsOptions = {}): Record<string, FlagValue> {
    const out: Record<string, FlagValue> = {};
    const evaluator = this.store.evaluator;
    if (evaluator === undefined) return out;
    try {
      for (const key of evaluator.flagKeys()) {
        if (options.clientSideOnly === true && !evaluator.isClientSide(key)) continue;
        const result = evaluator.evaluate<FlagValue | undefined>(key, context, undefined);
        if (result.variant !== undefined) out[key] = result.value as FlagValue;
      }
    } catch (err) {
      this.platform.logger.error(`switchyard: allFlags failed: ${String(err)}`);
    }
    return out;
  }

  /** Records a user action or outcome. Never blocks: past the queue's bound the event is dropped and counted. */
  track(event: string, context: EvaluationContext, value?: number): void {
    const events = this.events;
    if (events === undefined || this.currentStatus === 'closed' || typeof event !== 'string' || event === '') return;
    const key = typeof context === 'object' && context !== null ? context.key : undefined;
    const accepted = events.track({
      event,
      ...(typeof key === 'string' ? { key } : {}),
      ...(typeof value === 'number' && Number.isFinite(value) ? { value } : {}),
      timestamp: this.platform.clock.now(),
    });
    if (!accepted) this.platform.logger.debug(`switchyard: track queue full; dropped ${JSON.stringify(event)}`);
  }

  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void {
    (this.listeners[event] as Set<ClientEvents[E]>).add(listener);
    return () => this.off(event, listener);
  }

  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): void {
    (this.listeners[event] as Set<ClientEvents[E]>).delete(listener);
  }

  /** Sends the analytics held so far. Resolves when done; never rejects. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.send());
    return this.flushing;
  }

  /** Stops following the server, sends the remaining analytics and rejects pending `waitForReady` calls. */
  async close(): Promise<void> {
    if (this.currentStatus === 'closed') return this.flushing;
    this.connection?.stop();
    this.flushTimer?.();
    this.flushTimer = undefined;
    this.setStatus('closed');
    for (const w of [...this.waiters]) w.reject(closedError());
    this.waiters.clear();
    await this.flush();
  }

  private evaluate<T>(key: string, context: EvaluationContext, defaultValue: T, type?: FlagType): EvaluationResult<T> {
    const evaluator = this.store.evaluator;
    // The evaluator answers every problem with a reason; only what the types forbid (a key that
    // is not a string) could make it throw. Checked here rather than caught, to keep the getters
    // small enough to be inlined whole.
    const result =
      evaluator !== undefined && typeof key === 'string'
        ? evaluator.evaluate(key, context, defaultValue, type)
        : unusable(evaluator, key, defaultValue);
    const events = this.events;
    if (events !== undefined) events.count(key, result);
    return result;
  }

  /** Serves a bootstrap or cached ruleset; returns the error when it is unusable. */
  private load(ruleset: unknown, source: 'bootstrap' | 'cache'): SwitchyardError | undefined {
    const update = this.store.put(ruleset, source);
    if (update.outcome !== 'malformed') return undefined;
    const error = new SwitchyardError(
      source === 'bootstrap' ? 'BOOTSTRAP_FAILED' : 'MALFORMED_DATA',
      `switchyard: the ${source} ruleset is unusable: ${update.reason}`,
    );
    this.report(error);
    return error;
  }

  private readCache(): void {
    const storage = this.platform.storage;
    if (storage === undefined) return;
    void storage.get(this.options.cacheKey).then((text) => {
      // The server or a bootstrap got there first: they are at least as good as the cache.
      if (text === undefined || text === null || this.store.evaluator !== undefined) return;
      this.load(text, 'cache');
      if (this.store.source === 'cache') {
        this.platform.logger.info(`switchyard: serving cached flags (version ${this.version})`);
        // The server already failed once while the cache was being read.
        if (this.unreachable !== undefined && !this.readyOnce) this.serveFallback(this.unreachable);
      }
    });
  }

  private persist(): void {
    const storage = this.platform.storage;
    if (storage === undefined) return;
    if (this.persisting) {
      this.persistAgain = true;
      return;
    }
    const ruleset = this.store.evaluator?.toRuleset();
    if (ruleset === undefined) return;
    this.persisting = true;
    void storage.set(this.options.cacheKey, JSON.stringify(ruleset)).then(() => {
      this.persisting = false;
      if (this.persistAgain) {
        this.persistAgain = false;
        this.persist();
      }
    });
  }

  private updated(update: StoreUpdate, what: string): void {
    if (update.outcome === 'malformed') {
      this.report(new SwitchyardError('MALFORMED_DATA', `switchyard: ignored a malformed ${what}: ${update.reason}`));
      return;
    }
    if (update.outcome === 'ignored') {
      this.platform.logger.debug(`switchyard: ignored a ${what}: ${update.reason}`);
      return;
    }
    this.persist();
    // The first ruleset is announced by `ready`; later ones (including the server's answer
    // replacing a cache) by `change`.
    if (!this.readyOnce && this.currentStatus === 'initializing') return;
    if (update.changed.length > 0) {
      this.emit('change', { flags: update.changed, version: this.store.evaluator?.version ?? 0 });
    }
  }

  private lost(error: SwitchyardError): void {
    this.report(error);
    if (this.readyOnce) {
      this.setStatus('stale', error);
      return;
    }
    this.unreachable = error;
    if (this.store.evaluator !== undefined) this.serveFallback(error);
  }

  /**
   * The server could not be reached before the client was ready, but cached or bootstrap flags
   * are there: serving them is being ready, and stale.
   */
  private serveFallback(error: SwitchyardError): void {
    this.readyOnce = true;
    this.currentStatus = 'stale';
    this.emit('ready');
    for (const w of [...this.waiters]) w.resolve();
    this.waiters.clear();
    this.emit('stale', error);
  }

  private fail(error: SwitchyardError): void {
    this.failure = error;
    this.setStatus('failed');
    this.report(error);
    for (const w of [...this.waiters]) w.reject(error);
    this.waiters.clear();
  }

  private setStatus(status: ClientStatus, error?: SwitchyardError): void {
    const previous = this.currentStatus;
    if (previous === status || previous === 'closed' || (previous === 'failed' && status !== 'closed')) return;
    this.currentStatus = status;
    if (status === 'ready') {
      this.readyOnce = true;
      this.emit('ready');
      for (const w of [...this.waiters]) w.resolve();
      this.waiters.clear();
    } else if (status === 'stale' && error !== undefined) {
      this.emit('stale', error);
    }
  }

  private report(error: SwitchyardError): void {
    const log = error.code === 'STREAM_FAILED' || error.code === 'POLL_FAILED' ? 'warn' : 'error';
    this.platform.logger[log](error.message);
    this.emit('error', error);
  }

  private emit<E extends keyof ClientEvents>(event: E, ...args: Parameters<ClientEvents[E]>): void {
    for (const listener of [...this.listeners[event]]) {
      try {
        (listener as (...a: Parameters<ClientEvents[E]>) => void)(...args);
      } catch (err) {
        this.platform.logger.error(`switchyard: a ${event} listener threw: ${String(err)}`);
      }
    }
  }

  private scheduleFlush(): void {
    this.flushTimer = this.platform.clock.setTimeout(() => {
      void this.flush().then(() => {
        if (this.currentStatus !== 'closed') this.scheduleFlush();
      });
    }, this.options.flushIntervalMs);
  }

  private async send(): Promise<void> {
    const events = this.events;
    if (events === undefined || events.isEmpty || this.failure !== undefined) return;
    const batch = events.drain();
    const { dropped } = batch;
    if (dropped.evaluations > 0 || dropped.events > 0) {
      this.report(
        new SwitchyardError(
          'EVENTS_DROPPED',
          `switchyard: dropped ${dropped.events} track events and ${dropped.evaluations} evaluation counts at the memory bound`,
        ),
      );
    }
    const outcome = await sendEvents(this.platform.http, this.options, batch);
    if (outcome.sent) return;
    if (outcome.retry && this.currentStatus !== 'closed') events.restore(batch);
    const kept = outcome.retry ? '; kept for the next batch' : '';
    this.report(
      new SwitchyardError('EVENTS_FAILED', `switchyard: sending analytics failed (${outcome.problem})${kept}`),
    );
  }
}

function unusable<T>(evaluator: unknown, key: unknown, defaultValue: T): EvaluationResult<T> {
  return evaluator === undefined
    ? {
        value: defaultValue,
        reason: 'ERROR',
        errorCode: 'PROVIDER_NOT_READY',
        errorMessage: 'the client has no flags yet',
      }
    : {
        value: defaultValue,
        reason: 'ERROR',
        errorCode: 'GENERAL',
        errorMessage: `flag keys are strings, not ${typeof key}`,
      };
}

const closedError = () => new SwitchyardError('CLOSED', 'switchyard: the client was closed before it was ready');
