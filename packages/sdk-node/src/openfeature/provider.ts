import {
  type ErrorCode,
  type EvaluationContext,
  type Hook,
  type JsonValue,
  OpenFeatureEventEmitter,
  type Paradigm,
  type Provider,
  ProviderEvents,
  ProviderFatalError,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import { InvalidContextError, toSwitchyardContext } from '@switchyard/core';
import {
  createClient,
  type EvaluationResult,
  type FlagType,
  type NodeClientOptions,
  type SwitchyardClient,
  SwitchyardError,
} from '../index.js';

export interface ProviderSettings {
  /** How long `initialize` waits for flags before it fails (the provider then recovers on its own). */
  readyTimeoutMs?: number;
}

const isClient = (x: NodeClientOptions | SwitchyardClient): x is SwitchyardClient =>
  typeof (x as SwitchyardClient).getDetail === 'function';

/**
 * Switchyard as an OpenFeature server provider. Evaluation is local and synchronous; the
 * engine's reasons and error codes are OpenFeature's own names (plus `PREREQUISITE_FAILED`, a
 * reason the specification allows), so they pass through unchanged. Events: `READY` when flags
 * are current again after `STALE` (the server was unreachable), `CONFIGURATION_CHANGED` with
 * the flags that may evaluate differently, `ERROR` with `PROVIDER_FATAL` when the key is refused.
 *
 * Built from options, the provider owns its client: `initialize` creates it and `onClose`
 * closes it, so it can be initialised again. Built from a client, it leaves that client's
 * lifecycle to the application.
 */
export class SwitchyardProvider implements Provider {
  readonly metadata = { name: 'switchyard' } as const;
  readonly runsOn: Paradigm = 'server';
  readonly hooks: Hook[] = [];
  readonly events = new OpenFeatureEventEmitter();
  private client: SwitchyardClient | undefined;
  private readonly owned: NodeClientOptions | undefined;
  private detach: (() => void)[] = [];
  /**
   * The status OpenFeature holds for this provider, as far as it was told: `undefined` until
   * `initialize` settles (the SDK itself announces that outcome), then whatever was last emitted.
   * Every client event is reconciled against it, so the provider's status is the client's.
   */
  private announced: ProviderEvents | undefined;

  constructor(
    source: NodeClientOptions | SwitchyardClient,
    private readonly settings: ProviderSettings = {},
  ) {
    if (isClient(source)) this.client = source;
    else this.owned = source;
  }

  async initialize(): Promise<void> {
    if (this.owned !== undefined && this.client === undefined) this.client = createClient(this.owned);
    const client = this.client;
    if (client === undefined) return;
    this.announced = undefined;
    this.listen(client);
    try {
      await client.waitForReady(
        this.settings.readyTimeoutMs === undefined ? {} : { timeout: this.settings.readyTimeoutMs },
      );
    } catch (err) {
      this.announced = ProviderEvents.Error;
      if (err instanceof SwitchyardError && err.code === 'UNAUTHORIZED') {
        throw new ProviderFatalError(err.message, { cause: err });
      }
      throw err;
    }
    this.announced = ProviderEvents.Ready;
    // The SDK marks the provider READY in a callback on the promise this returns, after every
    // microtask queued here: a client that is stale (serving its cache, or wrapped after losing
    // its stream) is announced in the next task, once READY can no longer overwrite it.
    setTimeout(() => this.follow(client, 'the flag server cannot be reached'), 0);
  }

  async onClose(): Promise<void> {
    for (const d of this.detach) d();
    this.detach = [];
    this.announced = undefined;
    const client = this.client;
    if (this.owned === undefined || client === undefined) return;
    this.client = undefined;
    await client.close();
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext) {
    return this.resolve(flagKey, defaultValue, context, 'boolean');
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext) {
    return this.resolve(flagKey, defaultValue, context, 'string');
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext) {
    return this.resolve(flagKey, defaultValue, context, 'number');
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext) {
    return this.resolve(flagKey, defaultValue, context, 'json');
  }

  track(trackingEventName: string, context: EvaluationContext, details: TrackingEventDetails): void {
    try {
      this.client?.track(trackingEventName, toSwitchyardContext(context), details?.value);
    } catch {
      // A context that cannot be read is not worth an exception in the caller's request.
    }
  }

  private async resolve<T>(
    flagKey: string,
    defaultValue: T,
    context: EvaluationContext,
    type: FlagType,
  ): Promise<ResolutionDetails<T>> {
    const client = this.client;
    if (client === undefined) return failed(defaultValue, 'PROVIDER_NOT_READY', 'the provider is not initialised');
    let ctx: ReturnType<typeof toSwitchyardContext>;
    try {
      ctx = toSwitchyardContext(context);
    } catch (err) {
      return err instanceof InvalidContextError
        ? failed(defaultValue, 'INVALID_CONTEXT', err.message)
        : failed(defaultValue, 'GENERAL', `the evaluation context could not be read: ${String(err)}`);
    }
    return toResolution(client.getDetail(flagKey, ctx, defaultValue, type));
  }

  private listen(client: SwitchyardClient): void {
    for (const d of this.detach) d();
    this.detach = [
      client.on('change', ({ flags }) =>
        this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: flags }),
      ),
      client.on('stale', (error) => this.follow(client, error.message)),
      client.on('ready', () => this.follow(client, 'flags are current')),
      client.on('error', (error) => {
        if (error.code === 'UNAUTHORIZED') {
          this.announced = ProviderEvents.Error;
          this.events.emit(ProviderEvents.Error, { message: error.message, errorCode: 'PROVIDER_FATAL' as ErrorCode });
        }
      }),
    ];
  }

  /**
   * Emits READY or STALE when the client's status differs from what OpenFeature holds. A client
   * event is no proof of the client's status (a `ready` from a cache is followed at once by
   * `stale`), so the status is read, not inferred from the event.
   */
  private follow(client: SwitchyardClient, message: string): void {
    if (this.announced === undefined || this.client !== client) return;
    const status = client.status;
    const next = status === 'ready' ? ProviderEvents.Ready : status === 'stale' ? ProviderEvents.Stale : undefined;
    if (next === undefined || next === this.announced) return;
    this.announced = next;
    this.events.emit(next, { message });
  }
}

function toResolution<T>(result: EvaluationResult<T>): ResolutionDetails<T> {
  const details: ResolutionDetails<T> = { value: result.value, reason: result.reason };
  if (result.variant !== undefined) details.variant = result.variant;
  if (result.flagMetadata !== undefined) details.flagMetadata = result.flagMetadata;
  if (result.errorCode !== undefined) {
    details.errorCode = result.errorCode as ErrorCode;
    if (result.errorMessage !== undefined) details.errorMessage = result.errorMessage;
  }
  return details;
}

function failed<T>(value: T, errorCode: string, errorMessage: string): ResolutionDetails<T> {
  return { value, reason: 'ERROR', errorCode: errorCode as ErrorCode, errorMessage };
}
