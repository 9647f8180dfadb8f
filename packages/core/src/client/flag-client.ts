import { SwitchyardError } from '../errors.js';
import type { EvaluationResult } from '../reasons.js';
import type { EvaluationContext, FlagType, FlagValue, JsonValue } from '../types.js';
import { type ClientState, type ClientStatus, clientState } from './client-state.js';
import { Connection, type ConnectionMode } from './connection.js';
import { type Emitter, emitter } from './emitter.js';
import { type EventBatch, eventAggregator } from './event-aggregator.js';
import { FlagStore, type StoreUpdate } from './flag-store.js';
import { JitShapedCounter } from './jit-shaped-counter.js';
import { type ClientOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type Platform, safePlatform } from './platform.js';
import { sendEvents } from './send-events.js';

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

const DEFAULT_READY_TIMEOUT_MS = 10_000;

/** (flag, variant, context key) triples remembered to send each exposure once: about 1 MB at most. */
const EXPOSURE_MEMORY = 10_000;

/**
 * The Node SDK's client, pure and platform-injected: local evaluation from a store kept current
 * by a connection (streaming, or polling), change events, analytics, a persistent cache. It is
 * assembled from the shared client pieces (`clientState`, `emitter`, `eventAggregator`,
 * `backoffDelay`, `isOlderPut`, `SwitchyardError`); docs/architecture.md says which of them the
 * browser SDK takes, and why not yet the others. Getters are synchronous, never throw and never
 * do I/O; everything that can fail is reported through `on('error')` and `waitForReady`.
 */
export class FlagClient {
  private readonly options: ResolvedOptions;
  private readonly platform: ReturnType<typeof safePlatform>;
  private readonly store: FlagStore;
  private readonly connection: Connection | undefined;
  private readonly events: JitShapedCounter | undefined;
  /**
   * Batches the server could not take yet, oldest first, each sent again unchanged under its id
   * (the server stores a batch once, however often it arrives), at most `maxPendingBatches`.
   */
  private readonly pending: EventBatch[] = [];
  /** Exposures dropped at the memory bound since the last flush. */
  private droppedExposures = 0;
  private readonly emitter: Emitter<ClientEvents>;
  private readonly state: ClientState;
  private flushTimer: (() => void) | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private keyRefused = false;
  private persisting = false;
  private persistAgain = false;

  constructor(options: ClientOptions, platform: Platform) {
    this.platform = safePlatform(platform);
    this.options = resolveOptions(options, this.platform.logger);
    this.emitter = emitter<ClientEvents>((err, event) =>
      this.platform.logger.error(`switchyard: a ${String(event)} listener threw: ${String(err)}`),
    );
    this.state = clientState(this.emitter.emit);
    // Definitions are kept only to be written to the cache.
    this.store = new FlagStore({ keepDefinitions: this.platform.storage !== undefined });
    const o = this.options;
    const bootstrapError = options.bootstrap === undefined ? undefined : this.load(options.bootstrap, 'bootstrap');
    if (o.offline) {
      // Offline, the bootstrap is all there is: without it the client cannot be ready.
      if (bootstrapError === undefined) this.state.current();
      else this.state.fail(bootstrapError);
      return;
    }
    if (o.sendEvents) {
      const limits = {
        maxCounters: o.maxEvaluationCounters,
        maxEvents: o.maxTrackEvents,
        maxExposures: o.maxExposures,
        exposureMemory: EXPOSURE_MEMORY,
      };
      this.events = new JitShapedCounter(eventAggregator(limits, () => this.platform.clock.now()));
      this.scheduleFlush();
    }
    this.connection = new Connection(o, this.store, this.platform, {
      current: () => this.state.current(),
      lost: (error) => {
        this.report(error);
        this.state.lost(error, this.store.evaluator !== undefined);
      },
      fatal: (error) => this.fail(error),
      updated: (update, what) => this.updated(update, what),
    });
    this.readCache();
    this.connection.start();
  }

  get status(): ClientStatus {
    return this.state.status;
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
    const timeout =
      typeof options.timeout === 'number' && options.timeout >= 0 ? options.timeout : DEFAULT_READY_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const cancel = this.platform.clock.setTimeout(
        () => reject(new SwitchyardError('TIMEOUT', `not ready after ${timeout} ms`)),
        timeout,
        true,
      );
      this.state.ready.then(resolve, reject).finally(cancel);
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
    if (events === undefined || this.state.status === 'closed') return;
    const key = typeof context === 'object' && context !== null ? context.key : undefined;
    if (!events.aggregator.track(event, key, value)) {
      this.platform.logger.debug(`switchyard: track event ${JSON.stringify(event)} dropped (queue full or invalid)`);
    }
  }

  on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): () => void {
    return this.emitter.on(event, listener);
  }

  off<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): void {
    this.emitter.off(event, listener);
  }

  /** Sends the analytics held so far. Resolves when done; never rejects. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.send());
    return this.flushing;
  }

  /** Stops following the server, sends the remaining analytics and rejects pending `waitForReady` calls. */
  async close(): Promise<void> {
    if (this.state.status === 'closed') return this.flushing;
    this.connection?.stop();
    this.flushTimer?.();
    this.flushTimer = undefined;
    this.state.close();
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
    if (events !== undefined) {
      events.count(key, result);
      // A served variant means the evaluator was there to serve it.
      if (result.variant !== undefined && (evaluator as NonNullable<typeof evaluator>).isMeasured(key)) {
        this.expose(events, key, result.variant, context);
      }
    }
    return result;
  }

  /** Records that the context was served `variant` of the measured flag `key` (out of the getters' line). */
  private expose(events: JitShapedCounter, key: string, variant: string, context: EvaluationContext): void {
    const unit = typeof context === 'object' && context !== null ? context.key : undefined;
    if (!events.aggregator.expose(key, variant, unit)) this.droppedExposures++;
  }

  /** Serves a bootstrap or cached ruleset; returns the error when it is unusable. */
  private load(ruleset: unknown, source: 'bootstrap' | 'cache'): SwitchyardError | undefined {
    const update = this.store.put(ruleset, source);
    if (update.outcome !== 'malformed') return undefined;
    const error = new SwitchyardError(
      source === 'bootstrap' ? 'BOOTSTRAP_FAILED' : 'MALFORMED_DATA',
      `the ${source} ruleset is unusable: ${update.reason}`,
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
        // The server may have failed once already while the cache was being read.
        this.state.served();
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
      this.report(new SwitchyardError('MALFORMED_DATA', `ignored a malformed ${what}: ${update.reason}`));
      return;
    }
    if (update.outcome === 'ignored') {
      this.platform.logger.debug(`switchyard: ignored a ${what}: ${update.reason}`);
      return;
    }
    this.persist();
    // The first ruleset is announced by `ready`; later ones (including the server's answer
    // replacing a cache) by `change`.
    if (this.state.status === 'initializing') return;
    if (update.changed.length > 0) {
      this.emitter.emit('change', { flags: update.changed, version: this.store.evaluator?.version ?? 0 });
    }
  }

  private fail(error: SwitchyardError): void {
    this.state.fail(error);
    // The key was refused: the server would refuse analytics too, now and at close.
    this.keyRefused = true;
    this.flushTimer?.();
    this.flushTimer = undefined;
    this.report(error);
  }

  private report(error: SwitchyardError): void {
    const log = error.code === 'STREAM_FAILED' || error.code === 'POLL_FAILED' ? 'warn' : 'error';
    this.platform.logger[log](error.message);
    this.emitter.emit('error', error);
  }

  private scheduleFlush(): void {
    this.flushTimer = this.platform.clock.setTimeout(() => {
      void this.flush().then(() => {
        if (this.state.status !== 'closed' && !this.keyRefused) this.scheduleFlush();
      });
    }, this.options.flushIntervalMs);
  }

  private async send(): Promise<void> {
    const events = this.events;
    if (events === undefined || this.keyRefused) return;
    const batch = events.drain();
    const dropped = { ...(batch?.dropped ?? { evaluations: 0, events: 0 }), exposures: this.droppedExposures };
    this.droppedExposures = 0;
    if (batch !== undefined) this.pending.push(batch);
    // The oldest batch waits longest for a server that is down: it is the one given up.
    const given = this.pending.length > this.options.maxPendingBatches ? this.pending.shift() : undefined;
    // Drops are reported as they happen: here, once per flush.
    if (dropped.evaluations > 0 || dropped.events > 0 || dropped.exposures > 0 || given !== undefined) {
      const unsent = given === undefined ? '' : `, and an unsent batch (${this.options.maxPendingBatches} are kept)`;
      this.report(
        new SwitchyardError(
          'EVENTS_DROPPED',
          `dropped ${dropped.events} track events, ${dropped.evaluations} evaluation counts and ${dropped.exposures} exposures at the memory bound${unsent}`,
        ),
      );
    }
    // Oldest first, and one at a time: a server that fails one would fail the next.
    for (let next = this.pending[0]; next !== undefined; next = this.pending[0]) {
      const outcome = await sendEvents(this.platform.http, this.options, next);
      if (outcome.sent) {
        this.pending.shift();
        continue;
      }
      // A refused batch would be refused again; after close() there is no next flush.
      const keep = outcome.retry && this.state.status !== 'closed';
      if (!keep) this.pending.shift();
      const kept = keep ? `; kept to be sent again (${this.pending.length} waiting)` : '';
      this.report(new SwitchyardError('EVENTS_FAILED', `sending analytics failed (${outcome.problem})${kept}`));
      if (keep) return;
    }
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
