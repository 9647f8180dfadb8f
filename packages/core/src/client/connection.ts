import { SwitchyardError } from '../errors.js';
import { Backoff } from './backoff.js';
import type { FlagStore, StoreUpdate } from './flag-store.js';
import type { Platform, StreamFailure, StreamHandle } from './platform.js';
import type { SseEvent } from './sse-parser.js';

export interface ConnectionSettings {
  sdkKey: string;
  baseUrl: string;
  stream: boolean;
  pollIntervalMs: number;
  initialRetryDelayMs: number;
  maxRetryDelayMs: number;
  stallTimeoutMs: number;
  streamFailuresBeforePolling: number;
  streamRetryIntervalMs: number;
  healthyStreamMs: number;
  requestTimeoutMs: number;
}

/** What a connection tells its client. */
export interface ConnectionListener {
  /** The client holds what the server holds (a ruleset arrived, a stream opened, a poll answered). */
  current(): void;
  /** The link to the server was lost: what the client serves may fall behind. */
  lost(error: SwitchyardError): void;
  /** The server refused the key. Nothing more will be attempted. */
  fatal(error: SwitchyardError): void;
  /** A put, patch or polled ruleset went through the store, whatever the outcome. */
  updated(update: StoreUpdate, what: string): void;
}

export type ConnectionMode = 'streaming' | 'polling' | 'stopped';

const isAuthFailure = (status: number | undefined) => status === 401 || status === 403;

/**
 * Keeps a store current, as a small state machine over one timer and at most one stream or
 * request at a time:
 *
 * ```
 * streaming ──stream ends or stalls──► wait (backoff, full jitter) ──► streaming
 *     │  after `streamFailuresBeforePolling` failures in a row
 *     ▼
 * polling (If-None-Match) ──every streamRetryIntervalMs──► one stream attempt ──opens──► streaming
 *     │  a poll fails: back to streaming (backoff); the first poll answered after
 *     │  connection-refused streams: one stream attempt at once
 * any state ──401/403──► stopped (fatal; no retry)
 * ```
 *
 * A stream counts as failed unless it delivered data and lived `healthyStreamMs`, so a proxy
 * that cuts every stream after a second still ends in polling instead of a reconnect loop.
 */
export class Connection {
  private mode: ConnectionMode;
  private readonly backoff: Backoff;
  private handle: StreamHandle | undefined;
  private timer: (() => void) | undefined;
  private stallTimer: (() => void) | undefined;
  /** Where a resumed stream starts: the id of the last complete version received. */
  private lastEventId: string | undefined;
  private pollingSince = 0;
  /**
   * Polling began after streams that got no answer at all (connection refused, reset before
   * any response): the server was down, not refusing streams, so once a poll is answered the
   * stream is tried again at once rather than after `streamRetryIntervalMs`.
   */
  private streamOnFirstAnswer = false;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly store: FlagStore,
    private readonly platform: Required<Pick<Platform, 'clock' | 'http' | 'stream' | 'logger' | 'random'>>,
    private readonly listener: ConnectionListener,
  ) {
    this.mode = settings.stream ? 'streaming' : 'polling';
    this.backoff = new Backoff(settings.initialRetryDelayMs, settings.maxRetryDelayMs, platform.random);
  }

  get state(): ConnectionMode {
    return this.mode;
  }

  start(): void {
    if (this.mode === 'streaming') this.connect();
    else this.poll();
  }

  stop(): void {
    this.mode = 'stopped';
    this.cancelTimers();
    const handle = this.handle;
    this.handle = undefined;
    handle?.close();
  }

  private url(path: string): string {
    return `${this.settings.baseUrl}/sdk/v1/${path}`;
  }

  private headers(extra: Record<string, string>): Record<string, string> {
    return { ...extra, authorization: `Bearer ${this.settings.sdkKey}` };
  }

  private connect(): void {
    const { clock } = this.platform;
    let openedAt: number | undefined;
    let gotData = false;
    let heardAt: number | undefined;
    // Resuming from a cached or bootstrap ruleset could splice patches onto another history.
    const resumeFrom = this.store.source === 'server' ? this.lastEventId : undefined;
    // A stream was healthy when it kept talking for a while: a fresh one must have delivered the
    // ruleset, a resumed one has nothing to send while no flag changes, and its heartbeats are
    // what says it lived. Otherwise the routine end of a quiet stream (a deploy, a proxy's time
    // limit) would count as a failure, and the third would switch the client to polling.
    const healthy = () =>
      openedAt !== undefined &&
      heardAt !== undefined &&
      (gotData || resumeFrom !== undefined) &&
      heardAt - openedAt >= this.settings.healthyStreamMs;
    const request = {
      url: this.url('stream'),
      headers: this.headers({ accept: 'text/event-stream' }),
      ...(resumeFrom === undefined ? {} : { lastEventId: resumeFrom }),
    };
    this.platform.logger.debug(`switchyard: opening the stream${resumeFrom ? ` from version ${resumeFrom}` : ''}`);
    const handle = this.platform.stream.open(request, {
      onOpen: () => {
        if (this.handle !== handle) return;
        openedAt = clock.now();
        this.armStall(handle, healthy);
        // A resumed stream is live at once: it sends only what was missed, maybe nothing.
        if (this.store.source === 'server') this.streaming();
      },
      onData: () => {
        if (this.handle !== handle) return;
        heardAt = clock.now();
        this.armStall(handle, healthy);
      },
      onEvent: (event) => {
        if (this.handle !== handle) return;
        if (this.onEvent(event)) gotData = true;
      },
      onRetryAdvice: (ms) => this.backoff.advise(ms),
      onClose: (failure) => {
        if (this.handle !== handle) return;
        this.handle = undefined;
        const answered = openedAt !== undefined || failure.status !== undefined;
        this.streamEnded(failure, healthy(), 'STREAM_FAILED', answered);
      },
    });
    this.handle = handle;
    this.armStall(handle, healthy);
  }

  /** Applies one stream event; returns whether it carried data from the server. */
  private onEvent(event: SseEvent): boolean {
    if (event.event === 'put') {
      const update = this.store.put(event.data, 'server');
      this.listener.updated(update, 'put');
      if (update.outcome === 'malformed') return false;
      const version = this.store.evaluator?.version;
      this.lastEventId = event.lastEventId !== '' ? event.lastEventId : String(version);
      this.streaming();
      return true;
    }
    if (event.event === 'patch') {
      const update = this.store.patch(event.data);
      this.listener.updated(update, 'patch');
      if (update.outcome === 'malformed') return false;
      // Only the last event of a version carries an id: resuming from it never skips half a version.
      if (event.lastEventId !== '') this.lastEventId = event.lastEventId;
      return true;
    }
    this.platform.logger.debug(`switchyard: ignored a stream event of type ${JSON.stringify(event.event)}`);
    return false;
  }

  /** The stream is live: leave polling if it was a retry, and tell the client. */
  private streaming(): void {
    if (this.mode === 'polling') this.platform.logger.info('switchyard: streaming again; polling stops');
    this.mode = 'streaming';
    this.listener.current();
  }

  /** `healthy`: whether the stream, up to the last thing it sent, counts as having lived. */
  private armStall(handle: StreamHandle, healthy: () => boolean): void {
    this.stallTimer?.();
    this.stallTimer = this.platform.clock.setTimeout(() => {
      if (this.handle !== handle) return;
      this.handle = undefined;
      handle.close();
      this.streamEnded(
        { message: `no data, not even a heartbeat, for ${this.settings.stallTimeoutMs} ms` },
        healthy(),
        'STREAM_STALLED',
        true,
      );
    }, this.settings.stallTimeoutMs);
  }

  private streamEnded(
    failure: StreamFailure,
    healthy: boolean,
    code: 'STREAM_FAILED' | 'STREAM_STALLED',
    answered: boolean,
  ): void {
    this.stallTimer?.();
    this.stallTimer = undefined;
    if (this.mode === 'stopped') return;
    if (isAuthFailure(failure.status)) {
      this.fatal(failure.status as number);
      return;
    }
    const error = new SwitchyardError(code, `stream: ${failure.message}`, failure.status, failure.cause);
    if (this.mode === 'polling') {
      // A stream retry from polling failed: polling goes on and keeps the client current.
      this.platform.logger.debug(`switchyard: streaming is still failing (${failure.message}); polling on`);
      this.schedule(() => this.poll(), this.settings.pollIntervalMs);
      return;
    }
    if (healthy) this.backoff.reset();
    const delay = this.backoff.fail();
    this.listener.lost(error);
    if (this.backoff.attempts >= this.settings.streamFailuresBeforePolling) {
      this.platform.logger.warn(
        `switchyard: the stream failed ${this.backoff.attempts} times in a row; polling instead`,
      );
      this.mode = 'polling';
      this.pollingSince = this.platform.clock.now();
      this.streamOnFirstAnswer = !answered;
      this.schedule(() => this.poll(), 0);
      return;
    }
    this.platform.logger.debug(`switchyard: reconnecting in ${delay} ms`);
    this.schedule(() => this.connect(), delay);
  }

  private poll(): void {
    if (this.mode === 'stopped') return;
    const { clock } = this.platform;
    if (this.settings.stream && clock.now() - this.pollingSince >= this.settings.streamRetryIntervalMs) {
      this.pollingSince = clock.now();
      this.backoff.reset();
      this.connect();
      return;
    }
    // The server's ETag is the version; the last complete version received is what is held.
    const held = this.store.source === 'server' ? this.lastEventId : undefined;
    const headers = this.headers(held === undefined ? {} : { 'if-none-match': `"${held}"` });
    const next = () => this.schedule(() => this.poll(), this.settings.pollIntervalMs);
    // When the server does not answer polls either, it is down rather than refusing streams:
    // the stream is tried again (after the backoff), so a restarted server is streamed from at once.
    const failed = (error: SwitchyardError) => {
      this.listener.lost(error);
      if (!this.settings.stream) {
        next();
        return;
      }
      this.mode = 'streaming';
      this.schedule(() => this.connect(), this.backoff.fail());
    };
    this.platform.http
      .request({ method: 'GET', url: this.url('ruleset'), headers, timeoutMs: this.settings.requestTimeoutMs })
      .then(
        (response) => {
          if (this.mode !== 'polling') return;
          if (isAuthFailure(response.status)) {
            this.fatal(response.status);
            return;
          }
          if (response.status === 304) {
            this.listener.current();
          } else if (response.status === 200) {
            const update = this.store.put(response.body, 'server');
            this.listener.updated(update, 'ruleset');
            if (update.outcome !== 'malformed') {
              this.lastEventId = String(this.store.evaluator?.version);
              this.listener.current();
            }
          } else {
            failed(
              new SwitchyardError('POLL_FAILED', `the ruleset request answered ${response.status}`, response.status),
            );
            return;
          }
          if (this.streamOnFirstAnswer) {
            this.streamOnFirstAnswer = false;
            this.connect();
            return;
          }
          next();
        },
        (err: unknown) => {
          if (this.mode !== 'polling') return;
          const message = err instanceof Error ? err.message : String(err);
          failed(new SwitchyardError('POLL_FAILED', `the ruleset request failed: ${message}`, undefined, err));
        },
      );
  }

  private fatal(status: number): void {
    this.stop();
    this.listener.fatal(
      new SwitchyardError(
        'UNAUTHORIZED',
        `the server refused the SDK key (${status}); check that it is a current server key. No further requests will be made.`,
        status,
      ),
    );
  }

  private schedule(fn: () => void, ms: number): void {
    this.timer?.();
    this.timer = this.platform.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.mode !== 'stopped') fn();
    }, ms);
  }

  private cancelTimers(): void {
    this.timer?.();
    this.timer = undefined;
    this.stallTimer?.();
    this.stallTimer = undefined;
  }
}
