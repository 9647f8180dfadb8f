import {
  type ErrorCode,
  type JsonValue,
  type EvaluationContext as OpenFeatureContext,
  OpenFeatureEventEmitter,
  type Provider,
  ProviderEvents,
  ProviderFatalError,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/web-sdk';
import { type FlagType, InvalidContextError, toSwitchyardContext } from '@switchyard/core';
import { type BrowserClient, type BrowserClientOptions, createClient } from '@switchyard/sdk-browser';

/**
 * Switchyard as an OpenFeature web provider. Flags are evaluated locally, so resolution is
 * synchronous and a context change is reconciled at once, without a request. Reasons and error
 * codes are Switchyard's, which use OpenFeature's names (plus `PREREQUISITE_FAILED`). Events:
 *
 * - `PROVIDER_READY` once flags are served: at once from the cache or a bootstrap, else when the
 *   server answers; again whenever the server is reached after an outage;
 * - `PROVIDER_CONFIGURATION_CHANGED` with `flagsChanged`: the flags whose value for the current
 *   context changed on the server (a context change is reported by the SDK's own `PROVIDER_CONTEXT_CHANGED`);
 * - `PROVIDER_STALE` while the server cannot be reached (the last known flags are served);
 * - `PROVIDER_ERROR` with `PROVIDER_FATAL` when the server refuses the key (the last known flags are
 *   still served); `initialize` then fails with a `ProviderFatalError`, as in the Node provider.
 */
export class SwitchyardWebProvider implements Provider {
  readonly metadata = { name: 'switchyard' } as const;
  readonly runsOn = 'client' as const;
  readonly events = new OpenFeatureEventEmitter();
  /** The Switchyard client underneath, for what OpenFeature has no word for (`status`, `allFlags`). */
  readonly client: BrowserClient;
  private initialized = false;
  /** Stale or in error since the last `PROVIDER_READY`. */
  private degraded = false;
  private reconciling = false;
  /** Why the current context cannot be evaluated (its targeting key is not a string), if so. */
  private invalidContext: string | undefined;
  /** Whether the provider made the client (from options), and so closes it. */
  private readonly owned: boolean;
  private readonly detach: (() => void)[];

  /** Takes a client's options, or a client the page already uses (one connection for both). */
  constructor(clientOrOptions: BrowserClient | BrowserClientOptions) {
    // Not `instanceof`: a page may load the client and the provider from two bundles.
    this.owned = !('getDetail' in clientOrOptions);
    const client = 'getDetail' in clientOrOptions ? clientOrOptions : createClient(clientOrOptions);
    this.client = client;
    this.detach = [
      client.on('change', ({ flags }) => {
        if (this.initialized && !this.reconciling)
          this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: flags });
      }),
      client.on('stale', (error) => {
        if (!this.initialized) return;
        this.degraded = true;
        this.events.emit(ProviderEvents.Stale, { message: error.message });
      }),
      client.on('error', (error) => {
        if (!this.initialized || error.code !== 'UNAUTHORIZED') return;
        this.degraded = true;
        // As the Node provider says it: a refused key does not come right on its own.
        this.events.emit(ProviderEvents.Error, { message: error.message, errorCode: 'PROVIDER_FATAL' as ErrorCode });
      }),
      client.on('ready', () => {
        if (!this.initialized || !this.degraded) return;
        this.degraded = false;
        this.events.emit(ProviderEvents.Ready);
      }),
    ];
  }

  async initialize(context?: OpenFeatureContext): Promise<void> {
    if (context !== undefined) this.identify(context);
    try {
      // Cached or bootstrapped flags are served at once: no flicker while the server answers.
      if (this.client.version === undefined) await this.client.waitForReady();
    } catch (err) {
      this.degraded = true;
      if ((err as { code?: unknown }).code === 'UNAUTHORIZED') {
        throw new ProviderFatalError((err as Error).message, { cause: err });
      }
      throw err;
    } finally {
      this.initialized = true;
    }
    // The SDK announces READY when this promise settles; a stale start is announced after it.
    if (this.client.status === 'stale') {
      this.degraded = true;
      setTimeout(() => this.events.emit(ProviderEvents.Stale, { message: 'the flag server cannot be reached' }), 0);
    }
  }

  onContextChange(_oldContext: OpenFeatureContext, newContext: OpenFeatureContext): void {
    this.reconciling = true;
    try {
      this.identify(newContext);
    } finally {
      this.reconciling = false;
    }
  }

  /**
   * Gives the client the context, mapped as the server provider maps it (`toSwitchyardContext`).
   * A context that cannot be mapped is kept as a reason: every resolution answers
   * `INVALID_CONTEXT` until the next context, as the server provider answers it per call.
   */
  private identify(context: OpenFeatureContext): void {
    try {
      this.client.identify(toSwitchyardContext(context));
      this.invalidContext = undefined;
    } catch (err) {
      if (!(err instanceof InvalidContextError)) throw err;
      this.invalidContext = err.message;
    }
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean): ResolutionDetails<boolean> {
    return this.resolve(flagKey, defaultValue, 'boolean');
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string): ResolutionDetails<string> {
    return this.resolve(flagKey, defaultValue, 'string');
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number): ResolutionDetails<number> {
    return this.resolve(flagKey, defaultValue, 'number');
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T): ResolutionDetails<T> {
    return this.resolve(flagKey, defaultValue, 'json');
  }

  track(trackingEventName: string, _context?: OpenFeatureContext, details?: TrackingEventDetails): void {
    this.client.track(trackingEventName, details?.value);
  }

  /**
   * Stops listening to the client, and closes it when the provider made it: a client the page
   * passed in is the page's, and goes on following the server.
   */
  async onClose(): Promise<void> {
    for (const d of this.detach.splice(0)) d();
    if (this.owned) await this.client.close();
  }

  /**
   * The context is the one `initialize`/`onContextChange` gave the client (the web SDK's static
   * context), so a resolution neither copies nor converts it. On an error the value is the
   * caller's default and there is no variant; metadata is `{}` when the flag has none.
   */
  private resolve<T>(flagKey: string, defaultValue: T, type: FlagType): ResolutionDetails<T> {
    if (this.invalidContext !== undefined) {
      return {
        value: defaultValue,
        reason: 'ERROR',
        errorCode: 'INVALID_CONTEXT' as ErrorCode,
        errorMessage: this.invalidContext,
        flagMetadata: {},
      };
    }
    const result = this.client.getDetail(flagKey, defaultValue, type);
    const details: ResolutionDetails<T> = {
      value: result.value,
      reason: result.reason,
      flagMetadata: result.flagMetadata ?? {},
    };
    if (result.variant !== undefined) details.variant = result.variant;
    if (result.errorCode !== undefined) details.errorCode = result.errorCode as ErrorCode;
    if (result.errorMessage !== undefined) details.errorMessage = result.errorMessage;
    return details;
  }
}
