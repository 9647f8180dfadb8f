import { randomUUID } from 'node:crypto';
import type { Db } from '../../db/database.js';
import type { EgressPolicy } from './egress.js';
import { WebhookClient } from './post.js';
import { expireDeliveries } from './service.js';
import { SIGNATURE_HEADER, signatureHeader } from './signature.js';
import * as store from './store.js';

export interface WebhookSettings {
  /** How often each instance looks for due deliveries (`SWITCHYARD_WEBHOOK_POLL_MS`). */
  pollIntervalMs: number;
  /** Requests in flight at once per instance (`SWITCHYARD_WEBHOOK_CONCURRENCY`). */
  concurrency: number;
  /** A receiver that has not answered within this is cut off, and the attempt failed (`SWITCHYARD_WEBHOOK_TIMEOUT_MS`). */
  timeoutMs: number;
  /** The wait after the first failed attempt, doubled after each further one (`SWITCHYARD_WEBHOOK_BACKOFF_MS`)… */
  backoffBaseMs: number;
  /** …up to this (`SWITCHYARD_WEBHOOK_BACKOFF_MAX_MS`). */
  backoffMaxMs: number;
  /** Attempts before a delivery is given up as failed (`SWITCHYARD_WEBHOOK_MAX_ATTEMPTS`). */
  maxAttempts: number;
  /** Days delivered and failed deliveries stay in the log (`SWITCHYARD_WEBHOOK_RETENTION_DAYS`). */
  retentionDays: number;
  retentionIntervalMs: number;
  /**
   * Hosts, addresses and CIDR ranges webhooks may call although they are private or loopback
   * (`SWITCHYARD_WEBHOOK_ALLOWED_HOSTS`): receivers inside the operator's own network.
   */
  allowedHosts: readonly string[];
  /**
   * Whether this instance sends deliveries (default `true`). Tests that read the outbox as writes
   * left it turn it off; deliveries then wait for an instance that sends.
   */
  dispatch: boolean;
  /** The clock signatures are timed by (milliseconds since the epoch). */
  now: () => number;
}

export const DEFAULT_WEBHOOKS: WebhookSettings = {
  pollIntervalMs: 1000,
  concurrency: 8,
  timeoutMs: 10_000,
  backoffBaseMs: 15_000,
  backoffMaxMs: 3_600_000,
  maxAttempts: 10,
  retentionDays: 30,
  retentionIntervalMs: 3_600_000,
  allowedHosts: [],
  dispatch: true,
  now: Date.now,
};

/**
 * How instances tell each other that the webhook outbox grew: the change bus carries it (over
 * Redis between processes). `from` is the publishing dispatcher's id, so it ignores its own.
 */
export interface WebhookSignals {
  publishWebhooks(from: string): void;
  subscribeWebhooks(onWake: (from: string) => void): void;
}

/** The wait before the attempt after failed attempt `attempt` (1-based). */
export function backoffMs(settings: Pick<WebhookSettings, 'backoffBaseMs' | 'backoffMaxMs'>, attempt: number): number {
  return Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** Math.min(attempt - 1, 30));
}

function describeFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  return (typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message).slice(0, 500);
}

/**
 * Sends the webhook outbox (DESIGN §10). Every instance runs one: each poll leases as many due
 * deliveries as it has free request slots (`FOR UPDATE SKIP LOCKED`, so instances never share
 * a delivery), sends them without waiting for one another, and records every attempt. A failed
 * attempt is due again after an exponential backoff, until `maxAttempts`. Writes never wait
 * for any of this: they only add rows to the outbox, then call {@link outboxGrew}, which wakes
 * this instance's dispatcher and, through the signals, every other's. Every request goes
 * through the egress policy: a URL or a resolved address it forbids fails the attempt unsent.
 */
export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private readonly sending = new Set<Promise<void>>();
  private readonly stopping = new AbortController();
  /** The last poll filled every free slot: more may be due, so a freed slot polls again at once. */
  private backlog = false;
  /** A write added deliveries since the last poll began: poll again as soon as this one ends. */
  private woken = false;
  private started = false;
  private readonly client: WebhookClient;
  /** Names this instance in the signals it sends. */
  private readonly id = randomUUID();

  constructor(
    private readonly db: Db,
    private readonly settings: WebhookSettings,
    private readonly egress: EgressPolicy,
    private readonly onError: (err: unknown, context: string) => void,
    private readonly signals?: WebhookSignals,
  ) {
    this.client = new WebhookClient(egress.lookup);
  }

  start(): void {
    if (!this.settings.dispatch) return;
    this.started = true;
    this.signals?.subscribeWebhooks((from) => {
      if (from !== this.id) this.wake();
    });
    this.schedule(0);
    const expire = () => {
      expireDeliveries(this.db, this.settings.retentionDays).catch((err) => this.onError(err, 'retention'));
    };
    expire();
    this.retentionTimer = setInterval(expire, this.settings.retentionIntervalMs);
    this.retentionTimer.unref();
  }

  /** Stops polling and cuts off requests in flight; their deliveries are given back, their attempts uncounted. */
  async stop(): Promise<void> {
    this.stopping.abort();
    clearTimeout(this.timer);
    clearInterval(this.retentionTimer);
    await this.ticking;
    await Promise.allSettled([...this.sending]);
    this.client.close();
  }

  /**
   * A write on this instance has just committed deliveries: every instance's dispatcher polls
   * now, whichever of them claims the rows. An instance that does not dispatch still tells the
   * others.
   */
  outboxGrew(): void {
    this.wake();
    this.signals?.publishWebhooks(this.id);
  }

  /**
   * Polls now rather than at the next interval. The interval's poll stays, for deliveries that
   * come due by time (retries) and for writes whose signal was lost (Redis down, or no Redis).
   */
  private wake(): void {
    if (!this.started) return;
    this.woken = true;
    if (this.ticking === undefined) this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopping.signal.aborted) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
        const more = this.woken || this.backlog;
        this.schedule(more && this.sending.size < this.settings.concurrency ? 0 : this.settings.pollIntervalMs);
      });
    }, ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const free = this.settings.concurrency - this.sending.size;
    if (free <= 0) {
      // Whatever woke this waits for a free slot, which polls again when it frees.
      this.backlog ||= this.woken;
      return;
    }
    this.woken = false;
    try {
      const token = randomUUID();
      const leaseMs = this.settings.timeoutMs * 2 + 5000;
      const claimed = await store.claimDue(this.db, free, leaseMs, token);
      this.backlog = claimed.length === free;
      for (const delivery of claimed) {
        const sent: Promise<void> = this.send(delivery, token)
          .catch((err) => this.onError(err, `delivery ${delivery.id}`))
          .finally(() => {
            this.sending.delete(sent);
            if (this.backlog && this.ticking === undefined) this.schedule(0);
          });
        this.sending.add(sent);
      }
    } catch (err) {
      this.backlog = false;
      this.onError(err, 'poll');
    }
  }

  private async send(d: store.Claimed, token: string): Promise<void> {
    const { now, timeoutMs, maxAttempts } = this.settings;
    const started = now();
    const secrets = [d.secret];
    if (d.previousSecret !== null && (d.previousSecretExpiresAt?.getTime() ?? 0) > started) {
      secrets.push(d.previousSecret);
    }
    let statusCode: number | null = null;
    let error: string | null = null;
    // Checked again at each attempt: the allowed hosts may have changed since the URL was saved.
    const refusal = this.egress.refuseUrl(d.url);
    if (refusal !== undefined) {
      error = `refused to send: the URL ${refusal}`;
    } else {
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        const headers = {
          'content-type': 'application/json',
          'user-agent': 'Switchyard-Webhooks/1',
          'switchyard-event': d.eventType,
          'switchyard-event-id': String(d.eventId),
          'switchyard-delivery': d.id,
          [SIGNATURE_HEADER.toLowerCase()]: signatureHeader(secrets, Math.floor(started / 1000), d.payload),
        };
        statusCode = await this.client.post(
          new URL(d.url),
          d.payload,
          headers,
          AbortSignal.any([timeout, this.stopping.signal]),
        );
        if (statusCode < 200 || statusCode > 299) error = `the receiver answered ${statusCode}`;
      } catch (err) {
        if (this.stopping.signal.aborted) {
          await store.releaseLease(this.db, d.id, token);
          return;
        }
        error = timeout.aborted ? `no answer within ${timeoutMs} ms` : describeFailure(err);
      }
    }
    await store.recordAttempt(this.db, {
      deliveryId: d.id,
      token,
      attempt: d.attempt,
      startedAt: new Date(started),
      durationMs: Math.max(0, Math.round(now() - started)),
      statusCode,
      error,
      retryInMs:
        error === null ? 'delivered' : d.attempt >= maxAttempts ? undefined : backoffMs(this.settings, d.attempt),
    });
  }
}
