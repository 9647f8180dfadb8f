import { Redis } from 'ioredis';
import type { CommittedVersion } from '../changes/change-feed.js';

/**
 * Tells every instance that an environment reached a version. Delivery may drop a message
 * (Redis pub/sub does, across a disconnect): reconciliation with Postgres catches up.
 */
export interface ChangeBus {
  publish(message: CommittedVersion): void;
  /** `onMessage` for every message; `onResync` whenever messages may have been missed. */
  subscribe(onMessage: (message: CommittedVersion) => void, onResync: () => void): void;
  /**
   * Tells every instance that the audit log grew, up to this entry id: the management change
   * stream reads the new entries from Postgres. A lost message only delays them to its next poll.
   */
  publishAudit(lastId: number): void;
  subscribeAudit(onAudit: (lastId: number) => void): void;
  /**
   * Tells every instance that the webhook outbox has new deliveries, so that their dispatchers
   * poll now rather than at their interval. `from` names the publishing instance, which has
   * woken its own dispatcher already. A lost message only delays a delivery to the next poll.
   */
  publishWebhooks(from: string): void;
  subscribeWebhooks(onWake: (from: string) => void): void;
  close(): Promise<void>;
  /** Whether each of its connections is up, by name; absent for a bus without connections. */
  connections?(): Record<string, boolean>;
}

type Listener = (message: CommittedVersion) => void;
type AuditListener = (lastId: number) => void;
type WebhookListener = (from: string) => void;

/** For a single instance (no `REDIS_URL`), or several instances in one process. */
export class InProcessBus implements ChangeBus {
  private readonly listeners = new Set<Listener>();
  private readonly auditListeners = new Set<AuditListener>();
  private readonly webhookListeners = new Set<WebhookListener>();

  publish(message: CommittedVersion): void {
    for (const listener of this.listeners) queueMicrotask(() => listener(message));
  }

  subscribe(onMessage: Listener): void {
    this.listeners.add(onMessage);
  }

  publishAudit(lastId: number): void {
    for (const listener of this.auditListeners) queueMicrotask(() => listener(lastId));
  }

  subscribeAudit(onAudit: AuditListener): void {
    this.auditListeners.add(onAudit);
  }

  publishWebhooks(from: string): void {
    for (const listener of this.webhookListeners) queueMicrotask(() => listener(from));
  }

  subscribeWebhooks(onWake: WebhookListener): void {
    this.webhookListeners.add(onWake);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    this.auditListeners.clear();
    this.webhookListeners.clear();
  }
}

export interface RedisBusOptions {
  url: string;
  channel: string;
  onError?: (err: Error) => void;
  /** How often each connection is checked with a PING (default 1000 ms). */
  pingIntervalMs?: number;
  /** A connection whose PING has had no answer for this long is dropped and opened again (default 3000 ms). */
  pingTimeoutMs?: number;
}

/**
 * Redis pub/sub over two ioredis connections (a subscribed connection cannot publish). Both
 * reconnect on their own; after the subscriber reconnects, `onResync` runs because anything
 * published meanwhile is gone. Publishing never queues while Redis is down: it fails at once
 * and reconciliation delivers the change instead.
 *
 * The channel is subscribed each time the subscriber connection becomes ready, never before:
 * a SUBSCRIBE sent while ioredis is still checking a new connection (its INFO) makes that check
 * fail, the connection restarts, and the subscription is silently lost (a server that did not
 * wait for Redis before starting then heard nothing from the other instances).
 */
export class RedisBus implements ChangeBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly channel: string;
  private readonly resyncs: (() => void)[] = [];
  private readonly onError: (err: Error) => void;
  private listening = false;
  private readonly watchdogs: NodeJS.Timeout[];

  constructor(options: RedisBusOptions) {
    this.channel = options.channel;
    const onError = options.onError ?? (() => undefined);
    this.onError = onError;
    const retryStrategy = (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5000);
    this.pub = new Redis(options.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy });
    this.sub = new Redis(options.url, { retryStrategy, maxRetriesPerRequest: null });
    this.pub.on('error', onError);
    this.sub.on('error', onError);
    const interval = options.pingIntervalMs ?? 1000;
    const timeout = options.pingTimeoutMs ?? 3000;
    this.watchdogs = [this.pub, this.sub].map((r) => watch(r, interval, timeout));
    let connectedBefore = false;
    this.sub.on('ready', () => {
      if (this.listening) this.listen();
      if (connectedBefore) for (const resync of this.resyncs) resync();
      connectedBefore = true;
    });
  }

  publish(message: CommittedVersion): void {
    this.pub.publish(this.channel, JSON.stringify(message)).catch(() => undefined);
  }

  subscribe(onMessage: Listener, onResync: () => void): void {
    this.resyncs.push(onResync);
    this.onPayload((payload) => {
      const message = parseMessage(payload);
      if (message !== undefined) onMessage(message);
    });
  }

  /** On the same channel: an instance that predates these messages ignores them as unknown. */
  publishAudit(lastId: number): void {
    this.pub.publish(this.channel, JSON.stringify({ auditId: lastId })).catch(() => undefined);
  }

  subscribeAudit(onAudit: AuditListener): void {
    this.onPayload((payload) => {
      const lastId = parseAuditMessage(payload);
      if (lastId !== undefined) onAudit(lastId);
    });
  }

  /** Likewise on the same channel. */
  publishWebhooks(from: string): void {
    this.pub.publish(this.channel, JSON.stringify({ webhooks: from })).catch(() => undefined);
  }

  subscribeWebhooks(onWake: WebhookListener): void {
    this.onPayload((payload) => {
      const from = parseWebhookMessage(payload);
      if (from !== undefined) onWake(from);
    });
  }

  private onPayload(handle: (payload: string) => void): void {
    this.sub.on('message', (channel: string, payload: string) => {
      if (channel === this.channel) handle(payload);
    });
    this.listening = true;
    if (this.sub.status === 'ready') this.listen();
  }

  /** Subscribing again to a channel the connection already follows changes nothing. */
  private listen(): void {
    this.sub.subscribe(this.channel).catch((err: Error) => this.onError(err));
  }

  connections(): Record<string, boolean> {
    return { publish: this.pub.status === 'ready', subscribe: this.sub.status === 'ready' };
  }

  /** Resolves once both connections are up; for a start-up that wants the bus live. */
  async ready(): Promise<void> {
    const up = (r: Redis) =>
      r.status === 'ready' ? Promise.resolve() : new Promise<void>((resolve) => r.once('ready', () => resolve()));
    await Promise.all([up(this.pub), up(this.sub)]);
  }

  async close(): Promise<void> {
    for (const w of this.watchdogs) clearInterval(w);
    this.pub.disconnect();
    this.sub.disconnect();
  }
}

/**
 * Pings `redis` every `intervalMs` and reconnects it when a PING stays unanswered for
 * `timeoutMs`. A connection whose path went silent without closing (Redis hung, a failover or a
 * lost NAT entry that sends no reset) raises no error, so ioredis would keep it, "ready", for as
 * long as TCP keepalive takes (hours): the subscriber heard nothing and `switchyard_redis_connected`
 * said 1, while Redis itself answered new connections. Reconnecting resubscribes and resyncs.
 * The same holds before "ready": ioredis's connect timeout ends when TCP connects, so a
 * connection whose first command (its INFO check) is never answered would wait forever.
 */
function watch(redis: Redis, intervalMs: number, timeoutMs: number): NodeJS.Timeout {
  let waitingSince: number | undefined;
  let handshakeSince: number | undefined;
  return setInterval(() => {
    const now = Date.now();
    if (redis.status !== 'ready') {
      waitingSince = undefined;
      if (redis.status !== 'connect') handshakeSince = undefined;
      else if (handshakeSince === undefined) handshakeSince = now;
      else if (now - handshakeSince >= timeoutMs) {
        handshakeSince = undefined;
        redis.disconnect(true);
      }
      return;
    }
    handshakeSince = undefined;
    if (waitingSince !== undefined) {
      if (now - waitingSince < timeoutMs) return;
      waitingSince = undefined;
      redis.disconnect(true);
      return;
    }
    const sent = now;
    waitingSince = sent;
    const answered = () => {
      if (waitingSince === sent) waitingSince = undefined;
    };
    redis.ping().then(answered, answered);
  }, intervalMs).unref();
}

function parseMessage(payload: string): CommittedVersion | undefined {
  try {
    const m = JSON.parse(payload) as Partial<CommittedVersion>;
    if (typeof m.environmentId === 'string' && typeof m.version === 'number') {
      return { environmentId: m.environmentId, version: m.version };
    }
  } catch {
    // Not ours: another publisher on the channel. Ignored, like any unknown message.
  }
  return undefined;
}

function parseAuditMessage(payload: string): number | undefined {
  try {
    const m = JSON.parse(payload) as { auditId?: unknown };
    if (typeof m.auditId === 'number' && Number.isSafeInteger(m.auditId)) return m.auditId;
  } catch {
    // As above.
  }
  return undefined;
}

function parseWebhookMessage(payload: string): string | undefined {
  try {
    const m = JSON.parse(payload) as { webhooks?: unknown };
    if (typeof m.webhooks === 'string') return m.webhooks;
  } catch {
    // As above.
  }
  return undefined;
}
